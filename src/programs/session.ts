import { Effect, Stream } from "effect"
import type { BarSlice } from "../domain/Trading.js"
import { MarketClock } from "../services/MarketClock.js"
import { MarketReplay } from "../services/MarketData.js"
import { type SessionSettings, startSession } from "./decide.js"

export * from "./decide.js"

/**
 * A session over a replayed market, one slice at a time: journal the broker's trade updates, feed
 * every ticker's bar to its indicators, decide under the market-hours rules, submit. Sequential, so a fast-forward clock makes
 * it a deterministic backtest; live trading drives the same decision core from per-ticker actors.
 */
export const runSession = (settings: SessionSettings) =>
  Effect.gen(function* () {
    const replay = yield* MarketReplay
    const marketClock = yield* MarketClock
    const session = yield* startSession(settings)
    const step = (slice: BarSlice) =>
      Effect.gen(function* () {
        yield* session.journalUpdates
        for (const ticker of session.tickers) {
          const bar = slice.bars.get(ticker)
          if (bar !== undefined) yield* session.observe(ticker, bar)
        }
        const holds = session.tickers.filter((t) => !slice.bars.has(t)).map((ticker) => ({ ticker, reason: "no bar for this step" }))
        const before = session.steps()
        const market = yield* marketClock.sessionAt(slice.time)
        const close = market?.close ?? Infinity
        const requests = yield* session.decideInSession(slice.time, Math.min(slice.time + session.span, close), close, slice.bars, holds)
        for (const request of requests) yield* session.submit(request)
        yield* session.journalUpdates
        if (session.steps() > before) yield* session.markEquity
      })
    yield* replay.slices(session.tickers, settings.interval, settings.until).pipe(
      Stream.runForEachWhile((slice) => step(slice).pipe(Effect.map(() => settings.maxSteps === undefined || session.steps() < settings.maxSteps)))
    )
    return yield* session.finish
  })
