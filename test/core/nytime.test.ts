import { describe, expect, it } from "vitest"
import { formatNy, nyDate, nyHourMinute, nyMidnight, nyWallToEpoch } from "../../src/core/nytime.js"

describe("New York time", () => {
  it("converts wall-clock times across daylight saving", () => {
    expect(new Date(nyWallToEpoch("2026-01-05", "09:30")!).toISOString()).toBe("2026-01-05T14:30:00.000Z")
    expect(new Date(nyWallToEpoch("2026-07-06", "09:30")!).toISOString()).toBe("2026-07-06T13:30:00.000Z")
    // the Sunday DST starts (2026-03-08): midnight is still EST, the afternoon EDT
    expect(new Date(nyMidnight("2026-03-08")).toISOString()).toBe("2026-03-08T05:00:00.000Z")
    expect(new Date(nyWallToEpoch("2026-03-08", "13:00")!).toISOString()).toBe("2026-03-08T17:00:00.000Z")
    expect(nyWallToEpoch("2026-02-30", "09:30")).toBeUndefined()
    expect(nyWallToEpoch("2026-01-05", "9h30")).toBeUndefined()
  })

  it("reads dates and times back, and formats with the offset as Alpaca does", () => {
    const t = Date.parse("2026-01-06T01:15:00Z")
    expect(nyDate(t)).toBe("2026-01-05")
    expect(nyHourMinute(t)).toBe("20:15")
    expect(formatNy(Date.parse("2026-01-05T14:30:00Z"))).toBe("2026-01-05T09:30:00-05:00")
    expect(formatNy(Date.parse("2026-07-06T13:30:00.250Z"))).toBe("2026-07-06T09:30:00.250-04:00")
  })
})
