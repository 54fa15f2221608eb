import { describe, expect, it } from "vitest"
import { annualizedDtw, dtwDistance, reconcileEquity, returnsCorrelation, stepReturns } from "../../src/core/reconciliation-metrics.js"

// x = [1, 2, −1] %, y = [1, 0, −1] %: worked by hand below
const x = [0.01, 0.02, -0.01]
const y = [0.01, 0, -0.01]

describe("dtwDistance", () => {
  it("is the least sum of squared differences over warping paths", () => {
    // cost (x_i − y_j)² in units of 1e-4:   y: 1   0  −1
    //   x = 1:                                  0   1   4
    //   x = 2:                                  1   4   9
    //   x = −1:                                 4   1   0
    // best path (1,1) (2,1) (3,2) (3,3): 0 + 1 + 1 + 0 = 2e-4; in lock step it would be 4e-4
    expect(dtwDistance(x, y)).toBeCloseTo(2e-4, 15)
    expect(dtwDistance(y, x)).toBeCloseTo(2e-4, 15)
    expect(dtwDistance(x, x)).toBe(0)
    expect(dtwDistance([], [])).toBe(0)
  })

  it("aligns series of different lengths", () => {
    // [0, 1] against [0, 0, 1]: the extra 0 matches the first 0 at no cost
    expect(dtwDistance([0, 1], [0, 0, 1])).toBe(0)
    expect(dtwDistance([0, 1], [0, 2, 1])).toBe(1)
  })
})

describe("annualizedDtw", () => {
  it("is sqrt(DTW · periods per year / n)", () => {
    expect(annualizedDtw(x, y, 252)).toBeCloseTo(Math.sqrt((2e-4 * 252) / 3), 12) // 0.12961…
    expect(annualizedDtw(x, x, 252)).toBe(0)
    expect(annualizedDtw([], [], 252)).toBe(0)
  })
})

describe("returnsCorrelation", () => {
  it("is Pearson's correlation", () => {
    // in units of 1 %: dx = [1/3, 4/3, −5/3], dy = [1, 0, −1]; Σdxdy = 2, Σdx² = 14/3, Σdy² = 2 → 2 / sqrt(28/3) = sqrt(3/7)
    expect(returnsCorrelation(x, y)).toBeCloseTo(Math.sqrt(3 / 7), 12)
    expect(returnsCorrelation(x, x.map((v) => -2 * v))).toBeCloseTo(-1, 12)
  })

  it("is exactly 1 for identical series, even flat ones, and null when undefined otherwise", () => {
    expect(returnsCorrelation(x, [...x])).toBe(1)
    expect(returnsCorrelation([0, 0, 0], [0, 0, 0])).toBe(1)
    expect(returnsCorrelation([], [])).toBe(1)
    expect(returnsCorrelation([0, 0, 0], y)).toBeNull()
    expect(returnsCorrelation([0.01], [0.02])).toBeNull()
  })
})

describe("reconcileEquity", () => {
  it("scores the per-step returns of two equity curves", () => {
    const paper = [100, 101, 103.02, 101.9898] // returns 1 %, 2 %, −1 %
    const backtest = [100, 101, 101, 99.99] // returns 1 %, 0 %, −1 %
    expect(stepReturns(paper).map((r) => Math.round(r * 1e12) / 1e12)).toEqual(x)
    const r = reconcileEquity(paper, backtest, 252)
    expect(r.returns_correlation).toBeCloseTo(Math.sqrt(3 / 7), 9)
    expect(r.dtw_annualized).toBeCloseTo(Math.sqrt((2e-4 * 252) / 3), 9)
    expect(r.final_diff_pct).toBeCloseTo((101.9898 / 99.99 - 1) * 100, 12)
  })

  it("gives exactly 1, 0, 0 for identical curves", () => {
    expect(reconcileEquity([100, 101, 99], [100, 101, 99], 19_656)).toEqual({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0 })
    expect(reconcileEquity([100], [100], 19_656)).toEqual({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0 })
  })
})
