import { Effect, Stream } from "effect"
import type { BarSlice } from "../domain/Trading.js"
import { MarketClock } from "../services/MarketClock.js"
import { MarketReplay } from "../services/MarketData.js"
import { type SessionSettings, startSession } from "./decide.js"

export * from "./decide.js"

/**
 * A session over a replayed market, one slice at a time: book the broker's trade updates, run the
 * one decision step on the slice, submit its orders, book their fills, reconcile the ledger with
 * the broker. Sequential, so a fast-forward clock makes it a deterministic backtest; live trading
 * drives the same step from per-ticker actors.
 */
export const runSession = (settings: SessionSettings) =>
  Effect.gen(function* () {
    const replay = yield* MarketReplay
    const marketClock = yield* MarketClock
    const session = yield* startSession({ ...settings, mode: "backtest" })
    const step = (slice: BarSlice) =>
      Effect.gen(function* () {
        yield* session.applyUpdates
        const holds = session.tickers.filter((t) => !slice.bars.has(t)).map((ticker) => ({ ticker, reason: "no bar for this step" }))
        const before = session.steps()
        const market = yield* marketClock.sessionAt(slice.time)
        const close = market?.close ?? Infinity
        const observeOnly = settings.decideOn !== undefined && !settings.decideOn.has(slice.time)
        const requests = yield* session.step({ barTime: slice.time, barEnd: Math.min(slice.time + session.span, close), close, bars: slice.bars, holds, observeOnly })
        for (const request of requests) yield* session.submit(request)
        yield* session.reconcile
        if (session.steps() > before) yield* session.markEquity
        // the session's last bar: what a flatten left behind is journaled, as live
        if (!observeOnly && slice.time + session.span >= close) yield* session.atClose(close)
      })
    yield* replay.slices(session.tickers, settings.interval, settings.until).pipe(
      Stream.runForEachWhile((slice) => step(slice).pipe(Effect.map(() => settings.maxSteps === undefined || session.steps() < settings.maxSteps)))
    )
    return yield* session.finish
  })
