import { Context, Data, Effect } from "effect"
import type { NewsEvent } from "../domain/News.js"

/** A scorer could not be loaded or failed on a text; `detail` names the file or the article. */
export class SentimentError extends Data.TaggedError("SentimentError")<{ readonly detail: string }> {
  override get message() {
    return `sentiment: ${this.detail}`
  }
}

export interface SentimentScorerService {
  /** Names the scorer and its model, e.g. `lexicon:afinn-165-financialmarketnews` or `onnx:<sha256 prefix>`: cached scores are kept per scorer. */
  readonly id: string
  /** One score per article version, in [-1, 1] (negative … positive), from its headline and summary. */
  readonly score: (items: ReadonlyArray<NewsEvent>) => Effect.Effect<ReadonlyArray<number>, SentimentError>
}

export class SentimentScorer extends Context.Tag("rl-paper-trader/SentimentScorer")<SentimentScorer, SentimentScorerService>() {}
