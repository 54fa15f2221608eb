import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, TestClock } from "effect"
import type { Bar } from "../../src/core/bar.js"
import { startEmulator, type EmulatorMiddleware } from "../../src/emulator/index.js"
import { AlpacaMarketClockLive } from "../../src/layers/AlpacaMarketClock.js"
import { AlpacaRateLimiterLive } from "../../src/layers/alpaca/client.js"
import { alpacaSettingsForEmulator } from "../../src/cli/alpaca-emulator.js"
import { MarketClock } from "../../src/services/MarketClock.js"

const MIN = 60_000

/** `count` 1-minute bars from `start`. */
const minutes = (start: number, count: number): Bar[] =>
  Array.from({ length: count }, (_, i) => ({ time: start + i * MIN, open: 10, high: 11, low: 9, close: 10, volume: 1 }))

// The emulator's sessions run from a day's first bar to its last bar's end, served as New York HH:MM.
/** Fri 2024-03-08 09:30–09:35 New York, still EST (UTC−5). */
const MAR_8_OPEN = Date.UTC(2024, 2, 8, 14, 30)
/** Mon 2024-03-11 09:30–09:35 New York, now EDT (UTC−4): the same wall time, an hour earlier in UTC. */
const MAR_11_OPEN = Date.UTC(2024, 2, 11, 13, 30)
/** Fri 2024-11-29, the day after Thanksgiving: 12:55–13:00 New York (EST), an early close. */
const NOV_29_OPEN = Date.UTC(2024, 10, 29, 17, 55)

const bars = () => new Map([["AAA", [...minutes(MAR_8_OPEN, 5), ...minutes(MAR_11_OPEN, 5), ...minutes(NOV_29_OPEN, 5)]]])

const setup = Effect.gen(function* () {
  const calendarRequests: Array<string> = []
  const watch: EmulatorMiddleware = {
    http: (req, next) => {
      if (req.path === "/v2/calendar") calendarRequests.push(`${req.query.get("start")?.slice(0, 10)}..${req.query.get("end")?.slice(0, 10)}`)
      return next()
    }
  }
  const emu = yield* Effect.acquireRelease(
    Effect.promise(() => startEmulator({ bars: bars(), port: 0, now: () => 0, middleware: [watch] })),
    (e) => Effect.promise(() => e.close())
  )
  const settings = alpacaSettingsForEmulator(emu)
  const context = yield* Layer.build(AlpacaMarketClockLive(settings).pipe(Layer.provide(AlpacaRateLimiterLive(settings))))
  return { clock: Context.get(context, MarketClock), calendarRequests }
})

describe("AlpacaMarketClock against the emulator", { timeout: 20_000 }, () => {
  it.scoped("now is Effect's Clock", () =>
    Effect.gen(function* () {
      const { clock } = yield* setup
      yield* TestClock.setTime(MAR_8_OPEN + 90_000)
      expect(yield* clock.now).toBe(MAR_8_OPEN + 90_000)
    }))

  it.scoped("sessions from Alpaca's calendar: New York times to epoch ms across DST, early closes, none after the end", () =>
    Effect.gen(function* () {
      const { clock, calendarRequests } = yield* setup
      const mar8 = { open: MAR_8_OPEN, close: MAR_8_OPEN + 5 * MIN }
      const mar11 = { open: MAR_11_OPEN, close: MAR_11_OPEN + 5 * MIN }
      const nov29 = { open: NOV_29_OPEN, close: Date.UTC(2024, 10, 29, 18, 0) }

      expect(yield* clock.sessionAt(MAR_8_OPEN + 2 * MIN)).toEqual(mar8)
      expect(yield* clock.sessionAt(Date.UTC(2024, 2, 1))).toEqual(mar8)
      // At the close the session is over: the next one is after the weekend and the DST change.
      expect(yield* clock.sessionAt(mar8.close)).toEqual(mar11)
      expect(yield* clock.sessionAt(Date.UTC(2024, 2, 9, 12))).toEqual(mar11)
      // Months without sessions are skipped.
      expect(yield* clock.sessionAt(mar11.close)).toEqual(nov29)
      expect(yield* clock.sessionAt(NOV_29_OPEN + MIN)).toEqual(nov29)
      expect(yield* clock.sessionAt(nov29.close)).toBeUndefined()

      // One request per calendar month, cached.
      const before = calendarRequests.length
      expect(calendarRequests).toContain("2024-03-01..2024-03-31")
      yield* clock.sessionAt(MAR_8_OPEN + 2 * MIN)
      yield* clock.sessionAt(mar8.close)
      expect(calendarRequests.length).toBe(before)
      expect(new Set(calendarRequests).size).toBe(calendarRequests.length)
    }))
})
