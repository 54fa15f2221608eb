/**
 * Export an {@link MlpSpec} + flat parameters (layout documented in mlp.ts) as an ONNX
 * ModelProto: ir_version 8, opset 13 of the default domain, float32 throughout.
 *
 * Graph, for each layer l (names prefixed "mlp.l<l>."):
 *   initializers  mlp.l<l>.weight  float[nOut, nIn]   (= W_l, row-major [out][in], raw_data LE)
 *                 mlp.l<l>.bias    float[nOut]
 *   Gemm(x, weight, bias; transB = 1)  ->  y = x · Wᵀ + b      shape [batch, nOut]
 *   Tanh (hidden layers; last layer only if outputActivation = "tanh")
 * Graph input  `inputName`  float[batch, inputSize]   (batch is the symbolic dim "batch")
 * Graph output `outputName` float[batch, outputSize]
 * The MlpSpec is also stored as JSON in metadata_props["mlp_spec"].
 */

import { layerSlices, mlpSpecError, paramCount, type MlpSpec } from "./mlp.js"
import { ATTR_INT, ONNX_FLOAT, modelProtoType } from "./onnx-proto.js"

export interface OnnxExportOptions {
  readonly inputName: string
  readonly outputName: string
  /** ModelProto.producer_name; default "rl-paper-trader" */
  readonly producer?: string
  readonly producerVersion?: string
  readonly docString?: string
  /** GraphProto.name; default "mlp_policy" */
  readonly graphName?: string
  /** Extra ModelProto.metadata_props entries (key "mlp_spec" is reserved). */
  readonly metadata?: Readonly<Record<string, string>>
}

export const ONNX_IR_VERSION = 8
export const ONNX_OPSET = 13
/** Symbolic name of the leading (batch) dimension of the graph input and output. */
export const BATCH_DIM = "batch"

/** Float32 values as little-endian IEEE-754 bytes (ONNX raw_data format). */
const float32LE = (src: Float32Array, offset: number, length: number): Uint8Array => {
  const bytes = new Uint8Array(length * 4)
  const view = new DataView(bytes.buffer)
  for (let k = 0; k < length; k++) view.setFloat32(k * 4, src[offset + k], true)
  return bytes
}

const tensorValueInfo = (name: string, dims: ReadonlyArray<number | string>) => ({
  name,
  type: {
    tensor_type: {
      elem_type: ONNX_FLOAT,
      shape: {
        dim: dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d }))
      }
    }
  }
})

/** Serialize the MLP as ONNX ModelProto bytes. Throws on an invalid spec, params or names. */
export const mlpToOnnx = (spec: MlpSpec, params: Float32Array, opts: OnnxExportOptions): Uint8Array => {
  const specErr = mlpSpecError(spec)
  if (specErr !== undefined) throw new RangeError(`mlpToOnnx: ${specErr}`)
  const need = paramCount(spec)
  if (params.length !== need) throw new RangeError(`mlpToOnnx: params has length ${params.length}, spec needs ${need}`)
  for (let k = 0; k < params.length; k++) {
    if (!Number.isFinite(params[k])) throw new RangeError(`mlpToOnnx: params[${k}] is not finite`)
  }
  const { inputName, outputName } = opts
  if (inputName.length === 0 || outputName.length === 0) throw new RangeError("mlpToOnnx: empty input/output name")
  if (inputName === outputName) throw new RangeError("mlpToOnnx: input and output names must differ")
  if (inputName.startsWith("mlp.l") || outputName.startsWith("mlp.l")) {
    throw new RangeError(`mlpToOnnx: names starting with "mlp.l" are reserved for internal tensors`)
  }
  if (opts.metadata !== undefined && "mlp_spec" in opts.metadata) {
    throw new RangeError(`mlpToOnnx: metadata key "mlp_spec" is reserved`)
  }

  const slices = layerSlices(spec)
  const initializer: object[] = []
  const node: object[] = []
  let x = inputName
  slices.forEach((s, l) => {
    const last = l === slices.length - 1
    const p = `mlp.l${l}.`
    const wName = `${p}weight`
    const bName = `${p}bias`
    initializer.push(
      { name: wName, dims: [s.nOut, s.nIn], data_type: ONNX_FLOAT, raw_data: float32LE(params, s.wOffset, s.nOut * s.nIn) },
      { name: bName, dims: [s.nOut], data_type: ONNX_FLOAT, raw_data: float32LE(params, s.bOffset, s.nOut) }
    )
    const act = last ? spec.outputActivation : spec.activation
    const gemmOut = last && act === "identity" ? outputName : `${p}linear`
    node.push({
      name: `${p}gemm`,
      op_type: "Gemm",
      input: [x, wName, bName],
      output: [gemmOut],
      attribute: [{ name: "transB", type: ATTR_INT, i: 1 }]
    })
    x = gemmOut
    if (act === "tanh") {
      const tanhOut = last ? outputName : `${p}tanh`
      node.push({ name: `${p}tanh`, op_type: "Tanh", input: [x], output: [tanhOut] })
      x = tanhOut
    }
  })

  const metadata_props = [
    {
      key: "mlp_spec",
      value: JSON.stringify({
        inputSize: spec.inputSize,
        hidden: [...spec.hidden],
        outputSize: spec.outputSize,
        activation: spec.activation,
        outputActivation: spec.outputActivation
      })
    },
    ...Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value }))
  ]

  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: "", version: ONNX_OPSET }],
    producer_name: opts.producer ?? "rl-paper-trader",
    ...(opts.producerVersion !== undefined ? { producer_version: opts.producerVersion } : {}),
    ...(opts.docString !== undefined ? { doc_string: opts.docString } : {}),
    metadata_props,
    graph: {
      name: opts.graphName ?? "mlp_policy",
      node,
      initializer,
      input: [tensorValueInfo(inputName, [BATCH_DIM, spec.inputSize])],
      output: [tensorValueInfo(outputName, [BATCH_DIM, spec.outputSize])]
    }
  }

  const T = modelProtoType()
  const err = T.verify(model)
  if (err !== null) throw new Error(`mlpToOnnx: internal schema error: ${err}`)
  return T.encode(T.fromObject(model)).finish()
}
