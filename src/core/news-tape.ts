import type { NewsEvent } from "../domain/News.js"
import { versionKey } from "../domain/News.js"
import { type FeaturePlan, mergeFeatures } from "./feature-plan.js"
import { NewsBook, newsFeatureValues, newsLookbackMs } from "./news-features.js"
import type { TrainingTape } from "./training.js"

/**
 * A training tape with the news features merged in, each bar's computed as a backtest computes it
 * at the bar's close: from the article versions received before it (a replay receives a version at
 * its `updated_at`), so training sees no more than trading will.
 */
export const withNewsFeatures = (
  tape: TrainingTape,
  plan: FeaturePlan,
  events: ReadonlyArray<NewsEvent>,
  scores: ReadonlyMap<string, number>,
  spanMs: number
): TrainingTape => {
  if (plan.news.length === 0) return tape
  const book = new NewsBook(tape.tickers)
  const lookback = newsLookbackMs(plan.news)
  const ordered = [...events].sort((a, b) => a.receivedAt - b.receivedAt)
  let next = 0
  const features = tape.bars.map((row, t) => {
    const close = row[0].time + spanMs
    while (next < ordered.length && ordered[next].receivedAt < close) book.add(ordered[next++])
    return tape.tickers.map((ticker, i) => {
      const visible = book.visible(ticker, close, lookback)
      const news = newsFeatureValues(plan.news, visible, (e) => scores.get(versionKey(e)) ?? 0, close)
      return mergeFeatures(plan, tape.features[t][i], news)
    })
  })
  return { ...tape, features }
}
