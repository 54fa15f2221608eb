import { Clock, Effect, Layer } from "effect"
import { newYorkDay } from "../core/aggregate.js"
import type { MarketSession } from "../services/MarketClock.js"
import { MarketClock } from "../services/MarketClock.js"
import { SimExchange } from "./SimExchange.js"

/**
 * Market hours of the replayed tape: each New York date with bars is a session, opening at its
 * first bar and closing at its last bar's end (so early closes in the data are honoured).
 */
export const SimMarketClockLive = (intervalMs: number) =>
  Layer.effect(
    MarketClock,
    Effect.gen(function* () {
      const { tape } = yield* SimExchange
      const sessions: Array<MarketSession> = []
      for (const time of tape.times) {
        const last = sessions[sessions.length - 1]
        if (last !== undefined && newYorkDay(last.open) === newYorkDay(time)) sessions[sessions.length - 1] = { open: last.open, close: time + intervalMs }
        else sessions.push({ open: time, close: time + intervalMs })
      }
      return MarketClock.of({
        now: Clock.currentTimeMillis,
        sessionAt: (time) => Effect.succeed(sessions.find((s) => s.close > time))
      })
    })
  )
