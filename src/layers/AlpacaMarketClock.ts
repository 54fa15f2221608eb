/**
 * The MarketClock port on Alpaca: time is Effect's Clock (so TestClock drives it); sessions come
 * from Alpaca's calendar (New York open/close, early closes included), cached per month.
 */
import { Clock, Effect, Layer } from "effect"
import type { ConfigError } from "../config/errors.js"
import { MarketClock, MarketClockError } from "../services/MarketClock.js"
import { AlpacaRateLimiter, makeAlpacaClient, type AlpacaSettings } from "./alpaca/client.js"
import { makeSessionCalendar } from "./alpaca/calendar.js"
import { isHealable } from "./alpaca/errors.js"

export const makeAlpacaMarketClock = (settings: AlpacaSettings) =>
  Effect.gen(function* () {
    const limiter = yield* AlpacaRateLimiter
    const client = yield* makeAlpacaClient(settings)
    const calendar = yield* makeSessionCalendar(client, limiter, settings)
    return MarketClock.of({
      now: Clock.currentTimeMillis,
      sessionAt: (time) =>
        calendar.sessionAt(time).pipe(
          Effect.map((session) => (session === undefined ? undefined : { open: session.open, close: session.close })),
          Effect.mapError((e) => new MarketClockError({ detail: e.message, transient: isHealable(e) }))
        )
    })
  })

/** The MarketClock port on Alpaca's calendar; needs the process-wide AlpacaRateLimiter. */
export const AlpacaMarketClockLive = (settings: AlpacaSettings): Layer.Layer<MarketClock, ConfigError, AlpacaRateLimiter> =>
  Layer.effect(MarketClock, makeAlpacaMarketClock(settings))
