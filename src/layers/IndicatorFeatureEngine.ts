import { Effect, Layer } from "effect"
import type { Bar } from "../core/bar.js"
import { type IndicatorDefinition, type IndicatorStream, resolveIndicator } from "../core/indicators/index.js"
import { planFeatures } from "../core/feature-plan.js"
import type { IndicatorSpec } from "../domain/Config.js"
import { FeatureEngine, FeatureError } from "../services/FeatureEngine.js"


/**
 * Resolves the indicator specs of a feature list, or fails naming the first one that is unknown or
 * malformed. News features in the list (`sentiment_mean_60m`, …) are not indicators: they are left
 * out here and computed by the session from the news (see core/feature-plan.ts).
 */
export const resolveIndicators = (specs: ReadonlyArray<IndicatorSpec>): ReadonlyArray<IndicatorDefinition> | string => {
  const plan = planFeatures(specs)
  if (typeof plan === "string") return plan
  const defs: Array<IndicatorDefinition> = []
  for (const spec of plan.indicators) {
    const resolved = resolveIndicator(spec)
    if (!resolved.ok) return resolved.error
    defs.push(resolved.value)
  }
  return defs
}

/** Per-ticker incremental indicator state, fed one completed bar at a time. */
export const IndicatorFeatureEngineLive = (tickers: ReadonlyArray<string>, definitions: ReadonlyArray<IndicatorDefinition>) =>
  Layer.sync(FeatureEngine, () => {
    const state = new Map<string, { streams: ReadonlyArray<IndicatorStream>; seen: number; lastTime: number }>(
      tickers.map((t) => [t, { streams: definitions.map((d) => d.create()), seen: 0, lastTime: -Infinity }])
    )
    const warmupBars = Math.max(0, ...definitions.map((d) => d.warmupBars))
    return FeatureEngine.of({
      indicatorNames: definitions.map((d) => d.name),
      warmupBars,
      update: (ticker: string, bar: Bar) =>
        Effect.suspend(() => {
          const s = state.get(ticker)
          if (s === undefined) return Effect.fail(new FeatureError({ ticker, detail: "not a ticker of this deployment" }))
          if (!(bar.time > s.lastTime)) {
            return Effect.fail(new FeatureError({ ticker, detail: `bar at ${new Date(bar.time).toISOString()} is not after the previous one` }))
          }
          s.lastTime = bar.time
          s.seen++
          const values = s.streams.map((stream) => stream.next(bar))
          return Effect.succeed({
            ticker,
            time: bar.time,
            close: bar.close,
            values,
            warm: s.seen >= warmupBars && values.every((v) => Number.isFinite(v))
          })
        })
    })
  })
