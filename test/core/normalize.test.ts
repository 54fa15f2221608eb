import { describe, expect, it } from "vitest"
import { normalizeObservation } from "../../src/core/normalize.js"

describe("normalizeObservation (SB3 VecNormalize)", () => {
  it("computes (obs − mean) / sqrt(var + epsilon) element-wise", () => {
    // var + epsilon chosen as perfect squares so the results are exact
    const out = normalizeObservation(Float64Array.from([5, -1, 10, 7]), { mean: [1, 1, 4, 7], var: [3, 15, 8, 0], clip_obs: 10, epsilon: 1 })
    expect(Array.from(out)).toEqual([2, -0.5, 2, 0])
  })

  it("adds epsilon inside the square root", () => {
    // sqrt(0 + 1e-8) = 1e-4: a zero-variance feature is scaled by 1e4, not divided by zero
    const out = normalizeObservation(Float64Array.from([1.0002, 0.9999]), { mean: [1, 1], var: [0, 0], clip_obs: 10, epsilon: 1e-8 })
    expect(out[0]).toBeCloseTo(2, 8)
    expect(out[1]).toBeCloseTo(-1, 8)
    // epsilon added to the std instead would give (1.0002 − 1) / (0 + 1e-8) = 20000 → clipped to 10
  })

  it("clips to ±clip_obs", () => {
    const out = normalizeObservation(Float64Array.from([100, -100, 4.5, -4.5, 5, -5.0000001]), {
      mean: [0, 0, 0, 0, 0, 0],
      var: [0, 0, 0, 0, 0, 0],
      clip_obs: 5,
      epsilon: 1
    })
    expect(Array.from(out)).toEqual([5, -5, 4.5, -4.5, 5, -5])
  })

  it("uses each element's own statistics", () => {
    const out = normalizeObservation(Float64Array.from([3, 3, 3]), { mean: [0, 1, 2], var: [8, 3, 0], clip_obs: 10, epsilon: 1 })
    expect(Array.from(out)).toEqual([1, 1, 1])
  })

  it("returns a new array of the same length and leaves the input alone", () => {
    const obs = Float64Array.from([1, 2, 3])
    const out = normalizeObservation(obs, { mean: [1, 1, 1], var: [0, 0, 0], clip_obs: 10, epsilon: 1 })
    expect(out).toBeInstanceOf(Float64Array)
    expect(out).not.toBe(obs)
    expect(Array.from(obs)).toEqual([1, 2, 3])
    expect(Array.from(out)).toEqual([0, 1, 2])
  })
})
