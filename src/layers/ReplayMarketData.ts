import { Clock, Effect, Layer, Stream } from "effect"
import type { Bar } from "../core/bar.js"
import { intervalMillis } from "../domain/Config.js"
import type { BarSlice } from "../domain/Trading.js"
import { MarketData } from "../services/MarketData.js"
import { SimExchange } from "./SimExchange.js"

const lastIndexBefore = (bars: ReadonlyArray<Bar>, time: number): number => {
  let lo = 0
  let hi = bars.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bars[mid].time < time) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Replays the tape as the market: each bar time's slice is emitted once its bars have closed by
 * Effect's Clock (bar start + interval), after the simulated book has seen those bars, so orders
 * placed on the previous slice are filled first. Bars that closed before the clock's start are history.
 */
export const ReplayMarketDataLive = Layer.effect(
  MarketData,
  Effect.gen(function* () {
    const { book, tape } = yield* SimExchange
    return MarketData.of({
      history: (tickers, interval, before, count) =>
        Effect.sync(() => {
          const span = intervalMillis[interval]
          const out = new Map<string, ReadonlyArray<Bar>>()
          for (const ticker of tickers) {
            const bars = tape.byTicker.get(ticker) ?? []
            const end = lastIndexBefore(bars, before - span + 1)
            out.set(ticker, bars.slice(Math.max(0, end - count), end))
          }
          return out
        }),
      bars: (tickers, interval) => {
        const span = intervalMillis[interval]
        const cursors = new Map(tickers.map((t) => [t, 0]))
        return Stream.fromEffect(Clock.currentTimeMillis).pipe(
          Stream.flatMap((start) => {
            const times = tape.times.filter((t) => t + span > start)
            return Stream.fromIterable(times).pipe(
              Stream.mapEffect((time) =>
                Effect.gen(function* () {
                  const now = yield* Clock.currentTimeMillis
                  if (time + span > now) yield* Effect.sleep(time + span - now)
                  const bars = new Map<string, Bar>()
                  for (const ticker of tickers) {
                    const series = tape.byTicker.get(ticker) ?? []
                    let i = cursors.get(ticker)!
                    while (i < series.length && series[i].time < time) i++
                    if (i < series.length && series[i].time === time) {
                      bars.set(ticker, series[i])
                      book.onBar(ticker, series[i])
                      i++
                    }
                    cursors.set(ticker, i)
                  }
                  const slice: BarSlice = { time, bars }
                  return slice
                })
              )
            )
          })
        )
      }
    })
  })
)
