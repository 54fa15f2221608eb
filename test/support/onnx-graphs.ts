/**
 * Small ONNX graphs for tests, written as src/core/onnx-export.ts writes them (ModelProto through
 * the project's protobuf subset): a Stable-Baselines3-like export with torch's numeric output names.
 */
import { ATTR_INT, ONNX_FLOAT, modelProtoType } from "../../src/core/onnx-proto.js"

const ATTR_INTS = 7

/** Deterministic weights in [−0.1, 0.1]: no randomness in tests. */
const weights = (rows: number, cols: number, seed: number): Uint8Array => {
  const values = new Float32Array(rows * cols)
  for (let k = 0; k < values.length; k++) values[k] = (((k * 7 + seed * 13) % 21) - 10) / 100
  return new Uint8Array(values.buffer)
}

type Dims = ReadonlyArray<number | string>

const valueInfo = (name: string, dims: Dims | undefined) => ({
  name,
  type: { tensor_type: { elem_type: ONNX_FLOAT, ...(dims === undefined ? {} : { shape: { dim: dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d })) } }) } }
})

const gemm = (input: string, output: string, nIn: number, nOut: number, seed: number) => ({
  initializer: [
    { name: `${output}.w`, dims: [nOut, nIn], data_type: ONNX_FLOAT, raw_data: weights(nOut, nIn, seed) },
    { name: `${output}.b`, dims: [nOut], data_type: ONNX_FLOAT, raw_data: weights(1, nOut, seed + 1) }
  ],
  node: { name: `gemm_${output}`, op_type: "Gemm", input: [input, `${output}.w`, `${output}.b`], output: [output], attribute: [{ name: "transB", type: ATTR_INT, i: 1 }] }
})

export interface Sb3GraphOptions {
  readonly observation: number
  readonly actions: number
  readonly inputName?: string
  /** torch's names for (actions, values, log_prob). */
  readonly outputNames?: readonly [string, string, string]
  /** The batch dimension: a name (dynamic) or 1 (fixed, torch's default without dynamic_axes). */
  readonly batch?: number | string
  /** Leave the outputs' shapes unstated, as some exporters do. */
  readonly withoutOutputShapes?: boolean
}

/**
 * Stable-Baselines3's `OnnxableSB3Policy` export, in miniature: one observation input and three
 * outputs — actions [batch, n], values [batch, 1], log_prob [batch] — named as torch names them.
 */
export const sb3LikeGraph = (options: Sb3GraphOptions): Uint8Array => {
  const input = options.inputName ?? "input"
  const [actions, values, logProb] = options.outputNames ?? ["53", "54", "55"]
  const batch = options.batch ?? "batch_size"
  const a = gemm(input, actions, options.observation, options.actions, 1)
  const v = gemm(input, values, options.observation, 1, 2)
  const l = gemm(input, "logits", options.observation, options.actions, 3)
  const reduce = { name: "log_prob", op_type: "ReduceMean", input: ["logits"], output: [logProb], attribute: [{ name: "axes", type: ATTR_INTS, ints: [1] }, { name: "keepdims", type: ATTR_INT, i: 0 }] }
  const shape = (dims: Dims) => (options.withoutOutputShapes === true ? undefined : dims)
  const model = {
    ir_version: 8,
    opset_import: [{ domain: "", version: 13 }],
    producer_name: "pytorch",
    producer_version: "2.1.0",
    graph: {
      name: "main_graph",
      node: [a.node, v.node, l.node, reduce],
      initializer: [...a.initializer, ...v.initializer, ...l.initializer],
      input: [valueInfo(input, [batch, options.observation])],
      output: [valueInfo(actions, shape([batch, options.actions])), valueInfo(values, shape([batch, 1])), valueInfo(logProb, shape([batch]))]
    }
  }
  const T = modelProtoType()
  const problem = T.verify(model)
  if (problem !== null) throw new Error(problem)
  return T.encode(T.fromObject(model)).finish()
}
