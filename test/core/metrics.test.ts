import { describe, expect, it } from "vitest"
import {
  annualizedVolatility,
  cagr,
  calmarRatio,
  maxDrawdown,
  performanceReport,
  periodReturns,
  periodsPerYear,
  sampleStd,
  sharpeRatio,
  sortinoRatio,
  underwater,
  winRate
} from "../../src/core/metrics.js"

describe("sharpeRatio", () => {
  it("uses the sample (n − 1) standard deviation: [100, 150, 75, 150] daily → 4·√3", () => {
    // returns 0.5, −0.5, 1; mean 1/3; sample variance 7/12 → (1/3)/√(7/12)·√252 = 4√3
    // (the population std would give 6√2 instead)
    expect(sharpeRatio([100, 150, 75, 150], 252)).toBeCloseTo(4 * Math.sqrt(3), 12)
  })

  it("matches Python statistics.mean/stdev on non-round returns", () => {
    expect(sharpeRatio([100, 110, 99, 108.9, 120], 252)).toBeCloseTo(7.987782558168657, 10)
    expect(sharpeRatio([1000, 1010, 1005, 1020, 990, 1030], 78 * 252)).toBeCloseTo(33.71620009180922, 9)
  })

  it("scales with √(periods per year)", () => {
    const eq = [100, 150, 75, 150]
    expect(sharpeRatio(eq, 4 * 252)).toBeCloseTo(2 * sharpeRatio(eq, 252), 12)
    expect(sharpeRatio(eq, 1)).toBeCloseTo((1 / 3) / Math.sqrt(7 / 12), 12)
  })

  it("is negative for losing runs", () => {
    expect(sharpeRatio([150, 75, 100, 50], 1)).toBeLessThan(0)
  })

  it("skips a return whose previous equity is 0", () => {
    // returns −1 and 0.2 (0 → 50 skipped): mean −0.4, sample std 0.6·√2 → −√2/3 per period
    expect(sharpeRatio([100, 0, 50, 60], 252)).toBeCloseTo((-Math.SQRT2 / 3) * Math.sqrt(252), 12)
  })

  it("is 0 with fewer than two returns or when returns do not vary", () => {
    expect(sharpeRatio([], 252)).toBe(0)
    expect(sharpeRatio([100], 252)).toBe(0)
    expect(sharpeRatio([100, 120], 252)).toBe(0)
    expect(sharpeRatio([100, 100, 100, 100], 252)).toBe(0)
    expect(sharpeRatio([100, 110, 121], 252)).toBe(0) // 1.1 both times
    expect(sharpeRatio([64, 128, 256, 512], 252)).toBe(0)
  })
})

describe("maxDrawdown", () => {
  it("is the largest fall from a running peak, as a fraction of that peak", () => {
    expect(maxDrawdown([100, 120, 90, 130, 65, 140])).toBe(0.5)
    expect(maxDrawdown([100, 80, 120, 96, 110])).toBe(0.2)
    expect(maxDrawdown([200, 150, 100, 50])).toBe(0.75)
  })

  it("uses the peak so far, not the global peak or the first value", () => {
    // a later higher peak with a smaller fall must not hide the earlier 40 % fall
    expect(maxDrawdown([100, 60, 1000, 900])).toBeCloseTo(0.4, 15)
    // a fall measured from the start (100 → 75) is smaller than from the peak (150 → 75)
    expect(maxDrawdown([100, 150, 75])).toBe(0.5)
  })

  it("is 0 for a rising or flat series and for empty input", () => {
    expect(maxDrawdown([1, 2, 3, 4])).toBe(0)
    expect(maxDrawdown([5, 5, 5])).toBe(0)
    expect(maxDrawdown([])).toBe(0)
  })

  it("ignores non-positive peaks", () => {
    expect(maxDrawdown([0, 0, 10, 5])).toBe(0.5)
    expect(maxDrawdown([-10, -20])).toBe(0)
  })
})

describe("performanceReport", () => {
  it("reports steps, returns, drawdown, sharpe and turnover", () => {
    const equity = [100, 150, 75, 150]
    const r = performanceReport({ equity, orders: 7, fills: 5, tradedNotional: 950, periodsPerYear: 252 })
    expect(r.steps).toBe(3)
    expect(r.orders).toBe(7)
    expect(r.fills).toBe(5)
    expect(r.initial_equity).toBe(100)
    expect(r.final_equity).toBe(150)
    expect(r.total_return).toBe(0.5)
    expect(r.max_drawdown).toBe(0.5)
    expect(r.sharpe).toBeCloseTo(4 * Math.sqrt(3), 12)
    // mean equity (100 + 150 + 75 + 150) / 4 = 118.75
    expect(r.turnover).toBe(8)
  })

  it("total return is final / initial − 1", () => {
    expect(performanceReport({ equity: [200, 180, 150], orders: 0, fills: 0, tradedNotional: 0, periodsPerYear: 252 }).total_return).toBe(-0.25)
  })

  it("handles empty and zero-start equity", () => {
    const empty = performanceReport({ equity: [], orders: 0, fills: 0, tradedNotional: 10, periodsPerYear: 252 })
    expect(empty).toEqual({
      steps: 0,
      orders: 0,
      fills: 0,
      initial_equity: 0,
      final_equity: 0,
      total_return: 0,
      sharpe: 0,
      max_drawdown: 0,
      turnover: 0
    })
    const one = performanceReport({ equity: [500], orders: 0, fills: 0, tradedNotional: 250, periodsPerYear: 252 })
    expect(one.steps).toBe(0)
    expect(one.final_equity).toBe(500)
    expect(one.total_return).toBe(0)
    expect(one.turnover).toBe(0.5)
    expect(performanceReport({ equity: [0, 10], orders: 0, fills: 0, tradedNotional: 5, periodsPerYear: 252 }).total_return).toBe(0)
  })
})

describe("periodsPerYear", () => {
  it("252 sessions of 6.5 hours", () => {
    expect(periodsPerYear(86_400_000)).toBe(252) // 1d
    expect(periodsPerYear(300_000)).toBe(78 * 252) // 5m: 390 minutes / 5
    expect(periodsPerYear(60_000)).toBe(390 * 252) // 1m
    expect(periodsPerYear(900_000)).toBe(26 * 252) // 15m
    expect(periodsPerYear(1_800_000)).toBe(13 * 252) // 30m
    expect(periodsPerYear(3_600_000)).toBe(7 * 252) // 1h: 6.5 rounds to 7 bars (09:00 … 15:00 starts)
  })
})

describe("return statistics", () => {
  it("periodReturns are consecutive simple returns, skipping a step from 0", () => {
    expect(periodReturns([100, 150, 75, 150])).toEqual([0.5, -0.5, 1])
    expect(periodReturns([100, 0, 50, 60]).map((r) => Number(r.toFixed(12)))).toEqual([-1, 0.2])
    expect(periodReturns([5])).toEqual([])
  })

  it("annualised volatility is the sample std × √(periods per year)", () => {
    // returns 0.5, −0.5, 1: sample variance 7/12
    expect(sampleStd([0.5, -0.5, 1])).toBeCloseTo(Math.sqrt(7 / 12), 12)
    expect(annualizedVolatility([0.5, -0.5, 1], 252)).toBeCloseTo(Math.sqrt(7 / 12) * Math.sqrt(252), 12)
    expect(annualizedVolatility([0.1], 252)).toBeNaN()
  })

  it("Sortino divides the mean by the downside deviation over all returns (target 0)", () => {
    // mean (0.02 − 0.01 + 0.03 − 0.02) / 4 = 0.005; downside √((0.0001 + 0.0004) / 4)
    expect(sortinoRatio([0.02, -0.01, 0.03, -0.02], 1)).toBeCloseTo(0.005 / Math.sqrt(0.0005 / 4), 12)
    expect(sortinoRatio([0.02, -0.01, 0.03, -0.02], 252)).toBeCloseTo((0.005 / Math.sqrt(0.0005 / 4)) * Math.sqrt(252), 12)
    expect(sortinoRatio([0.01, 0.02], 252)).toBeNaN()
  })

  it("CAGR compounds to a year; Calmar divides it by the drawdown", () => {
    expect(cagr(100, 121, 2)).toBeCloseTo(0.1, 12)
    expect(cagr(100, 110, 0.5)).toBeCloseTo(0.21, 12)
    expect(cagr(0, 110, 1)).toBeNaN()
    expect(cagr(100, 110, 0)).toBeNaN()
    expect(calmarRatio(0.2, 0.1)).toBeCloseTo(2, 12)
    expect(calmarRatio(0.2, 0)).toBeNaN()
  })

  it("the underwater curve is each equity against its running peak", () => {
    expect(underwater([100, 120, 90, 130, 65]).map((x) => Number(x.toFixed(12)))).toEqual([0, 0, -0.25, 0, -0.5])
    expect(Math.min(...underwater([100, 120, 90, 130, 65, 140]))).toBeCloseTo(-maxDrawdown([100, 120, 90, 130, 65, 140]), 12)
  })

  it("the win rate counts positive returns among those that moved", () => {
    expect(winRate([0.1, 0, -0.2, 0.3, 0])).toBeCloseTo(2 / 3, 12)
    expect(winRate([0, 0])).toBeNaN()
  })
})
