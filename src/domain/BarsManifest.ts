import { Schema } from "effect"
import { Ticker } from "./Config.js"

/** The file in a bars folder that says what `download` fetched into it. */
export const BARS_MANIFEST = "download.json"

const IsoTime = Schema.String.pipe(Schema.filter((s) => Number.isFinite(Date.parse(s)), { message: () => "an ISO date-time" }))

/**
 * `download.json`: where the bars came from (all of a folder's bars come from one feed, adjustment
 * and timeframe) and, per ticker, the time ranges [from, to) fetched so far, bars or not.
 */
export const BarsManifest = Schema.Struct({
  source: Schema.Literal("alpaca"),
  feed: Schema.Literal("iex", "sip"),
  adjustment: Schema.Literal("raw", "split", "dividend", "all"),
  timeframe: Schema.Literal("1Min", "1Day"),
  fetched: Schema.Record({ key: Ticker, value: Schema.Array(Schema.Tuple(IsoTime, IsoTime)) })
})
export type BarsManifest = typeof BarsManifest.Type
