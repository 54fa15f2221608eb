import { Layer } from "effect"
import type { Deployment } from "../config/deployment.js"
import { LexiconSentimentScorerLive } from "../layers/LexiconSentimentScorer.js"
import { OnnxSentimentScorerLive } from "../layers/OnnxSentimentScorer.js"
import { ReplayNewsLive } from "../layers/ReplayNews.js"
import { SentimentScoreCacheLive } from "../layers/SentimentScoreCache.js"

type NewsSettings = NonNullable<Deployment["news"]>

/** The deployment's scorer (lexicon or its ONNX folder), behind the score cache. */
export const sentimentScorerLayer = (news: NewsSettings) =>
  SentimentScoreCacheLive(news.cache).pipe(Layer.provide(news.scorer === "lexicon" ? LexiconSentimentScorerLive : OnnxSentimentScorerLive(news.scorer.onnx)))

/** News replayed from the deployment's file, scored: what a backtest of a model with news features reads. */
export const replayNewsLayer = (news: NewsSettings & { readonly file: string }, tickers: ReadonlyArray<string>) =>
  Layer.merge(ReplayNewsLive(news.file, tickers), sentimentScorerLayer(news))
