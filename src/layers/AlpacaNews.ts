/**
 * The News port on Alpaca.
 *
 * - history: `GET /v1beta1/news` (`symbols`, `start`, `end`, `limit` 50, `sort` asc, following
 *   `next_page_token`) through the shared rate limiter, healable errors retried; each article at its
 *   version as served, kept when created in [from, to) and updated by `to`.
 * - take: what the news websocket (`/v1beta1/news`, subscribed to the deployment's tickers) delivered,
 *   each version received at the Effect Clock's time of arrival. An update (same id, later
 *   `updated_at`) is one more version: it replaces the old one from the moment it arrives.
 * - The socket reconnects forever (superviseStream). After a reconnect the versions updated since
 *   the connection was last known alive are fetched over REST, in the background, and every version
 *   is delivered once: a version already returned (by history, the stream or an earlier fetch) is
 *   dropped.
 */
import type { Alpaca, streaming } from "@alpacahq/alpaca-trade-api"
import { Clock, Effect, Layer, Queue } from "effect"
import type { ConfigError } from "../config/errors.js"
import { versionKey, type NewsEvent } from "../domain/News.js"
import { inBackground } from "../services/Broker.js"
import { News, NewsError, type NewsService } from "../services/News.js"
import { AlpacaRateLimiter, makeAlpacaClient, type AlpacaRateLimiterService, type AlpacaSettings } from "./alpaca/client.js"
import { array, decodeAnswer, epochMs, malformed, record, text } from "./alpaca/decode.js"
import { dataOp, retryHealable, type AlpacaError } from "./alpaca/errors.js"
import { alpacaCall } from "./alpaca/rest.js"
import { connectionLimitHandler, superviseStream } from "./alpaca/stream.js"

/** Alpaca's largest news page. */
export const NEWS_PAGE_LIMIT = 50
/** A gap is fetched from this long before the connection was last known alive: versions in flight then are not lost. */
export const NEWS_GAP_MARGIN_MS = 60_000

const OPERATION = "GET /v1beta1/news"

/** An article version as Alpaca sent it, not yet received. */
type ArticleVersion = Omit<NewsEvent, "receivedAt">

type Arrival =
  | { readonly _tag: "Stream"; readonly raw: streaming.StreamNews; readonly receivedAt: number }
  | { readonly _tag: "Fetched"; readonly version: ArticleVersion; readonly receivedAt: number }

/** The news websocket next to the market data one: `wss://stream.data.alpaca.markets/v1beta1/news` by default. */
export const newsStreamUrlFor = (settings: Pick<AlpacaSettings, "dataStreamUrl">): string =>
  `${settings.dataStreamUrl.replace(/\/+$/, "").replace(/\/v2$/, "")}/v1beta1/news`

const articleId = (value: unknown, field: string): number =>
  typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : malformed(field, `is ${JSON.stringify(value)}, expected an article id`)

/** An article from REST (the SDK's News) or the stream (its StreamNews): both use camelCase Dates. */
const decodeArticle = (value: unknown, prefix: string): ArticleVersion => {
  const a = record(value, prefix)
  return {
    id: articleId(a.id, `${prefix}.id`),
    createdAt: epochMs(a.createdAt, `${prefix}.created_at`),
    updatedAt: epochMs(a.updatedAt, `${prefix}.updated_at`),
    symbols: array(a.symbols ?? [], `${prefix}.symbols`).map((s, i) => text(s, `${prefix}.symbols[${i}]`)),
    headline: text(a.headline, `${prefix}.headline`),
    summary: typeof a.summary === "string" ? a.summary : ""
  }
}

/** Out rather than refusing: no answer, a timeout, a rate limit or a 5xx. */
const transient = (e: AlpacaError): boolean => {
  if (e._tag === "RateLimited") return true
  const status = (e as { readonly status?: number | undefined }).status
  return (e._tag === "MarketDataError" || e._tag === "BrokerUnavailable") && (status === undefined || status === 408 || status === 429 || status >= 500)
}

const toNewsError = (e: AlpacaError): NewsError =>
  new NewsError({
    transient: transient(e),
    detail:
      e._tag === "MarketDataError"
        ? `alpaca ${e.detail}${e.status === undefined ? "" : ` (HTTP ${e.status})`}`
        : `alpaca ${OPERATION}: ${e.message}`
  })

interface NewsQuery {
  readonly symbols: ReadonlyArray<string>
  readonly start: number
  readonly end?: number | undefined
  readonly pageToken?: string | undefined
}

/** One page of `GET /v1beta1/news`, ascending by `updated_at`. */
const newsPage = (client: Alpaca, limiter: AlpacaRateLimiterService, settings: AlpacaSettings, query: NewsQuery) =>
  retryHealable(
    alpacaCall(limiter, dataOp(OPERATION), (init) =>
      client.marketData.news.news(
        {
          symbols: query.symbols.join(","),
          start: new Date(query.start),
          end: query.end === undefined ? undefined : new Date(query.end),
          limit: NEWS_PAGE_LIMIT,
          sort: "asc",
          pageToken: query.pageToken
        },
        init
      )
    ),
    settings
  ).pipe(
    Effect.flatMap((raw) =>
      decodeAnswer(OPERATION, () => {
        const body = record(raw, "(body)")
        const token = body.nextPageToken
        return {
          versions: array(body.news ?? [], "news").map((a, i) => decodeArticle(a, `news[${i}]`)),
          next: typeof token === "string" && token !== "" ? token : undefined
        }
      })
    )
  )

/**
 * What the session has been handed and what waits to be taken. Every version passes `accept` once:
 * a version already accepted (by key) is dropped.
 */
class NewsInbox {
  /** Versions accepted and not yet taken, in arrival order. */
  private readonly pending: Array<NewsEvent> = []
  /** Version keys accepted, with their `updatedAt`, for as long as a gap fetch may return them again. */
  private readonly accepted = new Map<string, number>()

  accept(version: ArticleVersion, receivedAt: number): boolean {
    const key = versionKey(version)
    if (this.accepted.has(key)) return false
    this.accepted.set(key, version.updatedAt)
    this.pending.push({ ...version, receivedAt })
    return true
  }

  /** Marks versions handed out by history: accepted, and no longer waiting to be taken. */
  handedOut(versions: ReadonlyArray<NewsEvent>): void {
    const keys = new Set(versions.map(versionKey))
    for (const v of versions) this.accepted.set(versionKey(v), v.updatedAt)
    const waiting = this.pending.filter((v) => !keys.has(versionKey(v)))
    this.pending.splice(0, this.pending.length, ...waiting)
  }

  take(until: number): ReadonlyArray<NewsEvent> {
    let n = 0
    while (n < this.pending.length && this.pending[n].receivedAt < until) n++
    return this.pending.splice(0, n)
  }

  /** Forgets the keys of versions updated before `time`: no later fetch asks for them. */
  forgetBefore(time: number): void {
    for (const [key, updatedAt] of this.accepted) if (updatedAt < time) this.accepted.delete(key)
  }
}

export const makeAlpacaNews = (settings: AlpacaSettings, tickers: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const limiter = yield* AlpacaRateLimiter
    const client = yield* makeAlpacaClient(settings)
    const clock = yield* Effect.clock
    const deployment = [...new Set(tickers)]
    const mentionsDeployment = (v: ArticleVersion) => v.symbols.some((s) => deployment.includes(s))

    const inbox = new NewsInbox()
    const arrivals = yield* Queue.unbounded<Arrival>()
    /** Clock time the socket was last known alive (subscribed, or an item arrived). */
    let lastAlive = Number.NEGATIVE_INFINITY
    /** Start of the span the stream may have missed, until a fetch covers it. */
    let gapFrom: number | undefined
    /** Start of the fetch under way, whose versions must still be recognised. */
    let fetchingFrom: number | undefined

    /** Every version of `symbols` updated in [start, end] (end: Alpaca's now), page after page. */
    const fetchAll = (symbols: ReadonlyArray<string>, start: number, end: number | undefined, onPage: (versions: ReadonlyArray<ArticleVersion>) => Effect.Effect<void>) =>
      Effect.gen(function* () {
        let pageToken: string | undefined
        do {
          const page = yield* newsPage(client, limiter, settings, { symbols, start, end, pageToken })
          yield* onPage(page.versions)
          pageToken = page.next
        } while (pageToken !== undefined)
      })

    const history = (wanted: ReadonlyArray<string>, from: number, to: number) =>
      Effect.gen(function* () {
        const symbols = [...new Set(wanted)]
        if (symbols.length === 0 || to <= from) return [] as ReadonlyArray<NewsEvent>
        const newest = new Map<number, ArticleVersion>()
        yield* fetchAll(symbols, from, to, (versions) =>
          Effect.sync(() => {
            for (const v of versions) {
              const kept = newest.get(v.id)
              const relevant = v.createdAt >= from && v.createdAt < to && v.updatedAt <= to && v.symbols.some((s) => symbols.includes(s))
              if (relevant && (kept === undefined || v.updatedAt > kept.updatedAt)) newest.set(v.id, v)
            }
          })
        )
        const out = [...newest.values()].map((v): NewsEvent => ({ ...v, receivedAt: v.updatedAt })).sort((a, b) => a.updatedAt - b.updatedAt || a.id - b.id)
        inbox.handedOut(out)
        return out
      }).pipe(Effect.mapError(toNewsError), Effect.withSpan("News.history"))

    /** Moves what arrived into the inbox, in arrival order, each version accepted once. */
    const drain = Effect.gen(function* () {
      for (const arrival of yield* Queue.takeAll(arrivals)) {
        const version =
          arrival._tag === "Fetched"
            ? arrival.version
            : yield* decodeAnswer("news stream", () => decodeArticle(arrival.raw, "n")).pipe(
                Effect.catchAll((e) => Effect.as(Effect.logWarning(`alpaca news: ignored a stream item: ${e.message}`), undefined))
              )
        if (version !== undefined && mentionsDeployment(version)) inbox.accept(version, arrival.receivedAt)
      }
      inbox.forgetBefore(Math.min(gapFrom ?? Number.POSITIVE_INFINITY, fetchingFrom ?? Number.POSITIVE_INFINITY, lastAlive - NEWS_GAP_MARGIN_MS))
    })

    const take = (until: number) => Effect.zipRight(drain, Effect.sync(() => inbox.take(until)))

    /** Fetches what the stream may have missed since `gapFrom`; on failure the gap stays for the next reconnect. */
    const fillGap = Effect.suspend(() => {
      const from = gapFrom
      if (from === undefined) return Effect.void
      gapFrom = undefined
      fetchingFrom = from
      let fetched = 0
      return fetchAll(deployment, from, undefined, (versions) =>
        Effect.flatMap(Clock.currentTimeMillis, (receivedAt) =>
          Effect.sync(() => {
            fetched += versions.length
            for (const version of versions) Queue.unsafeOffer(arrivals, { _tag: "Fetched", version, receivedAt })
          })
        )
      ).pipe(
        Effect.zipRight(Effect.suspend(() => Effect.logInfo(`alpaca news: fetched ${fetched} article version(s) updated since ${new Date(from).toISOString()}, while the stream was down`))),
        Effect.catchAll((e) =>
          Effect.zipRight(
            Effect.sync(() => {
              gapFrom = Math.min(gapFrom ?? Number.POSITIVE_INFINITY, from)
            }),
            Effect.logWarning(`alpaca news: could not fetch the news missed while the stream was down (retried at the next reconnect): ${toNewsError(e).message}`)
          )
        ),
        Effect.ensuring(
          Effect.sync(() => {
            fetchingFrom = undefined
          })
        ),
        Effect.withClock(clock),
        inBackground
      )
    })

    const connectionLimit = connectionLimitHandler("news")
    const supervisor = superviseStream({
      name: "news stream",
      backoff: settings.backoff,
      clock: limiter.clock,
      open: (signals) => {
        const stream = client.marketData.newsStream({ url: newsStreamUrlFor(settings), reconnect: false })
        let subscribed = false
        stream.onNews((raw) => {
          const receivedAt = clock.unsafeCurrentTimeMillis()
          lastAlive = Math.max(lastAlive, receivedAt)
          Queue.unsafeOffer(arrivals, { _tag: "Stream", raw, receivedAt })
        })
        stream.on("subscription", (subscriptions: Record<string, ReadonlyArray<string>>) => {
          if (!deployment.every((t) => subscriptions.news?.includes(t) === true)) return
          subscribed = true
          lastAlive = Math.max(lastAlive, clock.unsafeCurrentTimeMillis())
          signals.ready()
        })
        stream.onDisconnect(() => {
          if (subscribed) gapFrom = Math.min(gapFrom ?? Number.POSITIVE_INFINITY, lastAlive - NEWS_GAP_MARGIN_MS)
        })
        stream.subscribeForNews(deployment)
        return stream
      },
      onReady: () => fillGap,
      onError: (stream, message) => connectionLimit(stream, message) ?? Effect.void
    })
    if (deployment.length > 0) yield* Effect.forkScoped(supervisor)

    return News.of({ history, take: (until) => take(until).pipe(Effect.withSpan("News.take")) }) satisfies NewsService
  })

/** The News port on Alpaca for a deployment trading `tickers`; needs the process-wide AlpacaRateLimiter. */
export const AlpacaNewsLive = (settings: AlpacaSettings, tickers: ReadonlyArray<string>): Layer.Layer<News, ConfigError, AlpacaRateLimiter> =>
  Layer.scoped(News, makeAlpacaNews(settings, tickers))
