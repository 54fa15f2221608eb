import { ADX, BollingerBands, MACD, OBV, RSI } from "technicalindicators"
import { describe, expect, it } from "vitest"
import type { Bar } from "../../../src/core/bar.js"
import { type IndicatorDefinition, type IndicatorSpec, resolveIndicator } from "../../../src/core/indicators/index.js"
import { loadBars } from "./fixture.js"

const bars = loadBars().slice(0, 600)
const closes = bars.map((b) => b.close)

const mustResolve = (spec: IndicatorSpec): IndicatorDefinition => {
  const r = resolveIndicator(spec)
  if (!r.ok) throw new Error(r.error)
  return r.value
}

const run = (def: IndicatorDefinition, input: ReadonlyArray<Bar>): number[] => {
  const s = def.create()
  return input.map((b) => s.next(b))
}

/** Lines a batch result (which omits warm-up bars) up with the bars: NaN before it starts. */
const alignBatch = (batch: ReadonlyArray<number | undefined>, length: number): number[] => {
  const pad = length - batch.length
  return Array.from({ length }, (_, i) => (i < pad ? Number.NaN : (batch[i - pad] ?? Number.NaN)))
}

describe("technicalindicators specs, streamed bar by bar", () => {
  it("RSI_14 equals the library's batch RSI.calculate", () => {
    const def = mustResolve({ name: "RSI", period: 14 })
    expect(def.name).toBe("RSI_14")
    const batch = RSI.calculate({ period: 14, values: closes })
    const want = alignBatch(batch, bars.length)
    expect(run(def, bars)).toEqual(want)
    // warm: the first bar with a value
    expect(def.warmupBars).toBe(bars.length - batch.length + 1)
    expect(def.warmupBars).toBe(15)
  })

  it("MACD histogram (EMA-based) equals MACD.calculate's histogram", () => {
    const spec = {
      name: "MACD",
      fastPeriod: 12,
      slowPeriod: 26,
      signalPeriod: 9,
      SimpleMAOscillator: false,
      SimpleMASignal: false,
      output: "histogram"
    }
    const def = mustResolve(spec)
    expect(def.name).toBe("MACD_12_26_9_histogram")
    const batch = MACD.calculate({ ...spec, values: closes })
    const want = alignBatch(
      batch.map((o) => o.histogram),
      bars.length
    )
    const got = run(def, bars)
    expect(got).toEqual(want)
    expect(def.warmupBars).toBe(got.findIndex((v) => Number.isFinite(v)) + 1)
    expect(def.warmupBars).toBe(34)
    const line = mustResolve({ ...spec, output: "MACD" })
    expect(line.name).toBe("MACD_12_26_9_MACD")
    expect(line.warmupBars).toBe(26)
  })

  it("a true boolean parameter shows in the column name", () => {
    const def = mustResolve({ name: "MACD", fastPeriod: 5, slowPeriod: 8, signalPeriod: 3, SimpleMAOscillator: true, output: "signal" })
    expect(def.name).toBe("MACD_5_8_3_SimpleMAOscillator_signal")
    const batch = MACD.calculate({ fastPeriod: 5, slowPeriod: 8, signalPeriod: 3, SimpleMAOscillator: true, SimpleMASignal: false, values: closes })
    expect(run(def, bars)).toEqual(alignBatch(batch.map((o) => o.signal), bars.length))
  })

  it("BollingerBands upper equals the batch output", () => {
    const def = mustResolve({ name: "BollingerBands", period: 20, stdDev: 2, output: "upper" })
    expect(def.name).toBe("BollingerBands_20_2_upper")
    const batch = BollingerBands.calculate({ period: 20, stdDev: 2, values: closes })
    expect(run(def, bars)).toEqual(alignBatch(batch.map((o) => o.upper), bars.length))
    expect(def.warmupBars).toBe(20)
  })

  it("candle-input ADX (high/low/close) equals the batch adx", () => {
    const def = mustResolve({ name: "ADX", period: 14, output: "adx" })
    const batch = ADX.calculate({
      period: 14,
      high: bars.map((b) => b.high),
      low: bars.map((b) => b.low),
      close: closes
    })
    const got = run(def, bars)
    const want = alignBatch(batch.map((o) => o.adx), bars.length)
    expect(got).toEqual(want)
    expect(def.warmupBars).toBe(got.findIndex((v) => Number.isFinite(v)) + 1)
  })

  it("volume-input OBV equals the batch output", () => {
    const def = mustResolve({ name: "OBV" })
    expect(def.name).toBe("OBV")
    const batch = OBV.calculate({ close: closes, volume: bars.map((b) => b.volume) })
    expect(run(def, bars)).toEqual(alignBatch(batch, bars.length))
  })

  it("names are matched case-insensitively (stockstats' lower-case names win) and `as` renames the column", () => {
    expect(mustResolve({ name: "Rsi", period: 14 }).name).toBe("RSI_14")
    expect(mustResolve({ name: "williamsr", period: 14 }).name).toBe("WilliamsR_14")
    expect(resolveIndicator({ name: "rsi", period: 14 }).ok).toBe(false)
    expect(mustResolve({ name: "ema", period: 10, as: "ema10" }).name).toBe("ema10")
  })

  it("library defaults are filled in and named", () => {
    expect(mustResolve({ name: "KeltnerChannels", output: "upper" }).name).toBe("KeltnerChannels_20_10_1_upper")
    expect(mustResolve({ name: "IchimokuCloud", output: "spanA" }).name).toBe("IchimokuCloud_9_26_52_26_spanA")
  })
})

describe("streams are incremental and independent", () => {
  const specs: IndicatorSpec[] = [
    "rsi_30",
    "cci_30",
    "dx_30",
    "macdh",
    "boll_ub",
    "close_30_sma",
    { name: "RSI", period: 14 },
    { name: "ADX", period: 14, output: "pdi" }
  ]

  for (const spec of specs) {
    const label = typeof spec === "string" ? spec : JSON.stringify(spec)

    it(`${label}: a second create() is fresh, unaffected by an interleaved stream`, () => {
      const def = mustResolve(spec)
      const reference = run(def, bars)
      // Stream A runs ahead over a different series; stream B starts later on the real bars.
      const a = def.create()
      const shuffled = [...bars].reverse().map((b, i) => ({ ...b, time: i }))
      for (let i = 0; i < 50; i++) a.next(shuffled[i])
      const b = def.create()
      const got: number[] = []
      for (let i = 0; i < bars.length; i++) {
        got.push(b.next(bars[i]))
        a.next(shuffled[(50 + i) % shuffled.length])
      }
      expect(got).toEqual(reference)
    })

    it(`${label}: one bar at a time over a prefix equals the full run's prefix`, () => {
      const def = mustResolve(spec)
      const full = run(def, bars)
      expect(run(def, bars.slice(0, 123))).toEqual(full.slice(0, 123))
    })
  }

  it("per-bar cost does not grow with history (100k bars stay fast)", () => {
    const defs = ["macd", "boll_ub", "rsi_30", "cci_30", "dx_30", "close_60_sma"].map((n) => mustResolve(n))
    const streams = defs.map((d) => d.create())
    const n = 100_000
    const started = performance.now()
    let last = 0
    for (let i = 0; i < n; i++) {
      const b = bars[i % bars.length]
      for (const s of streams) last = s.next({ ...b, time: i })
    }
    const elapsed = performance.now() - started
    expect(Number.isFinite(last)).toBe(true)
    expect(elapsed).toBeLessThan(10_000)
  })
})

describe("the whole technicalindicators catalogue streams", () => {
  const SAMPLE_SPECS: Record<string, Record<string, unknown>> = {
    SMA: { period: 10 },
    EMA: { period: 10 },
    WMA: { period: 10 },
    WEMA: { period: 10 },
    RSI: { period: 14 },
    ROC: { period: 12 },
    TRIX: { period: 18 },
    SD: { period: 20 },
    Highest: { period: 10 },
    Lowest: { period: 10 },
    Sum: { period: 10 },
    AverageGain: { period: 14 },
    AverageLoss: { period: 14 },
    MACD: { fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, output: "signal" },
    BollingerBands: { period: 20, stdDev: 2, output: "pb" },
    KST: { ROCPer1: 10, ROCPer2: 15, ROCPer3: 20, ROCPer4: 30, SMAROCPer1: 10, SMAROCPer2: 10, SMAROCPer3: 10, SMAROCPer4: 15, signalPeriod: 9, output: "kst" },
    StochasticRSI: { rsiPeriod: 14, stochasticPeriod: 14, kPeriod: 3, dPeriod: 3, output: "k" },
    ADL: {},
    ATR: { period: 14 },
    TrueRange: {},
    CCI: { period: 20 },
    AwesomeOscillator: { fastPeriod: 5, slowPeriod: 34 },
    ForceIndex: { period: 13 },
    MFI: { period: 14 },
    OBV: {},
    VWAP: {},
    WilliamsR: { period: 14 },
    PSAR: { step: 0.02, max: 0.2 },
    ADX: { period: 14, output: "mdi" },
    Stochastic: { period: 14, signalPeriod: 3, output: "d" },
    IchimokuCloud: { output: "base" },
    KeltnerChannels: { output: "lower" },
    ChandelierExit: { output: "exitLong" },
    HeikinAshi: { output: "close" }
  }

  it("has a sample for every catalogue entry", async () => {
    const { TECHNICALINDICATORS_NAMES } = await import("../../../src/core/indicators/index.js")
    expect([...TECHNICALINDICATORS_NAMES].sort()).toEqual(Object.keys(SAMPLE_SPECS).sort())
  })

  for (const [name, params] of Object.entries(SAMPLE_SPECS)) {
    it(`${name}: NaN before warm-up, then finite numbers`, () => {
      const def = mustResolve({ name, ...params })
      const got = run(def, bars)
      expect(def.warmupBars).toBeGreaterThanOrEqual(1)
      expect(got.slice(0, def.warmupBars - 1).every((v) => Number.isNaN(v)), "NaN during warm-up").toBe(true)
      const after = got.slice(def.warmupBars - 1)
      expect(after.length).toBeGreaterThan(0)
      const finiteShare = after.filter((v) => Number.isFinite(v)).length / after.length
      expect(finiteShare, "share of finite values after warm-up").toBeGreaterThan(0.95)
    })
  }
})
