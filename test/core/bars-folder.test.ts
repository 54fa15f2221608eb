import { describe, expect, it } from "vitest"
import { parseBarsCsv } from "../../src/core/bars-csv.js"
import {
  chunkRange,
  downloadTimeframe,
  fetchPlan,
  finalUntil,
  formatBarsCsv,
  mergeBars,
  missingRanges,
  normalizeRanges,
  warmupSpan
} from "../../src/core/bars-folder.js"

const r = (from: number, to: number) => ({ from, to })
const bar = (time: number, close: number) => ({ time, open: close, high: close + 0.5, low: close - 0.25, close, volume: 100 })
const DAY = 86_400_000
const MIN = 60_000

describe("ranges a bars folder has fetched", () => {
  it("normalizes: sorted, overlapping and adjacent ranges joined, empty ones dropped", () => {
    expect(normalizeRanges([r(5, 7), r(0, 2), r(2, 3), r(6, 9), r(4, 4)])).toEqual([r(0, 3), r(5, 9)])
  })

  it("what is missing of a wanted range: the gaps, the head and the tail", () => {
    expect(missingRanges([], r(0, 10))).toEqual([r(0, 10)])
    expect(missingRanges([r(2, 4), r(6, 8)], r(0, 10))).toEqual([r(0, 2), r(4, 6), r(8, 10)])
    expect(missingRanges([r(0, 10)], r(2, 5))).toEqual([])
    expect(missingRanges([r(0, 3)], r(2, 5))).toEqual([r(3, 5)])
    expect(missingRanges([r(20, 30)], r(2, 5))).toEqual([r(2, 5)])
  })

  it("groups tickers with the same missing ranges, so one multi-symbol request serves them", () => {
    const coverage = new Map([["AAA", [r(0, 5)]], ["BBB", [r(0, 5)]]])
    expect(fetchPlan(["AAA", "BBB", "CCC"], coverage, r(0, 10))).toEqual([
      { tickers: ["AAA", "BBB"], ranges: [r(5, 10)] },
      { tickers: ["CCC"], ranges: [r(0, 10)] }
    ])
    expect(fetchPlan(["AAA", "BBB"], coverage, r(1, 4))).toEqual([])
  })

  it("cuts a range into chunks of at most a span", () => {
    expect(chunkRange(r(0, 25), 10)).toEqual([r(0, 10), r(10, 20), r(20, 25)])
    expect(chunkRange(r(0, 0), 10)).toEqual([])
  })

  it("records nothing as fetched that is not final yet: minutes until 15 minutes ago, days until today", () => {
    const now = Date.parse("2026-03-02T15:07:31Z")
    expect(new Date(finalUntil("1Min", now)).toISOString()).toBe("2026-03-02T14:52:00.000Z")
    expect(new Date(finalUntil("1Day", now)).toISOString()).toBe("2026-03-02T00:00:00.000Z")
    expect(downloadTimeframe("5m")).toBe("1Min")
    expect(downloadTimeframe("1d")).toBe("1Day")
  })

  it("a warm-up of N bars reaches back over weekends and holidays", () => {
    // 180 five-minute bars are 900 minutes: 3 sessions, 5 weekdays, a holiday and a margin
    expect(warmupSpan("5m", 180, 5 * MIN)).toBe((5 + 1 + 4) * DAY)
    // FinRL's 252-bar turbulence window: more than a calendar year (about 252 sessions)
    expect(warmupSpan("1d", 253, DAY)).toBeGreaterThan(366 * DAY)
    expect(warmupSpan("5m", 0, 5 * MIN)).toBe(0)
  })
})

describe("bars files", () => {
  it("merges in time order, a new bar replacing an old one of the same time", () => {
    expect(mergeBars([bar(0, 1), bar(2, 1)], [bar(1, 2), bar(2, 3)])).toEqual([bar(0, 1), bar(1, 2), bar(2, 3)])
  })

  it("writes the simulator's format, read back exactly", () => {
    const bars = [bar(Date.parse("2024-01-02T14:30:00Z"), 187.15), bar(Date.parse("2024-01-02T14:31:00.250Z"), 0.1 + 0.2)]
    const text = formatBarsCsv(bars)
    expect(text.split("\n").slice(0, 2)).toEqual(["date,open,high,low,close,volume", "2024-01-02T14:30:00Z,187.15,187.65,186.9,187.15,100"])
    const parsed = parseBarsCsv(text)
    expect(parsed.problems).toEqual([])
    expect(parsed.rows.map(({ time, open, high, low, close, volume }) => ({ time, open, high, low, close, volume }))).toEqual(bars)
    expect(formatBarsCsv([])).toBe("date,open,high,low,close,volume\n")
  })
})
