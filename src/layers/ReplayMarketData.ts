import { Clock, Context, Effect, Layer, Stream } from "effect"
import type { Bar } from "../core/bar.js"
import { intervalMillis } from "../domain/Config.js"
import type { BarSlice } from "../domain/Trading.js"
import { MarketData, MarketReplay } from "../services/MarketData.js"
import { SimExchange } from "./SimExchange.js"

/** Index of the first bar starting at or after `time`. */
const firstAtOrAfter = (bars: ReadonlyArray<Bar>, time: number): number => {
  let lo = 0
  let hi = bars.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bars[mid].time < time) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Sleeps (on Effect's Clock) until `time`. */
const sleepUntil = (time: number) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => (time > now ? Effect.sleep(time - now) : Effect.void))

/**
 * Replays the tape as the market. A bar is published when it has closed by Effect's Clock (start +
 * interval); the simulated book sees each bar as it is published, so orders placed before it fill
 * at its open. Bars that closed before the clock's start are history.
 */
export const ReplayMarketDataLive = Layer.effectContext(
  Effect.gen(function* () {
    const { book, tape } = yield* SimExchange
    const series = (ticker: string) => tape.byTicker.get(ticker) ?? []

    const marketData = MarketData.of({
      history: (tickers, interval, before, count) =>
        Effect.sync(() => {
          const span = intervalMillis[interval]
          const out = new Map<string, ReadonlyArray<Bar>>()
          for (const ticker of tickers) {
            const bars = series(ticker)
            const end = firstAtOrAfter(bars, before - span + 1)
            out.set(ticker, bars.slice(Math.max(0, end - count), end))
          }
          return out
        }),
      live: (ticker, interval) => {
        const span = intervalMillis[interval]
        return Stream.fromEffect(Clock.currentTimeMillis).pipe(
          Stream.flatMap((start) => Stream.fromIterable(series(ticker).slice(firstAtOrAfter(series(ticker), start - span + 1)))),
          Stream.mapEffect((bar) => sleepUntil(bar.time + span).pipe(Effect.as(bar), Effect.tap((b) => Effect.sync(() => book.onBar(ticker, b)))))
        )
      },
      barAt: (ticker, interval, time) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const bars = series(ticker)
          const bar = bars[firstAtOrAfter(bars, time)]
          return bar !== undefined && bar.time === time && time + intervalMillis[interval] <= now ? bar : undefined
        })
    })

    const replay = MarketReplay.of({
      slices: (tickers, interval, until = Infinity) => {
        const span = intervalMillis[interval]
        const cursors = new Map(tickers.map((t) => [t, 0]))
        return Stream.fromEffect(Clock.currentTimeMillis).pipe(
          Stream.flatMap((start) => Stream.fromIterable(tape.times.filter((t) => t + span > start && t < until))),
          Stream.mapEffect((time) =>
            sleepUntil(time + span).pipe(
              Effect.map(() => {
                const bars = new Map<string, Bar>()
                for (const ticker of tickers) {
                  const bs = series(ticker)
                  let i = cursors.get(ticker)!
                  while (i < bs.length && bs[i].time < time) i++
                  if (i < bs.length && bs[i].time === time) {
                    bars.set(ticker, bs[i])
                    book.onBar(ticker, bs[i])
                    i++
                  }
                  cursors.set(ticker, i)
                }
                const slice: BarSlice = { time, bars }
                return slice
              })
            )
          )
        )
      }
    })
    return Context.make(MarketData, marketData).pipe(Context.add(MarketReplay, replay))
  })
)
