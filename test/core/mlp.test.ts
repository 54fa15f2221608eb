import { describe, expect, it } from "vitest"
import { forward, initParams, layerSlices, mlpSpecError, paramCount, type MlpSpec } from "../../src/core/mlp.js"
import { Rng } from "../../src/core/rng.js"

const tiny = (outputActivation: "tanh" | "identity"): MlpSpec => ({
  inputSize: 2,
  hidden: [2],
  outputSize: 1,
  activation: "tanh",
  outputActivation
})
// layout: W0 [out][in] = [[0.5, -1], [2, 0.25]], b0 = [0.1, -0.2], W1 = [[1.5, -0.5]], b1 = [0.3]
const tinyParams = Float32Array.of(0.5, -1, 2, 0.25, 0.1, -0.2, 1.5, -0.5, 0.3)

describe("mlp layout", () => {
  it("paramCount and layerSlices agree with [W_l (out×in), b_l] per layer", () => {
    const spec: MlpSpec = { inputSize: 31, hidden: [32, 32], outputSize: 3, activation: "tanh", outputActivation: "tanh" }
    expect(paramCount(spec)).toBe(31 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3)
    expect(layerSlices(spec)).toEqual([
      { nIn: 31, nOut: 32, wOffset: 0, bOffset: 992 },
      { nIn: 32, nOut: 32, wOffset: 1024, bOffset: 2048 },
      { nIn: 32, nOut: 3, wOffset: 2080, bOffset: 2176 }
    ])
    expect(paramCount(tiny("tanh"))).toBe(tinyParams.length)
    expect(paramCount({ ...spec, hidden: [] })).toBe(31 * 3 + 3)
  })

  it("weights are row-major [out][in]: W[o][i] at o*nIn + i, bias after W", () => {
    const spec: MlpSpec = { inputSize: 4, hidden: [], outputSize: 3, activation: "tanh", outputActivation: "identity" }
    for (let o = 0; o < 3; o++) {
      for (let i = 0; i < 4; i++) {
        const p = new Float32Array(paramCount(spec))
        p[o * 4 + i] = 2
        p[12 + o] = 0.5 // bias of output o
        const x = [0, 0, 0, 0]
        x[i] = 1.5
        const y = Array.from(forward(spec, p, x))
        expect(y).toEqual([0, 1, 2].map((k) => (k === o ? 3.5 : 0)))
      }
    }
  })

  it("rejects malformed specs and mismatched buffers", () => {
    expect(mlpSpecError(tiny("tanh"))).toBeUndefined()
    expect(mlpSpecError({ ...tiny("tanh"), hidden: [0] })).toMatch(/hidden/)
    expect(mlpSpecError({ ...tiny("tanh"), inputSize: 1.5 })).toMatch(/inputSize/)
    expect(() => forward(tiny("tanh"), tinyParams.subarray(1), [1, 2])).toThrow(/params/)
    expect(() => forward(tiny("tanh"), tinyParams, [1])).toThrow(/input/)
    expect(() => forward(tiny("tanh"), tinyParams, [1, 2], new Float32Array(0))).toThrow(/out/)
  })
})

describe("forward", () => {
  it("matches a hand-computed 2→2→1 net", () => {
    const x = [1, 2]
    // h0 = tanh(0.5·1 − 1·2 + 0.1) = tanh(−1.4), h1 = tanh(2·1 + 0.25·2 − 0.2) = tanh(2.3)
    const h0 = Math.tanh(-1.4)
    const h1 = Math.tanh(2.3)
    const z = 1.5 * h0 - 0.5 * h1 + 0.3 // ≈ −1.518076
    expect(z).toBeCloseTo(-1.518076, 5)
    const yId = forward(tiny("identity"), tinyParams, x)
    const yTanh = forward(tiny("tanh"), tinyParams, x)
    expect(yId.length).toBe(1)
    expect(yId[0]).toBeCloseTo(z, 6)
    expect(yTanh[0]).toBeCloseTo(Math.tanh(z), 6)
    expect(yTanh[0]).toBeCloseTo(-0.908362, 5)
  })

  it("reuses `out` (returns it, same values) and does not depend on previous calls", () => {
    const spec: MlpSpec = { inputSize: 31, hidden: [32, 32], outputSize: 3, activation: "tanh", outputActivation: "tanh" }
    const rng = new Rng(17)
    const params = initParams(spec, rng)
    const xs = Array.from({ length: 4 }, () => Float32Array.from({ length: 31 }, () => rng.normal()))
    const fresh = xs.map((x) => forward(spec, params, x))
    const out = new Float32Array(3)
    for (let k = 0; k < xs.length; k++) {
      // interleave with a differently-shaped net to dirty the shared scratch
      forward(tiny("tanh"), tinyParams, [3, -4])
      const r = forward(spec, params, xs[k], out)
      expect(r).toBe(out)
      expect(Array.from(out)).toEqual(Array.from(fresh[k]))
    }
    expect(new Set(fresh.map((f) => f[0])).size).toBe(4) // inputs actually matter
  })

  it("float64 inputs (number[]) are rounded to float32 like an ONNX float tensor", () => {
    const spec: MlpSpec = { inputSize: 5, hidden: [6], outputSize: 2, activation: "tanh", outputActivation: "identity" }
    const rng = new Rng(3)
    const params = initParams(spec, rng)
    const x64 = Array.from({ length: 5 }, () => rng.normal() / 3)
    expect(Array.from(forward(spec, params, x64))).toEqual(Array.from(forward(spec, params, Float32Array.from(x64))))
  })
})

describe("initParams", () => {
  it("is seeded, has zero biases and Xavier-scaled weights", () => {
    const spec: MlpSpec = { inputSize: 100, hidden: [100], outputSize: 100, activation: "tanh", outputActivation: "identity" }
    const a = initParams(spec, new Rng(1))
    expect(Array.from(initParams(spec, new Rng(1)))).toEqual(Array.from(a))
    expect(Array.from(initParams(spec, new Rng(2)))).not.toEqual(Array.from(a))
    const [l0, l1] = layerSlices(spec)
    expect(a.subarray(l0.bOffset, l0.bOffset + 100).every((v) => v === 0)).toBe(true)
    const w = a.subarray(l0.wOffset, l0.bOffset)
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length)
    expect(std).toBeCloseTo(Math.sqrt(2 / 200), 2)
    const small = initParams(spec, new Rng(1), { outputGain: 0.1 })
    const w1 = small.subarray(l1.wOffset, l1.bOffset)
    const std1 = Math.sqrt(w1.reduce((s, v) => s + v * v, 0) / w1.length)
    expect(std1).toBeCloseTo(0.1 * Math.sqrt(2 / 200), 3)
  })
})
