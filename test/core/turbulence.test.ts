import { describe, expect, it } from "vitest"
import { pseudoInverse, TurbulenceIndex } from "../../src/core/turbulence.js"

type M = ReadonlyArray<ArrayLike<number>>
const mul = (a: M, b: M): number[][] =>
  Array.from({ length: a.length }, (_, i) => Array.from({ length: b[0].length }, (_, j) => {
    let s = 0
    for (let k = 0; k < b.length; k++) s += a[i][k] * b[k][j]
    return s
  }))
const expectMatrixClose = (actual: M, expected: M, tol: number) => {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    expect(actual[i].length).toBe(expected[i].length)
    for (let j = 0; j < expected[i].length; j++) {
      if (!(Math.abs(actual[i][j] - expected[i][j]) <= tol)) throw new Error(`[${i}][${j}]: ${actual[i][j]} vs ${expected[i][j]}`)
    }
  }
}
const identity = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)))

describe("pseudoInverse", () => {
  it("of an invertible symmetric matrix is its inverse (A·A⁺ = A⁺·A = I; numpy inv)", () => {
    const a = [[4, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]]
    const p = pseudoInverse(a)
    expectMatrixClose(mul(a, p), identity(3), 1e-12)
    expectMatrixClose(mul(p, a), identity(3), 1e-12)
    expectMatrixClose(p, [
      [0.2799436355096289, -0.08924377642085486, -0.06106153123532174],
      [-0.08924377642085486, 0.36402066697980273, -0.014091122592766557],
      [-0.06106153123532174, -0.014091122592766559, 0.516674495068107]
    ], 1e-13)
  })

  it("inverts 1×1, diagonal and indefinite matrices", () => {
    expectMatrixClose(pseudoInverse([[4]]), [[0.25]], 0)
    expectMatrixClose(pseudoInverse([[2, 0], [0, -8]]), [[0.5, 0], [0, -0.125]], 1e-15)
    expectMatrixClose(pseudoInverse([[0, 1], [1, 0]]), [[0, 1], [1, 0]], 1e-12)
  })

  it("of a rank-1 matrix: [[1, 2], [2, 4]]⁺ = A / 25, and A·A⁺·A = A", () => {
    const a = [[1, 2], [2, 4]]
    const p = pseudoInverse(a)
    expectMatrixClose(p, [[1 / 25, 2 / 25], [2 / 25, 4 / 25]], 1e-14)
    expectMatrixClose(mul(mul(a, p), a), a, 1e-12)
  })

  it("of a rank-2 3×3 matrix satisfies the Penrose conditions and matches numpy pinv", () => {
    const a = [[5, -1.5, 3.5], [-1.5, 1.25, 1.25], [3.5, 1.25, 9.0625]] // M·Mᵀ, M 3×2
    const p = pseudoInverse(a)
    expectMatrixClose(mul(mul(a, p), a), a, 1e-12)
    expectMatrixClose(mul(mul(p, a), p), p, 1e-12)
    const ap = mul(a, p)
    expectMatrixClose(ap, ap.map((_, i) => ap.map((row) => row[i])), 1e-12) // A·A⁺ symmetric
    expectMatrixClose(p, [
      [0.15202834911432395, -0.09344101080281703, -0.03109861056696779],
      [-0.09344101080281707, 0.06942990148417799, 0.053609387387610084],
      [-0.03109861056696781, 0.05360938738761005, 0.1055354097284917]
    ], 1e-12)
  })

  it("zeroes eigenvalues at or below 1e-15 × the largest (numpy rcond), inverts larger ones", () => {
    expectMatrixClose(pseudoInverse([[0, 0], [0, 0]]), [[0, 0], [0, 0]], 0)
    expectMatrixClose(pseudoInverse([[2, 0], [0, 0]]), [[0.5, 0], [0, 0]], 0)
    expectMatrixClose(pseudoInverse([[1, 0], [0, 1e-17]]), [[1, 0], [0, 0]], 0)
    const p = pseudoInverse([[1, 0], [0, 1e-13]])
    expect(p[1][1]).toBeCloseTo(1e13, 0)
  })

  it("does not modify its input", () => {
    const a = [[2, 1], [1, 2]]
    pseudoInverse(a)
    expect(a).toEqual([[2, 1], [1, 2]])
  })
})

/**
 * FinRL `calculate_turbulence` for two tickers, written out: at date d ≥ window, the history is the
 * returns of dates [d − window, d) without the leading NaN (date 0 has no return), the covariance is
 * the sample one, inverted analytically; the first two positive values are replaced by 0.
 */
const reference = (closes: ReadonlyArray<readonly [number, number]>, window: number): number[] => {
  const ret = closes.map((c, d) => (d === 0 ? [NaN, NaN] : [c[0] / closes[d - 1][0] - 1, c[1] / closes[d - 1][1] - 1]))
  const out: number[] = []
  let count = 0
  for (let d = 0; d < closes.length; d++) {
    if (d < window) {
      out.push(0)
      continue
    }
    const hist = ret.slice(Math.max(1, d - window), d)
    const m = hist.length
    const mx = hist.reduce((s, r) => s + r[0], 0) / m
    const my = hist.reduce((s, r) => s + r[1], 0) / m
    const sxx = hist.reduce((s, r) => s + (r[0] - mx) ** 2, 0) / (m - 1)
    const syy = hist.reduce((s, r) => s + (r[1] - my) ** 2, 0) / (m - 1)
    const sxy = hist.reduce((s, r) => s + (r[0] - mx) * (r[1] - my), 0) / (m - 1)
    const det = sxx * syy - sxy * sxy
    const dx = ret[d][0] - mx
    const dy = ret[d][1] - my
    const q = (dx * dx * syy - 2 * dx * dy * sxy + dy * dy * sxx) / det
    if (q > 0) {
      count++
      out.push(count > 2 ? q : 0)
    } else out.push(0)
  }
  return out
}

const run = (closes: ReadonlyArray<ReadonlyArray<number>>, window?: number) => {
  const t = window === undefined ? new TurbulenceIndex(2) : new TurbulenceIndex(2, window)
  return closes.map((c) => t.next(c))
}
const expectRelClose = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>, rel: number) => {
  expect(actual.length).toBe(expected.length)
  actual.forEach((a, i) => {
    if (!(Math.abs(a - expected[i]) <= rel * Math.max(1, Math.abs(expected[i])))) throw new Error(`date ${i}: ${a} vs ${expected[i]}`)
  })
}

// 22 dates, 2 tickers, with a shock at date 15
const CLOSES: ReadonlyArray<readonly [number, number]> = [
  [100.0, 50.0], [97.64, 48.6], [98.95, 47.65], [98.67, 46.28], [100.84, 47.0], [103.58, 47.48], [104.4, 47.54],
  [102.86, 47.2], [100.27, 46.29], [101.67, 46.71], [100.84, 47.71], [100.96, 47.41], [101.28, 47.2], [100.5, 46.78],
  [104.57, 47.93], [113.98, 44.57], [118.58, 45.53], [117.1, 46.54], [113.68, 45.52], [115.2, 47.13], [113.01, 45.22],
  [114.51, 45.3]
]

describe("TurbulenceIndex", () => {
  it("window 5: 0 for the first 5 dates and the first two positive values, then the Mahalanobis distance", () => {
    const got = run(CLOSES, 5)
    const want = reference(CLOSES, 5)
    expect(got.slice(0, 7)).toEqual([0, 0, 0, 0, 0, 0, 0])
    expect(want.slice(7).every((v) => v > 0)).toBe(true)
    expectRelClose(got, want, 1e-9)
  })

  it("window 5 agrees with FinRL's pandas/numpy pinv computation", () => {
    const got = run(CLOSES, 5)
    // numpy: cur @ pinv(cov(hist, ddof=1)) @ cur with FinRL's window slicing (start = 5)
    const finrl: Record<number, number> = {
      7: 15.428001062764332,
      8: 4.003957966624399,
      10: 78.3435393513896,
      15: 85.9603444427569,
      21: 0.5710706180650321
    }
    for (const [d, v] of Object.entries(finrl)) expect(got[Number(d)]).toBeCloseTo(v, 9)
  })

  it("a zero distance does not use up the two warm-up values", () => {
    // dyadic closes: returns of dates 1..4 are exact and date 5's return equals their mean → distance 0
    const closes: ReadonlyArray<readonly [number, number]> = [
      [1024, 1024], [1536, 896], [1152, 1008], [1440, 1512], [1440, 756], [1620, 756],
      [1600, 760], [1650, 740], [1700, 770], [1580, 800], [1610, 790]
    ]
    const got = run(closes, 5)
    const want = reference(closes, 5)
    expect(want.slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]) // 5: distance 0; 6, 7: warm-up
    expect(want[8]).toBeGreaterThan(0)
    expectRelClose(got, want, 1e-9)
    expect(got[8]).toBeCloseTo(0.8739958093231243, 9) // numpy
  })

  it("defaults to a 252-date window", () => {
    const closes = Array.from({ length: 265 }, (_, d) => [
      100 + 10 * Math.sin(0.3 * d) + 0.05 * d + 3 * Math.cos(1.1 * d),
      50 + 4 * Math.sin(0.7 * d + 1) + 2 * Math.cos(0.23 * d)
    ] as const)
    const got = run(closes)
    const want = reference(closes, 252)
    expect(got.slice(0, 254).every((v) => v === 0)).toBe(true)
    expect(want.slice(254).every((v) => v > 0)).toBe(true)
    expectRelClose(got, want, 1e-9)
  })

  it("a constant-return market has zero turbulence", () => {
    const closes = Array.from({ length: 12 }, (_, d) => [2 ** d, 3 * 2 ** d])
    expect(run(closes, 5)).toEqual(Array.from({ length: 12 }, () => 0))
  })
})
