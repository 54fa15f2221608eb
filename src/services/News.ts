import { Context, Data, Effect } from "effect"
import type { NewsEvent } from "../domain/News.js"

/**
 * The news source failed (network, a refused request, a bad file); `detail` says what, never a
 * secret. `transient`: the source is out (network, 5xx, 429), weather to wait out.
 */
export class NewsError extends Data.TaggedError("NewsError")<{ readonly detail: string; readonly transient?: boolean | undefined }> {
  override get message() {
    return `news: ${this.detail}`
  }
}

export interface NewsService {
  /**
   * Warm-up: the articles for `tickers` created in [from, to), each at its latest version as of
   * `to`, received at its `updated_at`. Live this is Alpaca's REST news (paginated); a replay reads
   * its file.
   */
  readonly history: (tickers: ReadonlyArray<string>, from: number, to: number) => Effect.Effect<ReadonlyArray<NewsEvent>, NewsError>
  /**
   * Every article version for the deployment's tickers that arrived since the last call, in arrival
   * order. Live: what the news stream delivered (received at the clock's time of arrival). A replay:
   * the file's versions whose `updated_at` is before `until`, received at their `updated_at`.
   */
  readonly take: (until: number) => Effect.Effect<ReadonlyArray<NewsEvent>, NewsError>
}

export class News extends Context.Tag("rl-paper-trader/News")<News, NewsService>() {}
