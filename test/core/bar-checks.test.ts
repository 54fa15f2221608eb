import { describe, expect, it } from "vitest"
import { validateBar } from "../../src/core/bar-checks.js"

const good = { time: 1_700_000_000_000, open: 10, high: 11, low: 9, close: 10.5, volume: 100 }

describe("validateBar", () => {
  it("accepts a consistent bar", () => {
    expect(validateBar(good)).toBeUndefined()
    expect(validateBar({ ...good, volume: 0, open: 9, close: 11 })).toBeUndefined()
  })

  it("names what is wrong", () => {
    expect(validateBar({ ...good, close: Number.NaN })).toBe("close is not a finite number")
    expect(validateBar({ ...good, volume: Infinity })).toBe("volume is not a finite number")
    expect(validateBar({ ...good, time: Number.NaN })).toBe("time is not a finite number")
    expect(validateBar({ ...good, low: 0 })).toBe("a price is zero or negative")
    expect(validateBar({ ...good, open: -1 })).toBe("a price is zero or negative")
    expect(validateBar({ ...good, volume: -5 })).toBe("volume is negative")
    expect(validateBar({ ...good, high: 8.5, low: 9 })).toBe("high < low")
    expect(validateBar({ ...good, close: 11.5 })).toBe("open or close outside [low, high]")
    expect(validateBar({ ...good, open: 8.9 })).toBe("open or close outside [low, high]")
  })
})
