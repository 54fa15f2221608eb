/**
 * Deterministic fully-connected policy network (MLP) over a flat Float32Array of parameters.
 *
 * Parameter layout (this is exactly what `onnx-export.ts` writes as initializers):
 * layer sizes are `[inputSize, ...hidden, outputSize]`; for each layer l in order,
 * with `nIn = sizes[l]`, `nOut = sizes[l + 1]`:
 *
 *   W_l : nOut * nIn floats, row-major [out][in]  (W_l[o][i] at offset + o * nIn + i)
 *   b_l : nOut floats
 *
 * so `params = [W_0, b_0, W_1, b_1, ..., W_last, b_last]` and
 * `y_l = act_l(W_l · x_l + b_l)` (= ONNX Gemm(x, W_l, b_l, transB=1)).
 * Hidden layers use `activation`; the last layer uses `outputActivation`.
 *
 * Numerics: weights and inputs are float32 values (a float64 input is rounded to float32
 * first, as an ONNX float tensor would be); each pre-activation b + W·x is accumulated in
 * float64 and rounded once to float32, then tanh is applied and the result rounded again
 * (every layer's activations live in a Float32Array). This is the correctly-rounded
 * reference for what a float32 runtime computes; onnxruntime (float32 accumulation,
 * different summation order, approximate tanh) agrees to about 1e-6 for small nets.
 */

import type { Rng } from "./rng.js"

export interface MlpSpec {
  readonly inputSize: number
  readonly hidden: ReadonlyArray<number>
  readonly outputSize: number
  readonly activation: "tanh"
  readonly outputActivation: "tanh" | "identity"
}

const isPositiveInt = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0

/** Returns an error message if `spec` is malformed, otherwise undefined. */
export const mlpSpecError = (spec: MlpSpec): string | undefined => {
  if (!isPositiveInt(spec.inputSize)) return `inputSize must be a positive integer, got ${spec.inputSize}`
  if (!isPositiveInt(spec.outputSize)) return `outputSize must be a positive integer, got ${spec.outputSize}`
  if (!Array.isArray(spec.hidden)) return "hidden must be an array"
  for (const h of spec.hidden) if (!isPositiveInt(h)) return `hidden sizes must be positive integers, got ${h}`
  if (spec.activation !== "tanh") return `unsupported activation ${String(spec.activation)}`
  if (spec.outputActivation !== "tanh" && spec.outputActivation !== "identity") {
    return `unsupported outputActivation ${String(spec.outputActivation)}`
  }
  return undefined
}

const assertSpec = (spec: MlpSpec): void => {
  const e = mlpSpecError(spec)
  if (e !== undefined) throw new RangeError(`MlpSpec: ${e}`)
}

/** `[inputSize, ...hidden, outputSize]` */
export const layerSizes = (spec: MlpSpec): number[] => [spec.inputSize, ...spec.hidden, spec.outputSize]

/** Offsets of each layer's weight matrix and bias vector inside the flat parameter array. */
export interface LayerSlice {
  readonly nIn: number
  readonly nOut: number
  /** offset of W (nOut * nIn floats, row-major [out][in]) */
  readonly wOffset: number
  /** offset of b (nOut floats) */
  readonly bOffset: number
}

export const layerSlices = (spec: MlpSpec): LayerSlice[] => {
  assertSpec(spec)
  const sizes = layerSizes(spec)
  const out: LayerSlice[] = []
  let off = 0
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l]
    const nOut = sizes[l + 1]
    out.push({ nIn, nOut, wOffset: off, bOffset: off + nIn * nOut })
    off += nIn * nOut + nOut
  }
  return out
}

/** Total number of float parameters (weights + biases of every layer). */
export const paramCount = (spec: MlpSpec): number => {
  const sizes = layerSizes(spec)
  let n = 0
  for (let l = 0; l + 1 < sizes.length; l++) n += sizes[l] * sizes[l + 1] + sizes[l + 1]
  return n
}

/**
 * Glorot/Xavier-normal weights (std = gain * sqrt(2 / (fanIn + fanOut))), zero biases.
 * `outputGain` scales the last layer's weights (a small value such as 0.1 gives a
 * near-neutral initial policy). Consumes rng draws in parameter order.
 */
export const initParams = (spec: MlpSpec, rng: Rng, opts: { gain?: number; outputGain?: number } = {}): Float32Array => {
  const slices = layerSlices(spec)
  const gain = opts.gain ?? 1
  const outputGain = opts.outputGain ?? 1
  const params = new Float32Array(paramCount(spec))
  slices.forEach((s, l) => {
    const g = l === slices.length - 1 ? gain * outputGain : gain
    const std = g * Math.sqrt(2 / (s.nIn + s.nOut))
    for (let k = 0; k < s.nIn * s.nOut; k++) params[s.wOffset + k] = std * rng.normal()
    // biases stay 0
  })
  return params
}

// Scratch buffers shared by all forward calls (forward is synchronous and never
// re-entered, so sharing is safe); grown on demand, never shrunk. `scratchIn` holds the
// input rounded to float32, so the hot loops only ever see Float32Arrays (monomorphic).
let scratchIn = new Float32Array(64)
let scratchA = new Float32Array(64)
let scratchB = new Float32Array(64)

/**
 * dst[o] = act(fround(b[o] + Σ_i W[o][i]·x[i])) for o in [0, nOut), W at `wOff` row-major
 * [out][in], b at `bOff`. Eight output rows are accumulated together (independent
 * dependency chains, x[i] loaded once); each row's sum is still sequential in i, in
 * float64, so the result is identical to the plain loop.
 */
const denseLayer = (
  params: Float32Array,
  wOff: number,
  bOff: number,
  x: Float32Array,
  nIn: number,
  nOut: number,
  dst: Float32Array,
  useTanh: boolean
): void => {
  let o = 0
  for (; o + 7 < nOut; o += 8) {
    const r0 = wOff + o * nIn
    const r1 = r0 + nIn
    const r2 = r1 + nIn
    const r3 = r2 + nIn
    const r4 = r3 + nIn
    const r5 = r4 + nIn
    const r6 = r5 + nIn
    const r7 = r6 + nIn
    let a0: number = params[bOff + o]
    let a1: number = params[bOff + o + 1]
    let a2: number = params[bOff + o + 2]
    let a3: number = params[bOff + o + 3]
    let a4: number = params[bOff + o + 4]
    let a5: number = params[bOff + o + 5]
    let a6: number = params[bOff + o + 6]
    let a7: number = params[bOff + o + 7]
    for (let i = 0; i < nIn; i++) {
      const xi = x[i]
      a0 += params[r0 + i] * xi
      a1 += params[r1 + i] * xi
      a2 += params[r2 + i] * xi
      a3 += params[r3 + i] * xi
      a4 += params[r4 + i] * xi
      a5 += params[r5 + i] * xi
      a6 += params[r6 + i] * xi
      a7 += params[r7 + i] * xi
    }
    // storing into the Float32Array rounds each pre-activation to float32
    dst[o] = a0
    dst[o + 1] = a1
    dst[o + 2] = a2
    dst[o + 3] = a3
    dst[o + 4] = a4
    dst[o + 5] = a5
    dst[o + 6] = a6
    dst[o + 7] = a7
    if (useTanh) for (let k = o; k < o + 8; k++) dst[k] = Math.tanh(dst[k])
  }
  for (; o < nOut; o++) {
    const r = wOff + o * nIn
    let a: number = params[bOff + o]
    for (let i = 0; i < nIn; i++) a += params[r + i] * x[i]
    const z = Math.fround(a)
    dst[o] = useTanh ? Math.tanh(z) : z
  }
}

/**
 * Evaluate the network on one input vector. Writes into `out` (length >= outputSize)
 * when given, allocating nothing; otherwise returns a fresh Float32Array(outputSize).
 * Throws if `params`/`input`/`out` are too short. Not safe to call with `out` aliasing
 * an internal buffer of a concurrent call (there are none: it is synchronous).
 */
export const forward = (
  spec: MlpSpec,
  params: Float32Array,
  input: ArrayLike<number>,
  out?: Float32Array
): Float32Array => {
  const inputSize = spec.inputSize
  const outputSize = spec.outputSize
  const hidden = spec.hidden
  const nLayers = hidden.length + 1
  const result = out ?? new Float32Array(outputSize)
  if (result.length < outputSize) throw new RangeError(`forward: out has length ${result.length} < ${outputSize}`)
  if (input.length < inputSize) throw new RangeError(`forward: input has length ${input.length} < ${inputSize}`)

  // Parameter count and widest hidden layer, checked without allocating.
  let need = 0
  let maxWidth = 0
  let prev = inputSize
  for (let l = 0; l < nLayers; l++) {
    const w = l < hidden.length ? hidden[l] : outputSize
    need += prev * w + w
    if (l < hidden.length && w > maxWidth) maxWidth = w
    prev = w
  }
  if (params.length !== need) throw new RangeError(`forward: params has length ${params.length}, spec needs ${need}`)
  if (maxWidth > scratchA.length) {
    scratchA = new Float32Array(maxWidth)
    scratchB = new Float32Array(maxWidth)
  }
  if (inputSize > scratchIn.length) scratchIn = new Float32Array(inputSize)
  const x0 = scratchIn
  for (let i = 0; i < inputSize; i++) x0[i] = input[i] // rounds float64 input to float32

  let x: Float32Array = x0
  let nIn = inputSize
  let off = 0
  let cur = scratchA
  let other = scratchB
  for (let l = 0; l < nLayers; l++) {
    const last = l === nLayers - 1
    const nOut = last ? outputSize : hidden[l]
    const dst = last ? result : cur
    const bOff = off + nIn * nOut
    denseLayer(params, off, bOff, x, nIn, nOut, dst, !last || spec.outputActivation === "tanh")
    off = bOff + nOut
    nIn = nOut
    x = dst
    const t = cur
    cur = other
    other = t
  }
  return result
}
