import { Context, Data, Effect, Stream } from "effect"
import type { Interval } from "../domain/Config.js"
import type { Bar, BarSlice } from "../domain/Trading.js"

export class MarketDataError extends Data.TaggedError("MarketDataError")<{
  readonly detail: string
  readonly ticker?: string | undefined
}> {
  override get message() {
    return this.ticker === undefined ? `market data: ${this.detail}` : `market data for ${this.ticker}: ${this.detail}`
  }
}

export interface MarketDataService {
  /** Up to `count` completed bars of each ticker ending before `before` (epoch ms), oldest first: indicator warm-up. */
  readonly history: (
    tickers: ReadonlyArray<string>,
    interval: Interval,
    before: number,
    count: number
  ) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<Bar>>, MarketDataError>
  /** Completed bars from now on, one slice per bar time, each emitted once its bars have closed. */
  readonly bars: (tickers: ReadonlyArray<string>, interval: Interval) => Stream.Stream<BarSlice, MarketDataError>
}

export class MarketData extends Context.Tag("rl-paper-trader/MarketData")<MarketData, MarketDataService>() {}

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
