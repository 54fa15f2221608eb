/**
 * News, served as Alpaca serves it, from a news file (JSON lines of Alpaca news articles, one
 * version per line, src/core/news-file.ts).
 *
 * A version is **published** once its `updated_at` ≤ market time: from then on REST serves the
 * article at its newest published version, and the `/v1beta1/news` stream delivers the version (once)
 * to the sockets subscribed to one of its symbols. Nothing is served or streamed before its
 * `updated_at`; versions updated before the emulator's start are history (served, never streamed).
 *
 * `GET /v1beta1/news` takes Alpaca's parameters: `symbols` (comma-separated; an article matches if
 * it mentions any), `start` (default 2015-01-01) and `end` (default now), both inclusive and applied
 * to `updated_at`, `limit` 1–50 (default 10), `sort` `desc` (default) or `asc` by (`updated_at`, `id`),
 * `include_content`, `exclude_contentless`, `page_token`. Answers `{news: [...], next_page_token}`;
 * a bad parameter is 422 with a message naming it. Page tokens are Alpaca's form,
 * base64 of `<updated_at in ns>|<id>` of the page's last article, a position rather than an index.
 */
import { readFile } from "node:fs/promises"
import { describeNewsFileProblems, newsVersionProblems, parseNewsFile } from "../core/news-file.js"
import type { NewsArticle } from "../domain/News.js"
import type { LogFn } from "./engine.js"
import { parseTime } from "./format.js"
import { upperBound } from "./market.js"
import type { HttpResponse } from "./middleware.js"

export const NEWS_DEFAULT_LIMIT = 10
export const NEWS_MAX_LIMIT = 50
/** Alpaca's default `start`: its news archive begins in 2015. */
const DEFAULT_START = Date.UTC(2015, 0, 1)
const MAX_TIMER_MS = 2_147_483_647
const NS_PER_MS = 1_000_000n

export interface NewsVersion {
  readonly article: NewsArticle
  readonly id: number
  readonly createdAt: number
  readonly updatedAt: number
}

/** A version as a stream item, with the symbols subscriptions are matched against. */
export interface NewsStreamItem {
  readonly symbols: ReadonlyArray<string>
  readonly json: Record<string, unknown>
}

const wireTime = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z")

/** Every article version the emulator knows, in `updated_at` order. */
export class NewsDesk {
  readonly versions: ReadonlyArray<NewsVersion>
  private readonly updatedTimes: ReadonlyArray<number>

  /** Throws a RangeError when the versions could not be a news file (order, updates). */
  constructor(articles: ReadonlyArray<NewsArticle>) {
    const problems = newsVersionProblems(articles)
    if (problems.length > 0) throw new RangeError(`emulator: ${describeNewsFileProblems("news articles", problems)}`)
    this.versions = articles.map((article) => ({
      article,
      id: article.id,
      createdAt: Date.parse(article.created_at),
      updatedAt: Date.parse(article.updated_at)
    }))
    this.updatedTimes = this.versions.map((v) => v.updatedAt)
  }

  /** How many versions are published at market time `t`. */
  publishedCount(t: number): number {
    return upperBound(this.updatedTimes, t)
  }

  /** Each article at its newest version published at `t`. */
  servedAt(t: number): ReadonlyArray<NewsVersion> {
    const newest = new Map<number, NewsVersion>()
    const n = this.publishedCount(t)
    for (let i = 0; i < n; i++) newest.set(this.versions[i].id, this.versions[i])
    return [...newest.values()]
  }
}

/** The news of `source` (a news file's path or parsed articles); none when undefined. Rejects naming the file, line and field of a bad line. */
export const loadNewsDesk = async (source: string | ReadonlyArray<NewsArticle> | undefined): Promise<NewsDesk> => {
  if (source === undefined) return new NewsDesk([])
  if (typeof source !== "string") return new NewsDesk(source)
  let text: string
  try {
    text = await readFile(source, "utf8")
  } catch (e) {
    throw new Error(`emulator: cannot read the news file ${source} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  const parsed = parseNewsFile(text)
  if (parsed.problems.length > 0) throw new Error(`emulator: invalid news file:\n${describeNewsFileProblems(source, parsed.problems)}`)
  return new NewsDesk(parsed.articles)
}

/** The distinct `updated_at` times of `articles`, ascending: when a news stream has something to say. */
export const newsEventTimes = (articles: ReadonlyArray<NewsArticle>): ReadonlyArray<number> =>
  [...new Set(articles.map((a) => Date.parse(a.updated_at)))].sort((a, b) => a - b)

// ------------------------------------------------------------------- REST

const unprocessable = (message: string): HttpResponse => ({ status: 422, body: { code: 42210000, message } })

/** Go's strconv.ParseBool, which Alpaca's servers use. */
const parseBool = (raw: string): boolean | undefined =>
  ["1", "t", "T", "TRUE", "true", "True"].includes(raw) ? true : ["0", "f", "F", "FALSE", "false", "False"].includes(raw) ? false : undefined

interface Position {
  readonly updatedAt: number
  readonly id: number
}

const encodeToken = (p: Position): string => Buffer.from(`${BigInt(p.updatedAt) * NS_PER_MS}|${p.id}`, "utf8").toString("base64")

const decodeToken = (raw: string): Position | undefined => {
  const m = /^(\d{1,20})\|(\d{1,16})$/.exec(Buffer.from(raw, "base64").toString("utf8"))
  if (m === null) return undefined
  const id = Number(m[2])
  return Number.isSafeInteger(id) ? { updatedAt: Number(BigInt(m[1]) / NS_PER_MS), id } : undefined
}

const compare = (a: Position, b: Position): number => a.updatedAt - b.updatedAt || a.id - b.id

const restJson = (v: NewsVersion, includeContent: boolean): Record<string, unknown> => {
  const a = v.article
  return {
    id: a.id,
    headline: a.headline,
    author: a.author ?? "",
    created_at: wireTime(v.createdAt),
    updated_at: wireTime(v.updatedAt),
    summary: a.summary,
    ...(includeContent ? { content: a.content ?? "" } : {}),
    url: a.url ?? null,
    images: a.images ?? [],
    symbols: a.symbols,
    source: a.source ?? ""
  }
}

/** The answer to `GET /v1beta1/news?…` at market time `now`. */
export const newsAnswer = (desk: NewsDesk, q: URLSearchParams, now: number): HttpResponse => {
  const symbols = new Set((q.get("symbols") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""))
  let start = DEFAULT_START
  const rawStart = q.get("start")
  if (rawStart !== null) {
    const t = parseTime(rawStart)
    if (t === undefined) return unprocessable(`invalid start: ${rawStart} (expected RFC 3339 or YYYY-MM-DD)`)
    start = t
  }
  let end = now
  const rawEnd = q.get("end")
  if (rawEnd !== null) {
    const t = parseTime(rawEnd)
    if (t === undefined) return unprocessable(`invalid end: ${rawEnd} (expected RFC 3339 or YYYY-MM-DD)`)
    end = t
  }
  if (end < start) return unprocessable("invalid end: end is before start")
  let limit = NEWS_DEFAULT_LIMIT
  const rawLimit = q.get("limit")
  if (rawLimit !== null) {
    limit = /^\d+$/.test(rawLimit) ? Number(rawLimit) : Number.NaN
    if (!(limit >= 1 && limit <= NEWS_MAX_LIMIT)) return unprocessable(`invalid limit: ${rawLimit} (must be an integer between 1 and ${NEWS_MAX_LIMIT})`)
  }
  const sort = (q.get("sort") ?? "desc").toLowerCase()
  if (sort !== "asc" && sort !== "desc") return unprocessable(`invalid sort: ${q.get("sort")} (must be asc or desc)`)
  const flags: Record<"include_content" | "exclude_contentless", boolean> = { include_content: false, exclude_contentless: false }
  for (const name of ["include_content", "exclude_contentless"] as const) {
    const raw = q.get(name)
    if (raw === null) continue
    const value = parseBool(raw)
    if (value === undefined) return unprocessable(`invalid ${name}: ${raw} (must be true or false)`)
    flags[name] = value
  }
  let after: Position | undefined
  const rawToken = q.get("page_token")
  if (rawToken !== null && rawToken !== "") {
    after = decodeToken(rawToken)
    if (after === undefined) return unprocessable("invalid page_token")
  }
  const desc = sort === "desc"
  const matching = desk
    .servedAt(now)
    .filter(
      (v) =>
        v.updatedAt >= start &&
        v.updatedAt <= end &&
        (symbols.size === 0 || v.article.symbols.some((s) => symbols.has(s))) &&
        (!flags.exclude_contentless || (v.article.content ?? "") !== "") &&
        (after === undefined || (desc ? compare(v, after) < 0 : compare(v, after) > 0))
    )
    .sort((a, b) => (desc ? compare(b, a) : compare(a, b)))
  const page = matching.slice(0, limit)
  const last = page[page.length - 1]
  return {
    status: 200,
    body: {
      news: page.map((v) => restJson(v, flags.include_content)),
      next_page_token: matching.length > limit && last !== undefined ? encodeToken(last) : null
    }
  }
}

// ----------------------------------------------------------------- stream

/** A version as Alpaca's stream sends it (`"T": "n"`, content included). */
export const newsStreamItem = (v: NewsVersion): NewsStreamItem => {
  const a = v.article
  return {
    symbols: a.symbols,
    json: {
      T: "n",
      id: a.id,
      headline: a.headline,
      summary: a.summary,
      author: a.author ?? "",
      created_at: wireTime(v.createdAt),
      updated_at: wireTime(v.updatedAt),
      url: a.url ?? null,
      content: a.content ?? "",
      symbols: a.symbols,
      source: a.source ?? ""
    }
  }
}

export interface NewsPublisherOptions {
  readonly desk: NewsDesk
  /** Market time at startup: versions updated by then are history, never streamed. */
  readonly start: number
  readonly speed: number
  readonly marketNow: () => number
  readonly publish: (versions: ReadonlyArray<NewsVersion>) => void
  readonly log: LogFn
}

/**
 * Hands each version to `publish` once market time reaches its `updated_at`, in order: on `sync`
 * (before every request and stream message, on `tick`/`advanceTo`) and from a real-time timer armed
 * (scaled by `speed`) for exactly the next version, as the engine does for bars.
 */
export class NewsPublisher {
  private published: number
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false

  constructor(private readonly opts: NewsPublisherOptions) {
    this.published = opts.desk.publishedCount(opts.start)
  }

  sync(): void {
    if (this.closed) return
    const due = this.opts.desk.publishedCount(this.opts.marketNow())
    if (due > this.published) {
      const versions = this.opts.desk.versions.slice(this.published, due)
      this.published = due
      this.opts.log("debug", "news published", { count: versions.length })
      this.opts.publish(versions)
    }
    this.schedule()
  }

  close(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const next = this.opts.desk.versions[this.published]
    if (this.closed || !(this.opts.speed > 0) || next === undefined) return
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil((next.updatedAt - this.opts.marketNow()) / this.opts.speed)))
    this.timer = setTimeout(() => {
      this.timer = undefined
      try {
        this.sync()
      } catch (e) {
        this.opts.log("error", "news publishing failed", { error: e instanceof Error ? e.message : String(e) })
      }
    }, delay)
    this.timer.unref?.()
  }
}
