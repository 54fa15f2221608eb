import { Context, Data, Effect } from "effect"
import type { Bar } from "../domain/Trading.js"

export class FeatureError extends Data.TaggedError("FeatureError")<{ readonly ticker: string; readonly detail: string }> {
  override get message() {
    return `features for ${this.ticker}: ${this.detail}`
  }
}

/** One ticker's features after a bar, indicators in the model's order. */
export interface TickerFeatures {
  readonly ticker: string
  readonly time: number
  readonly close: number
  readonly values: ReadonlyArray<number>
  /** Every indicator has seen its full look-back. */
  readonly warm: boolean
}

export interface FeatureEngineService {
  readonly indicatorNames: ReadonlyArray<string>
  /** The longest warm-up of any indicator, in bars. */
  readonly warmupBars: number
  /** Feeds one completed bar to the ticker's indicators (O(1) per bar). */
  readonly update: (ticker: string, bar: Bar) => Effect.Effect<TickerFeatures, FeatureError>
}

export class FeatureEngine extends Context.Tag("rl-paper-trader/FeatureEngine")<FeatureEngine, FeatureEngineService>() {}
