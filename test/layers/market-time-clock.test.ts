import { describe, expect, it, vi } from "vitest"
import { Clock, Effect } from "effect"
import { makeMarketTimeClock } from "../../src/layers/MarketTimeClock.js"

describe("MarketTimeClock", () => {
  it("anchors market time to the broker's and runs it `speed` times faster", () => {
    let real = 1_000
    const clock = makeMarketTimeClock({ marketStart: 5_000_000, speed: 60, realNow: () => real })
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_000_000)
    real += 1_000
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_060_000)
    expect(Effect.runSync(Effect.withClock(Clock.currentTimeMillis, clock))).toBe(5_060_000)
  })

  it("sleeps a market duration for duration / speed of real time", async () => {
    vi.useFakeTimers()
    try {
      const clock = makeMarketTimeClock({ marketStart: 0, speed: 1000 })
      let done = false
      const sleeping = Effect.runPromise(Effect.withClock(Effect.sleep("20 seconds"), clock)).then(() => (done = true))
      await vi.advanceTimersByTimeAsync(19)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(2)
      await sleeping
      expect(done).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })
})
