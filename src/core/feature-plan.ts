import type { IndicatorSpec } from "../domain/Config.js"
import { looksLikeNewsFeature, type NewsFeature, parseNewsFeature } from "./news-features.js"

/**
 * A model's per-ticker features (`tech_indicators`, in the model's order) split into the indicators
 * the FeatureEngine computes from bars and the news features computed from articles (FinRL's
 * sentiment columns sit in the same list). `slots[k]` says where the k-th feature comes from.
 */
export interface FeaturePlan {
  readonly names: ReadonlyArray<string>
  readonly indicators: ReadonlyArray<IndicatorSpec>
  readonly news: ReadonlyArray<NewsFeature>
  readonly slots: ReadonlyArray<{ readonly news: boolean; readonly index: number }>
}

const specName = (spec: IndicatorSpec): string => (typeof spec === "string" ? spec : spec.name)

/** The plan for a feature list, or a message naming the first news feature name that is malformed. */
export const planFeatures = (specs: ReadonlyArray<IndicatorSpec>): FeaturePlan | string => {
  const indicators: Array<IndicatorSpec> = []
  const news: Array<NewsFeature> = []
  const slots: Array<{ news: boolean; index: number }> = []
  for (const spec of specs) {
    const name = specName(spec)
    const feature = typeof spec === "string" ? parseNewsFeature(spec) : undefined
    if (feature !== undefined) {
      slots.push({ news: true, index: news.length })
      news.push(feature)
      continue
    }
    if (typeof spec === "string" && looksLikeNewsFeature(spec)) {
      return `"${spec}" is not a news feature: use sentiment_mean_<W>, sentiment_decayed_<W> or news_count_<W>, W a whole number of m, h or d (e.g. sentiment_mean_60m)`
    }
    slots.push({ news: false, index: indicators.length })
    indicators.push(spec)
  }
  return { names: specs.map(specName), indicators, news, slots }
}

/** One ticker's feature vector in the model's order, from its indicator values and its news feature values. */
export const mergeFeatures = (plan: FeaturePlan, indicators: ReadonlyArray<number>, news: ReadonlyArray<number>): ReadonlyArray<number> =>
  plan.news.length === 0 ? indicators : plan.slots.map((s) => (s.news ? news[s.index] : indicators[s.index]))
