import { Context, type Effect } from "effect"
import type { Bar } from "../core/bar.js"
import type { DownloadTimeframe } from "../core/bars-folder.js"
import type { ConfigError } from "../config/errors.js"
import type { KeysRefused } from "./Broker.js"
import type { MarketDataError } from "./MarketData.js"

/** One historical bars request: several symbols, one time range, paginated by the adapter. */
export interface HistoryQuery {
  readonly symbols: ReadonlyArray<string>
  readonly timeframe: DownloadTimeframe
  /** Bars starting in [start, end), epoch ms. */
  readonly start: number
  readonly end: number
  readonly feed: "iex" | "sip"
  readonly adjustment: "raw" | "split" | "dividend" | "all"
  /** Called after every page with the bars received so far for this query. */
  readonly onPage?: ((bars: number) => Effect.Effect<void>) | undefined
}

export interface BarHistoryService {
  /** Every bar of every symbol in the range, oldest first per symbol; a symbol without bars is absent. */
  readonly bars: (query: HistoryQuery) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<Bar>>, MarketDataError | KeysRefused | ConfigError>
}

/** Historical bars, for `download`: the port; Alpaca's is src/layers/AlpacaHistory.ts. */
export class BarHistory extends Context.Tag("rl-paper-trader/BarHistory")<BarHistory, BarHistoryService>() {}
