import type { Bar } from "../bar.js"

/** An incremental indicator: one O(1)-state update per bar, in time order. */
export interface IndicatorStream {
  /** Consumes the next bar and returns the indicator value at it; NaN while undefined (warm-up). */
  next(bar: Bar): number
}

export interface IndicatorDefinition {
  /** Output column name. */
  readonly name: string
  /** Bars needed until the value is warm (its full lookback has been seen). */
  readonly warmupBars: number
  /** A fresh stream with independent state. */
  create(): IndicatorStream
}

/**
 * A stockstats/FinRL name (`"rsi_30"`, `"macd"`, ...) or a technicalindicators spec
 * (`{ name: "RSI", period: 14 }`); an object may rename its column with `as`.
 */
export type IndicatorSpec = string | { readonly name: string; readonly [param: string]: unknown }
