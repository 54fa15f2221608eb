import { describe, expect, it } from "vitest"
import type { Bar } from "../../../src/core/bar.js"
import { featureTable, type IndicatorDefinition, resolveIndicator } from "../../../src/core/indicators/index.js"
import { loadBars, loadExpected } from "./fixture.js"

/**
 * Tolerance: |got - want| <= 1e-9 * max(1, |want|), i.e. 1e-9 relative, with an absolute floor of
 * 1e-9 near zero. NaN must appear exactly where the fixture cell is empty.
 */
const TOLERANCE = 1e-9
const withinTolerance = (got: number, want: number): boolean =>
  Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) <= TOLERANCE * Math.max(1, Math.abs(want))

const FINRL_DEFAULT = ["macd", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma"]

const mustResolve = (name: string): IndicatorDefinition => {
  const r = resolveIndicator(name)
  if (!r.ok) throw new Error(r.error)
  return r.value
}

const bars = loadBars()
const expected = loadExpected()

/** Describes the first cell that differs, or undefined when every cell matches. */
const firstMismatch = (column: string, got: ReadonlyArray<number>): string | undefined => {
  const col = expected.columns.indexOf(column)
  for (let i = 0; i < expected.values.length; i++) {
    const want = expected.values[i][col]
    if (!withinTolerance(got[i], want)) {
      const rel = Math.abs(got[i] - want) / Math.max(1, Math.abs(want))
      return (
        `first mismatch in column '${column}' at data row ${i + 1} (file line ${bars[i].line}, date ${bars[i].date}): ` +
        `got ${got[i]}, stockstats has ${Number.isNaN(want) ? "NaN (empty cell)" : want}, relative error ${rel}`
      )
    }
  }
  return undefined
}

const run = (def: IndicatorDefinition, input: ReadonlyArray<Bar>): number[] => {
  const stream = def.create()
  return input.map((bar) => stream.next(bar))
}

describe("stockstats parity (FinRL default indicators over 002032.csv)", () => {
  it("the fixture is what we think it is", () => {
    expect(bars.length).toBe(2813)
    expect(expected.values.length).toBe(bars.length)
    expect(expected.dates).toEqual(bars.map((b) => b.date))
    expect([...expected.columns]).toEqual(FINRL_DEFAULT)
  })

  for (const name of FINRL_DEFAULT) {
    it(`${name} matches stockstats bar by bar (1e-9 relative, NaN where stockstats has NaN)`, () => {
      const got = run(mustResolve(name), bars)
      expect(got.length).toBe(bars.length)
      expect(firstMismatch(name, got)).toBeUndefined()
    })
  }

  it("reports the worst relative error per column (all within tolerance)", () => {
    const worst: Record<string, number> = {}
    for (const name of FINRL_DEFAULT) {
      const col = expected.columns.indexOf(name)
      const got = run(mustResolve(name), bars)
      let max = 0
      got.forEach((g, i) => {
        const want = expected.values[i][col]
        if (!Number.isNaN(want)) max = Math.max(max, Math.abs(g - want) / Math.max(1, Math.abs(want)))
      })
      worst[name] = max
    }
    console.log("max relative error per column:", worst)
    for (const name of FINRL_DEFAULT) expect(worst[name], name).toBeLessThanOrEqual(TOLERANCE)
  })

  it("featureTable over the fixture reproduces stockstats' table", () => {
    const csv = featureTable(bars, FINRL_DEFAULT.map(mustResolve))
    expect(csv.endsWith("\n")).toBe(true)
    expect(csv.includes("\r")).toBe(false)
    const lines = csv.slice(0, -1).split("\n")
    expect(lines[0]).toBe(`date,${FINRL_DEFAULT.join(",")}`)
    expect(lines.length).toBe(bars.length + 1)
    for (const [c, name] of FINRL_DEFAULT.entries()) {
      const got = lines.slice(1).map((l) => {
        const cell = l.split(",")[c + 1]
        return cell === "" ? Number.NaN : Number(cell)
      })
      expect(firstMismatch(name, got)).toBeUndefined()
    }
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(expected.dates)
  })

  it("values are causal: a stream over a prefix gives exactly the full run's prefix", () => {
    for (const name of FINRL_DEFAULT) {
      const def = mustResolve(name)
      const full = run(def, bars)
      for (const cut of [1, 2, 29, 30, 31, 61, 500]) {
        expect(run(def, bars.slice(0, cut)), `${name} prefix ${cut}`).toEqual(full.slice(0, cut))
      }
    }
  })
})

describe("stockstats definitions beyond the fixture", () => {
  const closes = bars.slice(0, 300).map((b) => b.close)

  /** pandas ewm(span, adjust=True) mean written as its closed form: weights (1 - a)^(t - i). */
  const ewmClosedForm = (xs: ReadonlyArray<number>, span: number): number[] => {
    const a = 2 / (span + 1)
    return xs.map((_, t) => {
      let num = 0
      let den = 0
      for (let i = 0; i <= t; i++) {
        const w = (1 - a) ** (t - i)
        num += w * xs[i]
        den += w
      }
      return num / den
    })
  }

  it("close_N_ema is pandas' adjust=True EWM (checked against its closed form)", () => {
    for (const span of [5, 12, 26]) {
      const got = run(mustResolve(`close_${span}_ema`), bars.slice(0, 300))
      const want = ewmClosedForm(closes, span)
      got.forEach((g, i) => expect(Math.abs(g - want[i]), `span ${span} bar ${i}`).toBeLessThan(1e-10 * want[i]))
    }
  })

  it("macd = close_12_ema - close_26_ema, macds = 9-span EWM of macd, macdh = macd - macds", () => {
    const input = bars.slice(0, 300)
    const macd = run(mustResolve("macd"), input)
    const fast = run(mustResolve("close_12_ema"), input)
    const slow = run(mustResolve("close_26_ema"), input)
    macd.forEach((m, i) => expect(m).toBe(fast[i] - slow[i]))
    const macds = run(mustResolve("macds"), input)
    const signal = ewmClosedForm(macd, 9)
    macds.forEach((s, i) => expect(Math.abs(s - signal[i])).toBeLessThan(1e-12))
    const macdh = run(mustResolve("macdh"), input)
    macdh.forEach((h, i) => expect(h).toBe(macd[i] - macds[i]))
  })

  it("boll is the 20-bar SMA between the bands, with a sample (ddof=1) standard deviation", () => {
    const input = bars.slice(0, 100)
    const mid = run(mustResolve("boll"), input)
    const ub = run(mustResolve("boll_ub"), input)
    const lb = run(mustResolve("boll_lb"), input)
    expect(Number.isNaN(mid[0])).toBe(false)
    expect(Number.isNaN(ub[0]) && Number.isNaN(lb[0])).toBe(true)
    for (let i = 1; i < input.length; i++) {
      const w = closes.slice(Math.max(0, i - 19), i + 1)
      const mean = w.reduce((a, b) => a + b, 0) / w.length
      const sd = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / (w.length - 1))
      expect(Math.abs(mid[i] - mean)).toBeLessThan(1e-12)
      expect(Math.abs(ub[i] - (mean + 2 * sd))).toBeLessThan(1e-9)
      expect(Math.abs(lb[i] - (mean - 2 * sd))).toBeLessThan(1e-9)
    }
  })

  it("rolling std stays accurate over a long series with a large offset (no catastrophic cancellation)", () => {
    const offset = 1e6
    const long: Bar[] = bars.map((b) => ({ ...b, open: b.open + offset, high: b.high + offset, low: b.low + offset, close: b.close + offset }))
    const ub = run(mustResolve("boll_ub"), long)
    const mid = run(mustResolve("boll"), long)
    const ref = run(mustResolve("boll_ub"), bars)
    const refMid = run(mustResolve("boll"), bars)
    for (let i = 1; i < bars.length; i++) {
      const width = ub[i] - mid[i]
      const refWidth = ref[i] - refMid[i]
      expect(Math.abs(width - refWidth), `bar ${i}`).toBeLessThan(1e-6)
    }
  })

  it("constant prices give exact zeros, not rounding noise (pandas' same-value rule)", () => {
    const flat: Bar[] = Array.from({ length: 40 }, (_, i) => ({ time: i, open: 10.1, high: 10.3, low: 10.0, close: 10.1, volume: 5 }))
    const ub = run(mustResolve("boll_ub"), flat)
    expect(ub.slice(1).every((v) => v === 10.1)).toBe(true)
    expect(run(mustResolve("close_7_sma"), flat).every((v) => v === 10.1)).toBe(true)
    expect(run(mustResolve("close_7_ema"), flat).every((v) => v === 10.1)).toBe(true)
    expect(run(mustResolve("rsi_14"), flat).every((v) => v === 50)).toBe(true)
    expect(run(mustResolve("cci_14"), flat).every((v) => v === 0)).toBe(true)
    expect(run(mustResolve("dx_14"), flat).every((v) => v === 0)).toBe(true)
  })

  it("dx is NaN when the true range is 0 (stockstats divides 0 by a 0 ATR)", () => {
    const still: Bar[] = Array.from({ length: 5 }, (_, i) => ({ time: i, open: 7, high: 7, low: 7, close: 7, volume: 1 }))
    expect(run(mustResolve("dx_3"), still).every((v) => Number.isNaN(v))).toBe(true)
  })

  it("warm-up bar counts", () => {
    const warm = (n: string) => mustResolve(n).warmupBars
    expect(warm("close_30_sma")).toBe(30)
    expect(warm("close_60_sma")).toBe(60)
    expect(warm("close_12_ema")).toBe(12)
    expect(warm("boll")).toBe(20)
    expect(warm("boll_ub")).toBe(20)
    expect(warm("boll_lb")).toBe(20)
    expect(warm("rsi_30")).toBe(31)
    expect(warm("cci_30")).toBe(30)
    expect(warm("dx_30")).toBe(31)
    expect(warm("macd")).toBe(26)
    expect(warm("macds")).toBe(34)
    expect(warm("macdh")).toBe(34)
  })

  it("cci is 0 until a full window has been seen, then not", () => {
    const col = expected.columns.indexOf("cci_30")
    const got = run(mustResolve("cci_30"), bars.slice(0, 40))
    expect(got.slice(0, 29).every((v) => v === 0)).toBe(true)
    expect(got[29]).not.toBe(0)
    expect(withinTolerance(got[29], expected.values[29][col])).toBe(true)
  })
})
