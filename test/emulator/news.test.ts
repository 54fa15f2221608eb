import type { marketData, streaming } from "@alpacahq/alpaca-trade-api"
import { afterEach, describe, expect, it } from "vitest"
import type { NewsArticle } from "../../src/domain/News.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, wsUrl } from "../../src/emulator/index.js"
import { DAY1_OPEN, MIN, rawStreamClient, startHarness, type Harness } from "./helpers.js"

let h: Harness | undefined
const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  await h?.emu.close()
  h = undefined
})

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")
const version = (id: number, created: number, updated: number, symbols: ReadonlyArray<string>, extra: Partial<NewsArticle> = {}): NewsArticle => ({
  id,
  headline: `${id} at ${iso(updated)}`,
  summary: `summary of ${id}`,
  author: "Newsdesk",
  created_at: iso(created),
  updated_at: iso(updated),
  url: `https://example.invalid/${id}`,
  symbols,
  source: "benzinga",
  ...extra
})

/** 120 AAA articles one a minute and 30 BBB ones every 4 minutes, all before the emulator's start (DAY1_OPEN). */
const HISTORY: ReadonlyArray<NewsArticle> = [
  ...Array.from({ length: 120 }, (_, i) => version(1000 + i, DAY1_OPEN - (120 - i) * MIN, DAY1_OPEN - (120 - i) * MIN, ["AAA"])),
  ...Array.from({ length: 30 }, (_, i) => version(2000 + i, DAY1_OPEN - (118 - 4 * i) * MIN, DAY1_OPEN - (118 - 4 * i) * MIN, ["BBB"]))
]
/** After the start: article 1 is corrected at 09:34; 3 mentions both tickers; 4 neither. */
const LIVE: ReadonlyArray<NewsArticle> = [
  version(1, DAY1_OPEN + 1 * MIN, DAY1_OPEN + 1 * MIN, ["AAA"], { content: "<p>one</p>" }),
  version(2, DAY1_OPEN + 2 * MIN, DAY1_OPEN + 2 * MIN, ["BBB"]),
  version(1, DAY1_OPEN + 1 * MIN, DAY1_OPEN + 4 * MIN, ["AAA"], { headline: "one, corrected", content: "<p>one, corrected</p>" }),
  version(3, DAY1_OPEN + 6 * MIN, DAY1_OPEN + 6 * MIN, ["AAA", "BBB"]),
  version(4, DAY1_OPEN + 7 * MIN, DAY1_OPEN + 7 * MIN, ["CCC"])
]
const ARTICLES = [...HISTORY, ...LIVE].sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at))

const newsApi = () => h!.alpaca.marketData.news

/** Every page of a query, following next_page_token; with the page sizes. */
const allPages = async (request: marketData.NewsRequest) => {
  const items: Array<marketData.News> = []
  const sizes: Array<number> = []
  let pageToken: string | undefined
  do {
    const page = await newsApi().news({ ...request, pageToken })
    items.push(...page.news)
    sizes.push(page.news.length)
    pageToken = page.nextPageToken ?? undefined
  } while (pageToken !== undefined)
  return { items, sizes }
}

const ids = (items: ReadonlyArray<{ readonly id: number }>) => items.map((a) => a.id)
const aaaHistoryIds = HISTORY.filter((a) => a.symbols.includes("AAA")).map((a) => a.id)

/** Items pushed by a listener; `until` resolves once `accept` holds for them (a 10 s guard, never a wait). */
const collector = <T>() => {
  const items: Array<T> = []
  const waiters: Array<() => void> = []
  return {
    items,
    push: (item: T) => {
      items.push(item)
      for (const w of waiters.splice(0)) w()
    },
    until: (accept: (items: ReadonlyArray<T>) => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(items)}`)), 10_000)
        const check = () => {
          if (accept(items)) {
            clearTimeout(guard)
            resolve()
          } else waiters.push(check)
        }
        check()
      })
  }
}

/** An SDK news stream on the emulator, subscribed to `symbols`, with what it receives. */
const newsClient = async (symbols: Array<string>) => {
  const stream = h!.alpaca.marketData.newsStream({ url: `${wsUrl(h!.emu.url)}/v1beta1/news`, reconnect: false, pingIntervalMs: 0 })
  cleanups.push(() => stream.disconnect())
  const news = collector<streaming.StreamNews>()
  const acks = collector<Record<string, ReadonlyArray<string>>>()
  const errors: Array<string> = []
  stream.onNews(news.push)
  stream.on("subscription", acks.push)
  stream.onError((e) => errors.push(e))
  stream.subscribeForNews(symbols)
  stream.connect()
  await acks.until((a) => a.length === 1)
  return { stream, news, acks, errors }
}

describe("emulator news REST (GET /v1beta1/news) via the official SDK", () => {
  it("pages through more than 50 articles with next_page_token, ascending and descending by updated_at", async () => {
    h = await startHarness({ news: ARTICLES })
    const asc = await allPages({ symbols: "AAA", limit: 50, sort: "asc" })
    expect(asc.sizes).toEqual([50, 50, 20])
    expect(ids(asc.items)).toEqual(aaaHistoryIds)
    const desc = await allPages({ symbols: "AAA", limit: 50, sort: "desc" })
    expect(desc.sizes).toEqual([50, 50, 20])
    expect(ids(desc.items)).toEqual([...aaaHistoryIds].reverse())
    // the article as Alpaca serves it, content left out unless asked for
    expect(asc.items[0]).toMatchObject({ id: 1000, headline: HISTORY[0].headline, author: "Newsdesk", summary: "summary of 1000", symbols: ["AAA"], source: "benzinga" })
    expect(asc.items[0].createdAt.getTime()).toBe(DAY1_OPEN - 120 * MIN)
    expect(asc.items[0].updatedAt.getTime()).toBe(DAY1_OPEN - 120 * MIN)
    // no limit: Alpaca's default page of 10, newest first
    const first = await newsApi().news({ symbols: "AAA,BBB" })
    expect(first.news).toHaveLength(10)
    expect(first.news[0].updatedAt.getTime()).toBe(DAY1_OPEN - MIN)
    expect(first.nextPageToken).not.toBeNull()
  })

  it("filters by symbols and by start/end (inclusive, on updated_at)", async () => {
    h = await startHarness({ news: ARTICLES })
    const bbb = await allPages({ symbols: "BBB", limit: 50, sort: "asc" })
    expect(ids(bbb.items)).toEqual(HISTORY.filter((a) => a.symbols.includes("BBB")).map((a) => a.id))
    const both = await allPages({ symbols: "AAA,BBB", limit: 50, sort: "asc" })
    expect(both.items).toHaveLength(150)
    expect(both.items.map((a) => a.updatedAt.getTime())).toEqual([...both.items.map((a) => a.updatedAt.getTime())].sort((a, b) => a - b))
    const window = await allPages({ symbols: "AAA", limit: 50, sort: "asc", start: new Date(DAY1_OPEN - 30 * MIN), end: new Date(DAY1_OPEN - 20 * MIN) })
    expect(window.items.map((a) => (a.updatedAt.getTime() - DAY1_OPEN) / MIN)).toEqual([-30, -29, -28, -27, -26, -25, -24, -23, -22, -21, -20])
    const everything = await allPages({ limit: 50 })
    expect(everything.items).toHaveLength(150)
  })

  it("serves an article only once its updated_at has come, at its newest version by then", async () => {
    h = await startHarness({ news: ARTICLES })
    const { emu } = h
    const live = async () => (await newsApi().news({ start: new Date(DAY1_OPEN), sort: "asc", includeContent: true })).news
    expect(await live()).toEqual([])
    await emu.advanceTo(DAY1_OPEN + MIN - 1)
    expect(await live()).toEqual([])
    await emu.advanceTo(DAY1_OPEN + MIN)
    expect((await live()).map((a) => [a.id, a.headline, a.content])).toEqual([[1, LIVE[0].headline, "<p>one</p>"]])
    await emu.advanceTo(DAY1_OPEN + 4 * MIN - 1)
    expect(ids(await live())).toEqual([1, 2])
    await emu.advanceTo(DAY1_OPEN + 4 * MIN)
    const corrected = await live()
    // the correction replaces the first version: one article, updated at 09:34, created at 09:31
    expect(corrected.map((a) => [a.id, a.headline, a.content])).toEqual([
      [2, LIVE[1].headline, ""],
      [1, "one, corrected", "<p>one, corrected</p>"]
    ])
    expect(corrected[1].createdAt.getTime()).toBe(DAY1_OPEN + MIN)
    expect(corrected[1].updatedAt.getTime()).toBe(DAY1_OPEN + 4 * MIN)
    // content only when asked for; exclude_contentless drops the articles without
    const plain = await newsApi().news({ start: new Date(DAY1_OPEN), sort: "asc" })
    expect(plain.news.map((a) => a.content)).toEqual([undefined, undefined])
    expect(ids((await newsApi().news({ start: new Date(DAY1_OPEN), excludeContentless: true })).news)).toEqual([1])
  })

  it("refuses bad parameters with 422 and a message, as Alpaca does", async () => {
    h = await startHarness({ news: ARTICLES })
    const refusal = async (request: marketData.NewsRequest) => {
      const err = (await newsApi()
        .news(request)
        .then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string } | undefined
      return [err?.status, err?.message]
    }
    expect(await refusal({ limit: 51 })).toEqual([422, expect.stringContaining("invalid limit: 51 (must be an integer between 1 and 50)")])
    expect(await refusal({ limit: 0 })).toEqual([422, expect.stringContaining("invalid limit: 0")])
    expect(await refusal({ sort: "sideways" as never })).toEqual([422, expect.stringContaining("invalid sort: sideways")])
    expect(await refusal({ start: new Date(DAY1_OPEN), end: new Date(DAY1_OPEN - MIN) })).toEqual([422, expect.stringContaining("end is before start")])
    expect(await refusal({ pageToken: "bm90IGEgdG9rZW4=" })).toEqual([422, expect.stringContaining("invalid page_token")])
    const raw = await fetch(`${h.emu.url}/v1beta1/news?include_content=maybe`, { headers: { "APCA-API-KEY-ID": EMULATOR_KEY_ID, "APCA-API-SECRET-KEY": EMULATOR_SECRET_KEY } })
    expect([raw.status, await raw.json()]).toEqual([422, { code: 42210000, message: "invalid include_content: maybe (must be true or false)" }])
    const wrong = await h.client({ keyId: "WRONG", secret: "wrong" }).marketData.news.news().then(() => undefined, (e: { status?: number }) => e.status)
    expect(wrong).toBe(401)
  })

  it("counts against the market data rate limit, not the trading one", async () => {
    h = await startHarness({ news: ARTICLES, rateLimitPerMinute: 3 })
    const outcome = (p: Promise<unknown>) => p.then(() => "ok", (e: { status?: number }) => String(e.status))
    expect(await outcome(newsApi().news())).toBe("ok")
    expect(await outcome(newsApi().news())).toBe("ok")
    expect(await outcome(h.alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }))).toBe("ok")
    expect(await outcome(newsApi().news())).toBe("429")
    expect(await outcome(h.alpaca.trading.clock.legacyClock())).toBe("ok")
  })
})

describe("emulator news stream (/v1beta1/news) via the official SDK", () => {
  it("delivers each version when market time reaches its updated_at, only for subscribed symbols", async () => {
    h = await startHarness({ news: ARTICLES })
    const { emu } = h
    const aaa = await newsClient(["AAA"])
    expect(aaa.acks.items[0].news).toEqual(["AAA"])
    // nothing from the history before the start; nothing before 09:31 (a second ack is the ordering barrier)
    await emu.advanceTo(DAY1_OPEN + MIN - 1)
    aaa.stream.subscribeForNews(["ZZZ"])
    await aaa.acks.until((a) => a.length === 2)
    expect(aaa.news.items).toEqual([])

    await emu.advanceTo(DAY1_OPEN + 5 * MIN)
    await aaa.news.until((n) => n.length === 2)
    // BBB's article 2 is not sent; article 1 comes twice: published, then corrected
    expect(aaa.news.items.map((n) => [n.id, n.headline, n.updatedAt?.getTime()])).toEqual([
      [1, LIVE[0].headline, DAY1_OPEN + MIN],
      [1, "one, corrected", DAY1_OPEN + 4 * MIN]
    ])
    expect(aaa.news.items[1]).toMatchObject({ summary: "summary of 1", author: "Newsdesk", content: "<p>one, corrected</p>", symbols: ["AAA"], source: "benzinga" })
    expect(aaa.news.items[1].createdAt?.getTime()).toBe(DAY1_OPEN + MIN)

    await emu.advanceTo(DAY1_OPEN + 10 * MIN)
    await aaa.news.until((n) => n.length === 3)
    expect(ids(aaa.news.items)).toEqual([1, 1, 3])
    expect(aaa.errors).toEqual([])
  })

  it("sends everything to a '*' subscription (JSON clients too) and is dropped by dropSockets", async () => {
    h = await startHarness({ news: ARTICLES })
    const { emu } = h
    const raw = await rawStreamClient(`${wsUrl(emu.url)}/v1beta1/news`, cleanups)
    await raw.next((m) => m.T === "success" && m.msg === "connected")
    raw.ws.send(JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY }))
    await raw.next((m) => m.T === "success" && m.msg === "authenticated")
    raw.ws.send(JSON.stringify({ action: "subscribe", news: ["*"], bars: ["AAA"] }))
    expect(await raw.next((m) => m.T === "subscription")).toEqual({ T: "subscription", news: ["*"] })
    await emu.advanceTo(DAY1_OPEN + 10 * MIN)
    const items = [await raw.next((m) => m.T === "n"), await raw.next((m) => m.T === "n"), await raw.next((m) => m.T === "n"), await raw.next((m) => m.T === "n"), await raw.next((m) => m.T === "n")]
    expect(items.map((m) => [m.id, m.updated_at])).toEqual(LIVE.map((a) => [a.id, a.updated_at]))
    expect(emu.dropSockets("market-data")).toBe(1)
    expect(await raw.closed).toBe(1006)
  })

  it("refuses a second connection with the same key (406) while the first keeps streaming", async () => {
    h = await startHarness({ news: ARTICLES })
    const { emu } = h
    const first = await newsClient(["AAA"])
    const second = h.alpaca.marketData.newsStream({ url: `${wsUrl(emu.url)}/v1beta1/news`, reconnect: false, pingIntervalMs: 0 })
    cleanups.push(() => second.disconnect())
    const errors = collector<string>()
    second.onError(errors.push)
    second.connect()
    expect(await second.whenAuthenticated()).toMatchObject({ authenticated: false, status: "closed" })
    expect(errors.items).toEqual(["connection limit exceeded"])

    await emu.advanceTo(DAY1_OPEN + 2 * MIN)
    await first.news.until((n) => n.length === 1)
    expect(ids(first.news.items)).toEqual([1])
  })
})
