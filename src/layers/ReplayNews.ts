/**
 * The News port over a news file (JSON lines, src/core/news-file.ts), read once when the layer is
 * built. Every version is received at its `updated_at`, so a replay sees an article exactly when
 * the live stream would have delivered it, and never before.
 *
 * - history(tickers, from, to): the articles mentioning any of `tickers` created in [from, to), each
 *   at its latest version updated at or before `to`.
 * - take(until): the versions updated before `until` not returned before, in file order, mentioning
 *   a deployment ticker. A version older than one already returned for its article is superseded
 *   and skipped.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Layer } from "effect"
import { checkReadableFile } from "../config/files.js"
import { describeNewsFileProblems, newsVersionProblems, parseNewsFile } from "../core/news-file.js"
import { toNewsEvent, type NewsArticle, type NewsEvent } from "../domain/News.js"
import { News, NewsError, type NewsService } from "../services/News.js"

/** The largest news file read (whole, into one string): years of news for a handful of tickers fit. */
export const MAX_NEWS_FILE_BYTES = 256 * 1024 * 1024

const mentions = (event: NewsEvent, tickers: ReadonlySet<string>): boolean => event.symbols.some((s) => tickers.has(s))

/** The replay's state: the versions in `updated_at` order and what has been returned. */
class NewsTape {
  private readonly versions: ReadonlyArray<NewsEvent>
  /** Per article id, the `updatedAt` of the newest version returned. */
  private readonly returned = new Map<number, number>()
  /** Versions before this index have been considered by `take`. */
  private cursor = 0

  constructor(
    articles: ReadonlyArray<NewsArticle>,
    private readonly deployment: ReadonlySet<string>
  ) {
    this.versions = articles.map((a) => toNewsEvent(a, Date.parse(a.updated_at)))
  }

  private isNew(event: NewsEvent): boolean {
    const newest = this.returned.get(event.id)
    return newest === undefined || event.updatedAt > newest
  }

  private markReturned(event: NewsEvent): void {
    this.returned.set(event.id, Math.max(event.updatedAt, this.returned.get(event.id) ?? Number.NEGATIVE_INFINITY))
  }

  history(tickers: ReadonlyArray<string>, from: number, to: number): ReadonlyArray<NewsEvent> {
    const wanted = new Set(tickers)
    const latest = new Map<number, NewsEvent>()
    for (const v of this.versions) {
      if (v.updatedAt > to) break
      latest.set(v.id, v)
    }
    const out = [...latest.values()]
      .filter((v) => v.createdAt >= from && v.createdAt < to && mentions(v, wanted))
      .sort((a, b) => a.updatedAt - b.updatedAt || a.id - b.id)
    for (const v of out) this.markReturned(v)
    return out
  }

  take(until: number): ReadonlyArray<NewsEvent> {
    const out: Array<NewsEvent> = []
    while (this.cursor < this.versions.length && this.versions[this.cursor].updatedAt < until) {
      const v = this.versions[this.cursor++]
      if (!mentions(v, this.deployment) || !this.isNew(v)) continue
      this.markReturned(v)
      out.push(v)
    }
    return out
  }
}

/** The News port over already-parsed article versions (in news-file order); fails on versions a news file could not hold. */
export const makeReplayNewsFrom = (articles: ReadonlyArray<NewsArticle>, tickers: ReadonlyArray<string>, source = "news articles"): Effect.Effect<NewsService, NewsError> =>
  Effect.suspend(() => {
    const problems = newsVersionProblems(articles)
    if (problems.length > 0) return Effect.fail(new NewsError({ detail: describeNewsFileProblems(source, problems) }))
    const tape = new NewsTape(articles, new Set(tickers))
    return Effect.succeed(
      News.of({
        history: (wanted, from, to) => Effect.sync(() => tape.history(wanted, from, to)),
        take: (until) => Effect.sync(() => tape.take(until))
      })
    )
  })

/** Reads and parses a news file; any bad line is a NewsError naming the file, the line and the field. */
export const readNewsFile = (file: string): Effect.Effect<ReadonlyArray<NewsArticle>, NewsError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* checkReadableFile(file, { maxBytes: MAX_NEWS_FILE_BYTES, what: "news file" }).pipe(Effect.mapError((e) => new NewsError({ detail: e.message })))
    const text = yield* fs.readFileString(file).pipe(Effect.mapError((e) => new NewsError({ detail: `${file}: cannot read: ${e.message}` })))
    const parsed = parseNewsFile(text)
    if (parsed.problems.length > 0) return yield* new NewsError({ detail: describeNewsFileProblems(file, parsed.problems) })
    return parsed.articles
  })

/** The News port replaying `file` for a deployment trading `tickers`. */
export const makeReplayNews = (file: string, tickers: ReadonlyArray<string>): Effect.Effect<NewsService, NewsError, FileSystem.FileSystem> =>
  Effect.flatMap(readNewsFile(file), (articles) => makeReplayNewsFrom(articles, tickers, file))

export const ReplayNewsLive = (file: string, tickers: ReadonlyArray<string>): Layer.Layer<News, NewsError, FileSystem.FileSystem> =>
  Layer.effect(News, makeReplayNews(file, tickers))

/** A replay over articles given in memory, for tests. */
export const ReplayNewsTest = (articles: ReadonlyArray<NewsArticle>, tickers: ReadonlyArray<string>): Layer.Layer<News, NewsError> =>
  Layer.effect(News, makeReplayNewsFrom(articles, tickers))
