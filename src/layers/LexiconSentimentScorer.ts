import { createRequire } from "node:module"
import { Effect, Layer } from "effect"
import { articleSentiment } from "../core/lexicon-sentiment.js"
import { SentimentScorer, type SentimentScorerService } from "../services/SentimentScorer.js"

export { articleSentiment, lexiconSentiment } from "../core/lexicon-sentiment.js"

const LEXICON_PACKAGE = "afinn-165-financialmarketnews"

/** The installed lexicon's version: a new lexicon is a new scorer, so cached scores are not mixed. */
const lexiconVersion: string = (createRequire(import.meta.url)(`${LEXICON_PACKAGE}/package.json`) as { version: string }).version

export const LEXICON_SCORER_ID = `lexicon:${LEXICON_PACKAGE}@${lexiconVersion}`

/** The default scorer: offline, deterministic, no model to download. */
export const lexiconSentimentScorer: SentimentScorerService = {
  id: LEXICON_SCORER_ID,
  score: (items) => Effect.sync(() => items.map(articleSentiment))
}

export const LexiconSentimentScorerLive: Layer.Layer<SentimentScorer> = Layer.succeed(SentimentScorer, SentimentScorer.of(lexiconSentimentScorer))
