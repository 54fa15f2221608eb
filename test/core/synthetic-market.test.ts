import { describe, expect, it } from "vitest"
import { barsToCsv, syntheticMarket, tradingDays } from "../../src/core/synthetic-market.js"
import { parseBarsCsv } from "../../src/core/bars-csv.js"
import { validateBar } from "../../src/core/bar-checks.js"

describe("the demo's synthetic market", () => {
  const days = tradingDays("2026-01-02", "2026-01-09", ["2026-01-05"])

  it("lists weekdays less holidays", () => {
    expect(days).toEqual(["2026-01-02", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"])
  })

  it("is the same for a seed, different across seeds, and every bar is valid", () => {
    const a = syntheticMarket({ tickers: ["X", "Y"], seed: 3, days, utcOffsetHours: -5 })
    const b = syntheticMarket({ tickers: ["X", "Y"], seed: 3, days, utcOffsetHours: -5 })
    const c = syntheticMarket({ tickers: ["X", "Y"], seed: 4, days, utcOffsetHours: -5 })
    expect(a).toEqual(b)
    expect(a.get("X")![100].close).not.toBe(c.get("X")![100].close)
    for (const bars of a.values()) {
      expect(bars).toHaveLength(days.length * 390)
      for (const bar of bars) expect(validateBar(bar)).toBeUndefined()
    }
    // a session is 09:30–16:00 New York (14:30Z in winter), one bar a minute
    const x = a.get("X")!
    expect(new Date(x[0].time).toISOString()).toBe("2026-01-02T14:30:00.000Z")
    expect(new Date(x[389].time).toISOString()).toBe("2026-01-02T20:59:00.000Z")
  })

  it("writes CSV the bars parser reads back exactly", () => {
    const bars = syntheticMarket({ tickers: ["X"], seed: 9, days: days.slice(0, 1), utcOffsetHours: -5 }).get("X")!
    const parsed = parseBarsCsv(barsToCsv(bars))
    expect(parsed.problems).toEqual([])
    expect(parsed.rows.map(({ time, open, high, low, close, volume }) => ({ time, open, high, low, close, volume }))).toEqual(bars)
  })
})
