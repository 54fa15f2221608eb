/**
 * Market Data API v2 (stock bars) routes: `/v2/stocks/bars`,
 * `/v2/stocks/{symbol}/bars`, `/v2/stocks/bars/latest`,
 * `/v2/stocks/{symbol}/bars/latest`.
 *
 * Only published bars are ever served (see market.ts). Multi-symbol results
 * are sorted by symbol, then by time; `limit` caps the bars of a page across
 * all symbols (Alpaca's rule). A `next_page_token` encodes the position — the
 * symbol and timestamp of the next bar — not an index, so it stays valid while
 * the market moves (newly published bars simply extend the remaining pages).
 *
 * On the `basic` plan every one of these endpoints refuses recent SIP data
 * (`feed=sip` ending within 15 minutes of market time) with 403, as Alpaca does;
 * see plans.ts.
 *
 * News: `GET /v1beta1/news` (news.ts), served from the emulator's news file.
 */
import type { Engine } from "./engine.js"
import { parseTime } from "./format.js"
import { lowerBound, upperBound, type Market, type Timeframe, type WireBar } from "./market.js"
import type { HttpRequest, HttpResponse } from "./middleware.js"
import { NewsDesk, newsAnswer } from "./news.js"
import { sipRefusal, type Plan } from "./plans.js"
import { addDays, nyDate, nyMidnight } from "../core/nytime.js"
import type { Route } from "./server.js"

const FEEDS = new Set(["iex", "sip", "delayed_sip", "otc", "boats", "overnight"])

const bad = (message: string): HttpResponse => ({ status: 400, body: { code: 40010001, message } })
const unprocessable = (message: string): HttpResponse => ({ status: 422, body: { code: 42210000, message } })

const wireTime = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z")

export const barJson = (b: WireBar): Record<string, unknown> => ({
  t: wireTime(b.t),
  o: b.o,
  h: b.h,
  l: b.l,
  c: b.c,
  v: b.v,
  n: b.n,
  vw: b.vw
})

interface PageToken {
  readonly symbol: string
  readonly t: number
}

const encodeToken = (p: PageToken): string => Buffer.from(`${p.symbol}|${wireTime(p.t)}`, "utf8").toString("base64")

const decodeToken = (raw: string): PageToken | undefined => {
  const text = Buffer.from(raw, "base64").toString("utf8")
  const sep = text.lastIndexOf("|")
  if (sep <= 0) return undefined
  const t = Date.parse(text.slice(sep + 1))
  return Number.isNaN(t) ? undefined : { symbol: text.slice(0, sep), t }
}

interface BarsQuery {
  readonly symbols: ReadonlyArray<string>
  readonly timeframe: Timeframe
  readonly start: number
  readonly end: number
  readonly limit: number
  readonly desc: boolean
  readonly token: PageToken | undefined
}

const parseSymbols = (raw: string | null): string[] =>
  [...new Set((raw ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""))].sort()

/** Parses the query parameters shared by the single- and multi-symbol bars endpoints. */
const parseBarsQuery = (
  market: Market,
  now: number,
  q: URLSearchParams,
  symbols: string[]
): { ok: true; query: BarsQuery } | { ok: false; response: HttpResponse } => {
  const fail = (response: HttpResponse): { ok: false; response: HttpResponse } => ({ ok: false, response })
  const rawTf = q.get("timeframe")
  if (rawTf === null || rawTf === "") return fail(unprocessable("missing timeframe"))
  const tf = market.parseTimeframe(rawTf)
  if (!tf.ok) return fail(unprocessable(tf.message))
  const feed = q.get("feed")
  if (feed !== null && !FEEDS.has(feed)) return fail(bad(`invalid feed: ${feed}`))
  const sort = q.get("sort") ?? "asc"
  if (sort !== "asc" && sort !== "desc") return fail(bad(`invalid sort: ${sort}`))
  let limit = 1000
  const rawLimit = q.get("limit")
  if (rawLimit !== null) {
    limit = Number(rawLimit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      return fail(bad("invalid limit: must be an integer between 1 and 10000"))
    }
  }
  let start = nyMidnight(nyDate(now))
  const rawStart = q.get("start")
  if (rawStart !== null) {
    const t = parseTime(rawStart, nyMidnight)
    if (t === undefined) return fail(bad(`invalid start: ${rawStart}`))
    start = t
  }
  let end = now
  const rawEnd = q.get("end")
  if (rawEnd !== null) {
    const t = parseTime(rawEnd, (date) => nyMidnight(addDays(date, 1)) - 1)
    if (t === undefined) return fail(bad(`invalid end: ${rawEnd}`))
    end = t
  }
  if (end < start) return fail(bad("end should not be before start"))
  let token: PageToken | undefined
  const rawToken = q.get("page_token")
  if (rawToken !== null && rawToken !== "") {
    token = decodeToken(rawToken)
    if (token === undefined) return fail(bad("invalid page_token"))
  }
  return { ok: true, query: { symbols, timeframe: tf.timeframe, start, end, limit, desc: sort === "desc", token } }
}

/** Runs a bars query at market time `now`: one page across symbols plus the next page token. */
const runBarsQuery = (
  market: Market,
  now: number,
  q: BarsQuery
): { bars: Map<string, WireBar[]>; next: PageToken | undefined } => {
  const out = new Map<string, WireBar[]>()
  let remaining = q.limit
  let next: PageToken | undefined
  for (const symbol of q.symbols) {
    if (q.token !== undefined && symbol < q.token.symbol) continue
    if (!market.series.has(symbol)) continue
    const agg = market.aggregated(symbol, q.timeframe)
    let lo = lowerBound(agg.times, q.start)
    let hi = Math.min(upperBound(agg.times, q.end), upperBound(agg.avail, now))
    if (q.token !== undefined && symbol === q.token.symbol) {
      if (q.desc) hi = Math.min(hi, upperBound(agg.times, q.token.t))
      else lo = Math.max(lo, lowerBound(agg.times, q.token.t))
    }
    if (lo >= hi) continue
    if (remaining === 0) {
      next = { symbol, t: q.desc ? agg.times[hi - 1] : agg.times[lo] }
      break
    }
    const take = Math.min(remaining, hi - lo)
    const page = q.desc ? agg.bars.slice(hi - take, hi).reverse() : agg.bars.slice(lo, lo + take)
    out.set(symbol, page)
    remaining -= take
    if (take < hi - lo) {
      next = { symbol, t: q.desc ? agg.times[hi - take - 1] : agg.times[lo + take] }
      break
    }
  }
  return { bars: out, next }
}

export const dataRoutes = (engine: Engine, plan: Plan, news: NewsDesk = new NewsDesk([])): Route[] => {
  const market = engine.market
  const multiBars = (req: HttpRequest): HttpResponse => {
    const now = engine.marketNow()
    const symbols = parseSymbols(req.query.get("symbols"))
    if (symbols.length === 0) return bad("missing symbols")
    const parsed = parseBarsQuery(market, now, req.query, symbols)
    if (!parsed.ok) return parsed.response
    const refused = sipRefusal(plan, req.query.get("feed"), parsed.query.end, now)
    if (refused !== undefined) return refused
    const { bars, next } = runBarsQuery(market, now, parsed.query)
    const body: Record<string, WireBarJson[]> = {}
    for (const [symbol, list] of bars) body[symbol] = list.map(barJson)
    return {
      status: 200,
      body: { bars: body, next_page_token: next === undefined ? null : encodeToken(next), currency: "USD" }
    }
  }
  const singleBars = (req: HttpRequest, params: string[]): HttpResponse => {
    const now = engine.marketNow()
    const symbol = params[0]
    const parsed = parseBarsQuery(market, now, req.query, [symbol])
    if (!parsed.ok) return parsed.response
    const refused = sipRefusal(plan, req.query.get("feed"), parsed.query.end, now)
    if (refused !== undefined) return refused
    const { bars, next } = runBarsQuery(market, now, parsed.query)
    return {
      status: 200,
      body: {
        bars: (bars.get(symbol) ?? []).map(barJson),
        symbol,
        next_page_token: next === undefined ? null : encodeToken(next),
        currency: "USD"
      }
    }
  }
  const latest = (symbol: string, now: number): WireBar | undefined => {
    const s = market.series.get(symbol)
    if (s === undefined) return undefined
    const agg = market.aggregated(symbol, { label: market.nativeTimeframe, ms: market.barMs, daily: false })
    const n = upperBound(agg.avail, now)
    return n > 0 ? agg.bars[n - 1] : undefined
  }
  /** A latest bar ends at market time `now`: on `basic`, `feed=sip` is always too recent. */
  const checkFeed = (req: HttpRequest, now: number): HttpResponse | undefined => {
    const feed = req.query.get("feed")
    return feed !== null && !FEEDS.has(feed) ? bad(`invalid feed: ${feed}`) : sipRefusal(plan, feed, now, now)
  }
  const multiLatest = (req: HttpRequest): HttpResponse => {
    const now = engine.marketNow()
    const symbols = parseSymbols(req.query.get("symbols"))
    if (symbols.length === 0) return bad("missing symbols")
    const feedError = checkFeed(req, now)
    if (feedError !== undefined) return feedError
    const body: Record<string, WireBarJson> = {}
    for (const symbol of symbols) {
      const b = latest(symbol, now)
      if (b !== undefined) body[symbol] = barJson(b)
    }
    return { status: 200, body: { bars: body, currency: "USD" } }
  }
  const singleLatest = (req: HttpRequest, params: string[]): HttpResponse => {
    const now = engine.marketNow()
    const feedError = checkFeed(req, now)
    if (feedError !== undefined) return feedError
    const b = latest(params[0], now)
    return { status: 200, body: { symbol: params[0], bar: b === undefined ? null : barJson(b), currency: "USD" } }
  }
  return [
    { method: "GET", pattern: /^\/v2\/stocks\/bars\/latest$/, api: "data", handle: multiLatest },
    { method: "GET", pattern: /^\/v2\/stocks\/bars$/, api: "data", handle: multiBars },
    { method: "GET", pattern: /^\/v2\/stocks\/([^/]+)\/bars\/latest$/, api: "data", handle: singleLatest },
    { method: "GET", pattern: /^\/v2\/stocks\/([^/]+)\/bars$/, api: "data", handle: singleBars },
    { method: "GET", pattern: /^\/v1beta1\/news$/, api: "data", handle: (req) => newsAnswer(news, req.query, engine.marketNow()) }
  ]
}

type WireBarJson = ReturnType<typeof barJson>
