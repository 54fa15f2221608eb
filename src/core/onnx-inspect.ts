/**
 * What an ONNX graph takes and gives, read with the project's protobuf subset (onnx-proto.ts):
 * input and output names, element types and shapes; and the choices `register` makes from them.
 * Pure: errors are returned as text.
 */
import { decodeModelProto } from "./onnx-proto.js"

/** A dimension: a fixed size, a symbolic name (a dynamic axis), or unknown. */
export type Dim = number | string | undefined

export interface TensorInfo {
  readonly name: string
  /** TensorProto.DataType; undefined when the graph does not say. */
  readonly elemType: number | undefined
  /** undefined when the graph states no shape. */
  readonly dims: ReadonlyArray<Dim> | undefined
}

export interface GraphInfo {
  /** The graph's real inputs (initializers some exporters also list as inputs are left out). */
  readonly inputs: ReadonlyArray<TensorInfo>
  readonly outputs: ReadonlyArray<TensorInfo>
  readonly producer: string | undefined
}

const ELEM_TYPES: Record<number, string> = { 1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64" }

export const elemTypeName = (t: number | undefined): string => (t === undefined ? "unknown type" : (ELEM_TYPES[t] ?? `type ${t}`))

export const ONNX_FLOAT32 = 1

const dimText = (d: Dim): string => (d === undefined ? "?" : String(d))

/** `float32[batch, 31]`. */
export const describeTensor = (t: Pick<TensorInfo, "elemType" | "dims">): string =>
  `${elemTypeName(t.elemType)}${t.dims === undefined ? "[?]" : `[${t.dims.map(dimText).join(", ")}]`}`

type Obj = Record<string, unknown>

const tensorInfo = (value: Obj): TensorInfo => {
  const tensor = ((value.type as Obj | undefined)?.tensor_type ?? undefined) as Obj | undefined
  const shape = tensor?.shape as Obj | undefined
  const dims = shape === undefined ? undefined : ((shape.dim as Array<Obj> | undefined) ?? []).map((d): Dim =>
    typeof d.dim_value === "number" ? d.dim_value : typeof d.dim_param === "string" && d.dim_param !== "" ? d.dim_param : undefined
  )
  return { name: String(value.name ?? ""), elemType: typeof tensor?.elem_type === "number" ? tensor.elem_type : undefined, dims }
}

/** The graph's inputs and outputs, or why the bytes are not an ONNX model. */
export const inspectOnnx = (bytes: Uint8Array): GraphInfo | string => {
  let model: Obj
  try {
    model = decodeModelProto(bytes)
  } catch (e) {
    return `not an ONNX model (${(e as Error).message})`
  }
  const graph = model.graph as Obj | undefined
  if (graph === undefined) return "not an ONNX model (no graph)"
  const initializers = new Set(((graph.initializer as Array<Obj> | undefined) ?? []).map((t) => String(t.name ?? "")))
  const inputs = ((graph.input as Array<Obj> | undefined) ?? []).map(tensorInfo).filter((t) => !initializers.has(t.name))
  const outputs = ((graph.output as Array<Obj> | undefined) ?? []).map(tensorInfo)
  if (outputs.length === 0) return "the graph has no outputs"
  return { inputs, outputs, producer: typeof model.producer_name === "string" ? model.producer_name : undefined }
}

/** How the graph treats the batch (first) dimension: a policy runs one observation at a time. */
export const batchOf = (t: TensorInfo): { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: string } => {
  const first = t.dims?.[0]
  if (typeof first === "string" || first === undefined) return { ok: true, text: `dynamic batch${typeof first === "string" ? ` (${first})` : ""}` }
  if (first === 1 || first === -1) return { ok: true, text: first === 1 ? "fixed batch of 1" : "dynamic batch" }
  return { ok: false, error: `'${t.name}' has a fixed batch of ${first}: export it with batch 1 or a dynamic batch axis` }
}

/** The observation input: the graph's only input, float32[batch, size]. */
export const observationInput = (graph: GraphInfo, size: number): TensorInfo | string => {
  if (graph.inputs.length !== 1) {
    return `the graph has ${graph.inputs.length} inputs (${graph.inputs.map((t) => `'${t.name}'`).join(", ")}); a policy takes one, the observation`
  }
  const input = graph.inputs[0]
  if (input.elemType !== undefined && input.elemType !== ONNX_FLOAT32) return `input '${input.name}' is ${describeTensor(input)}, not float32`
  if (input.dims !== undefined && input.dims.length !== 2) return `input '${input.name}' is ${describeTensor(input)}: expected [batch, observation]`
  const width = input.dims?.[1]
  if (typeof width === "number" && width !== size) return `input '${input.name}' takes ${width} values per observation, the environment's layout has ${size}`
  const batch = batchOf(input)
  return batch.ok ? input : batch.error
}

/** An output as a dry run gave it: its element type and its dimensions for a batch of one. */
export interface ObservedOutput {
  readonly name: string
  readonly type: string
  readonly dims: ReadonlyArray<number>
}

export interface ActionChoice {
  readonly name: string
  /** Why this output: said to the user. */
  readonly reason: string
}

/**
 * The action among the outputs: float32 of shape [1, actions] for one observation. With several
 * such outputs the first is taken: Stable-Baselines3's export gives (actions, values, log_prob) in
 * that order, and with one stock the values [1, 1] have the action's shape too. `wanted` (a name the
 * user gave) wins when it fits.
 */
export const chooseActionOutput = (outputs: ReadonlyArray<ObservedOutput>, actions: number, wanted?: string): ActionChoice | string => {
  const fits = (o: ObservedOutput) => o.type === "float32" && o.dims.length === 2 && o.dims[0] === 1 && o.dims[1] === actions
  const shown = (o: ObservedOutput) => `'${o.name}' ${o.type}[${o.dims.join(", ")}]`
  if (wanted !== undefined) {
    const named = outputs.find((o) => o.name === wanted)
    if (named === undefined) return `the graph has no output '${wanted}' (it has ${outputs.map((o) => `'${o.name}'`).join(", ")})`
    return fits(named) ? { name: named.name, reason: "as asked (--output)" } : `output ${shown(named)} is not an action for ${actions} tickers: float32[1, ${actions}] for one observation`
  }
  const candidates = outputs.filter(fits)
  if (candidates.length === 0) {
    return `no output is an action for ${actions} tickers (float32[1, ${actions}] for one observation): ${outputs.map(shown).join(", ")}`
  }
  const others = outputs.filter((o) => o !== candidates[0])
  if (outputs.length === 1) return { name: candidates[0].name, reason: "the graph's only output" }
  const rest = `the others: ${others.map(shown).join(", ")}`
  return candidates.length === 1
    ? { name: candidates[0].name, reason: `the only output shaped [batch, ${actions}] (${rest})` }
    : { name: candidates[0].name, reason: `the first of ${candidates.length} outputs shaped [batch, ${actions}]: Stable-Baselines3 exports the actions first (${rest}); --output NAME picks another` }
}
