import { describe, expect, it } from "vitest"
import type { BarRow } from "../../../src/core/bars-csv.js"
import { featureTable, type IndicatorSpec, resolveIndicator } from "../../../src/core/indicators/index.js"

const errorOf = (spec: IndicatorSpec): string => {
  const r = resolveIndicator(spec)
  if (r.ok) throw new Error(`expected an error for ${JSON.stringify(spec)}, got definition ${r.value.name}`)
  return r.error
}

describe("resolveIndicator: stockstats names", () => {
  it("resolves FinRL's names with their column names", () => {
    for (const name of ["macd", "macds", "macdh", "boll", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma", "close_12_ema", "boll_ub_10", "volume_5_sma"]) {
      const r = resolveIndicator(name)
      expect(r.ok, name).toBe(true)
      if (r.ok) expect(r.value.name).toBe(name)
    }
  })

  it("default windows and `as`", () => {
    const rsi = resolveIndicator("rsi")
    expect(rsi.ok && rsi.value.warmupBars).toBe(15)
    const renamed = resolveIndicator({ name: "rsi_30", as: "rsi30" })
    expect(renamed.ok && renamed.value.name).toBe("rsi30")
    expect(renamed.ok && renamed.value.warmupBars).toBe(31)
  })

  it("rejects bad windows, naming the indicator", () => {
    expect(errorOf("rsi_0")).toMatch(/'rsi_0'.*positive integer/)
    expect(errorOf("rsi_x")).toMatch(/'rsi_x'.*positive integer.*'x'/)
    expect(errorOf("close_1.5_sma")).toMatch(/'close_1.5_sma'.*positive integer/)
    expect(errorOf("boll_1")).toMatch(/'boll_1'.*at least 2/)
  })

  it("rejects parameters on a stockstats name and points at the technicalindicators name", () => {
    const e = errorOf({ name: "macd", fastPeriod: 12 })
    expect(e).toMatch(/stockstats indicator 'macd' takes no parameters/)
    expect(e).toMatch(/'fastPeriod'/)
    expect(e).toMatch(/'MACD'/)
  })
})

describe("resolveIndicator: errors", () => {
  it("unknown name lists what is available", () => {
    const e = errorOf("frobnicator_7")
    expect(e).toMatch(/unknown indicator 'frobnicator_7'/)
    expect(e).toMatch(/rsi_N/)
    expect(e).toMatch(/BollingerBands/)
  })

  it("missing name", () => {
    expect(errorOf({ name: "" })).toMatch(/non-empty 'name'/)
    expect(errorOf("")).toMatch(/non-empty 'name'/)
  })

  it("missing parameter names indicator and parameter", () => {
    expect(errorOf({ name: "RSI" })).toMatch(/technicalindicators 'RSI': parameter 'period' is missing/)
    expect(errorOf("RSI")).toMatch(/'RSI'.*'period' is missing/)
    expect(errorOf({ name: "MACD", fastPeriod: 12, signalPeriod: 9, output: "MACD" })).toMatch(/'MACD'.*'slowPeriod' is missing/)
  })

  it("invalid parameter values", () => {
    expect(errorOf({ name: "RSI", period: 0 })).toMatch(/'RSI'.*'period' must be a positive integer, got 0/)
    expect(errorOf({ name: "RSI", period: 2.5 })).toMatch(/'period' must be a positive integer, got 2.5/)
    expect(errorOf({ name: "RSI", period: "14" })).toMatch(/'period' must be a positive integer, got "14"/)
    expect(errorOf({ name: "BollingerBands", period: 20, stdDev: -1, output: "upper" })).toMatch(/'BollingerBands'.*'stdDev' must be a positive/)
    expect(errorOf({ name: "MACD", fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMASignal: "no", output: "MACD" })).toMatch(
      /'SimpleMASignal' must be true or false/
    )
  })

  it("unknown (misspelt) parameter", () => {
    const e = errorOf({ name: "RSI", period: 14, perod: 3 })
    expect(e).toMatch(/'RSI': unknown parameter 'perod'/)
    expect(e).toMatch(/accepted: period/)
  })

  it("multi-output indicators need a valid `output`, and the error lists the fields", () => {
    const missing = errorOf({ name: "MACD", fastPeriod: 12, slowPeriod: 26, signalPeriod: 9 })
    expect(missing).toMatch(/'MACD' has several outputs: 'output' must be one of MACD, signal, histogram \(missing\)/)
    const wrong = errorOf({ name: "BollingerBands", period: 20, stdDev: 2, output: "top" })
    expect(wrong).toMatch(/must be one of middle, upper, lower, pb \(got "top"\)/)
    expect(errorOf({ name: "RSI", period: 14, output: "value" })).toMatch(/'RSI' has a single output/)
  })

  it("bad `as`", () => {
    expect(errorOf({ name: "RSI", period: 14, as: "a,b" })).toMatch(/'as' must be/)
    expect(errorOf({ name: "rsi_14", as: 3 })).toMatch(/'as' must be/)
  })
})

describe("featureTable", () => {
  const row = (line: number, date: string, close: number): BarRow => ({
    line,
    date,
    time: Date.UTC(2024, 0, line),
    open: close,
    high: close + 1,
    low: close - 1,
    close,
    volume: 100
  })

  it("writes the header, the dates as given, values via formatNumber, empty for NaN, trailing newline", () => {
    const rows = [row(2, "20240102", 10), row(3, "2024-01-03", 11), row(4, "2024-01-04T00:00:00Z", 13)]
    const defs = ["close_2_sma", "boll_ub", { name: "SMA", period: 2, as: "sma2" }].map((s) => {
      const r = resolveIndicator(s)
      if (!r.ok) throw new Error(r.error)
      return r.value
    })
    const csv = featureTable(rows, defs)
    expect(csv.endsWith("\n")).toBe(true)
    const lines = csv.slice(0, -1).split("\n")
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe("date,close_2_sma,boll_ub,sma2")
    const cells = lines.slice(1).map((l) => l.split(","))
    expect(cells.map((c) => c[0])).toEqual(["20240102", "2024-01-03", "2024-01-04T00:00:00Z"])
    expect(cells.map((c) => c[1])).toEqual(["10", "10.5", "12"])
    expect(cells.map((c) => c[3])).toEqual(["", "10.5", "12"])
    expect(cells[0][2]).toBe("")
    expect(Number(cells[1][2])).toBeCloseTo(10.5 + 2 * Math.sqrt(0.5), 12)
    expect(Number(cells[2][2])).toBeCloseTo(34 / 3 + 2 * Math.sqrt(7 / 3), 12)
  })

  it("no rows gives just the header", () => {
    const r = resolveIndicator("rsi_3")
    if (!r.ok) throw new Error(r.error)
    expect(featureTable([], [r.value])).toBe("date,rsi_3\n")
  })
})
