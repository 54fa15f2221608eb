import { Clock, Effect, Stream } from "effect"
import { nyDate } from "../core/nytime.js"
import type { BarSlice } from "../domain/Trading.js"
import { MarketClock } from "../services/MarketClock.js"
import { MarketData, MarketReplay } from "../services/MarketData.js"
import { noProgress, Progress } from "../services/Progress.js"
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
    const progress = yield* Progress
    // counted only when something shows it: one pass over the bars the replay will give
    const total = progress === noProgress ? undefined : yield* barTimesAhead(session.tickers, session.span, settings)
    yield* progress.start("backtest", total)
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
      Stream.runForEachWhile((slice) =>
        step(slice).pipe(
          Effect.zipLeft(progress.advance(1, nyDate(slice.time))),
          Effect.map(() => settings.maxSteps === undefined || session.steps() < settings.maxSteps)
        )
      ),
      Effect.ensuring(progress.done)
    )
    return yield* session.finish
  })

/**
 * How many bar times the replay has from the clock's now until `until`: the bars the market data
 * holds of the tickers (as the replay's slices, one per bar time); `undefined` if it cannot say.
 */
const barTimesAhead = (tickers: ReadonlyArray<string>, span: number, settings: SessionSettings) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const until = settings.until ?? Infinity
    // `history` gives the bars that started before `before - span + 1`: here, before `until`
    const bars = yield* (yield* MarketData).history(tickers, settings.interval, until + span - 1, Number.MAX_SAFE_INTEGER)
    const times = new Set<number>()
    for (const series of bars.values()) for (const bar of series) if (bar.time + span > now && bar.time < until) times.add(bar.time)
    return times.size
  }).pipe(Effect.orElseSucceed(() => undefined))
