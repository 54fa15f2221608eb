import { Context, Data, Effect, Stream } from "effect"
import type { Interval } from "../domain/Config.js"
import type { Bar, BarSlice } from "../domain/Trading.js"

/** Market data could not be had (network, 5xx, stream down): may heal, retried by the caller. */
export class MarketDataError extends Data.TaggedError("MarketDataError")<{
  readonly detail: string
  readonly ticker?: string | undefined
  readonly status?: number | undefined
}> {
  override get message() {
    return this.ticker === undefined ? `market data: ${this.detail}` : `market data for ${this.ticker}: ${this.detail}`
  }
}

export interface MarketDataService {
  /**
   * Up to `count` completed bars of each ticker that started before `before` (epoch ms) and closed
   * by it, oldest first: indicator warm-up. Paginates as needed.
   */
  readonly history: (
    tickers: ReadonlyArray<string>,
    interval: Interval,
    before: number,
    count: number
  ) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<Bar>>, MarketDataError>
  /**
   * One ticker's completed bars of `interval` from now on, each as soon as it has closed (live:
   * from the websocket, minute bars aggregated to the interval; reconnects on its own).
   */
  readonly live: (ticker: string, interval: Interval) => Stream.Stream<Bar, MarketDataError>
  /** The completed bar of `ticker` that starts at `time`, if the market has published it (REST fallback). */
  readonly barAt: (ticker: string, interval: Interval, time: number) => Effect.Effect<Bar | undefined, MarketDataError>
}

export class MarketData extends Context.Tag("rl-paper-trader/MarketData")<MarketData, MarketDataService>() {}

/** A replayed market, for sequential simulation: every ticker's bars, one slice per bar time. */
export interface MarketReplayService {
  /** Slices from the clock's now on (until `until`, exclusive), each emitted once its bars have closed by Effect's Clock. */
  readonly slices: (tickers: ReadonlyArray<string>, interval: Interval, until?: number) => Stream.Stream<BarSlice>
}

export class MarketReplay extends Context.Tag("rl-paper-trader/MarketReplay")<MarketReplay, MarketReplayService>() {}

/** A bars file is unusable (missing, malformed rows): bad input, the CLI exits 2. */
export class BarsFileError extends Data.TaggedError("BarsFileError")<{
  readonly file: string
  readonly problems: ReadonlyArray<{ readonly line: number; readonly message: string }>
}> {
  override get message() {
    const shown = this.problems.slice(0, 5).map((p) => (p.line > 0 ? `${this.file}:${p.line}: ${p.message}` : `${this.file}: ${p.message}`))
    const more = this.problems.length > 5 ? `\n… and ${this.problems.length - 5} more problems` : ""
    return shown.join("\n") + more
  }
}
