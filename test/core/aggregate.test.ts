import { describe, expect, it } from "vitest"
import { aggregateBars, barSpacing, bucketStart } from "../../src/core/aggregate.js"

const minute = (iso: string, o: number, h: number, l: number, c: number, v = 10) => ({ time: Date.parse(iso), open: o, high: h, low: l, close: c, volume: v })

describe("bar aggregation", () => {
  it("combines minute bars into 5-minute buckets aligned to the epoch", () => {
    const bars = [
      minute("2026-01-05T14:30:00Z", 10, 11, 9.5, 10.5),
      minute("2026-01-05T14:31:00Z", 10.5, 12, 10, 11),
      minute("2026-01-05T14:34:00Z", 11, 11.2, 8, 9),
      minute("2026-01-05T14:35:00Z", 9, 9.5, 8.8, 9.1, 7)
    ]
    expect(aggregateBars(bars, 300_000)).toEqual([
      { time: Date.parse("2026-01-05T14:30:00Z"), open: 10, high: 12, low: 8, close: 9, volume: 30 },
      { time: Date.parse("2026-01-05T14:35:00Z"), open: 9, high: 9.5, low: 8.8, close: 9.1, volume: 7 }
    ])
  })

  it("stamps daily buckets at New York midnight, in winter and in summer", () => {
    expect(new Date(bucketStart(Date.parse("2026-01-05T20:59:00Z"), 86_400_000)).toISOString()).toBe("2026-01-05T05:00:00.000Z")
    expect(new Date(bucketStart(Date.parse("2026-07-06T13:30:00Z"), 86_400_000)).toISOString()).toBe("2026-07-06T04:00:00.000Z")
    // 01:00Z on Jan 6 is still Jan 5 in New York
    expect(new Date(bucketStart(Date.parse("2026-01-06T01:00:00Z"), 86_400_000)).toISOString()).toBe("2026-01-05T05:00:00.000Z")
    const day = aggregateBars([minute("2026-01-05T14:30:00Z", 1, 2, 0.5, 1.5), minute("2026-01-05T20:59:00Z", 1.5, 3, 1, 2)], 86_400_000)
    expect(day).toEqual([{ time: Date.parse("2026-01-05T05:00:00Z"), open: 1, high: 3, low: 0.5, close: 2, volume: 20 }])
  })

  it("finds the data's spacing", () => {
    expect(barSpacing([minute("2026-01-05T14:30:00Z", 1, 1, 1, 1), minute("2026-01-05T14:31:00Z", 1, 1, 1, 1), minute("2026-01-05T14:32:00Z", 1, 1, 1, 1), minute("2026-01-05T14:40:00Z", 1, 1, 1, 1)])).toBe(60_000)
    expect(barSpacing([])).toBeUndefined()
  })
})
