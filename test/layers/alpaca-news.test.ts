import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Logger, TestClock } from "effect"
import { NewsBook } from "../../src/core/news-features.js"
import { toNewsEvent, versionKey, type NewsArticle, type NewsEvent } from "../../src/domain/News.js"
import { startEmulator, type EmulatorMiddleware } from "../../src/emulator/index.js"
import { AlpacaNewsLive, newsStreamUrlFor } from "../../src/layers/AlpacaNews.js"
import { AlpacaRateLimiterLive } from "../../src/layers/alpaca/client.js"
import { alpacaSettingsForEmulator } from "../../src/cli/alpaca-emulator.js"
import { News } from "../../src/services/News.js"
import { syntheticBars } from "../emulator/helpers.js"

const MIN = 60_000
/** 2024-01-02 09:30 New York: the emulator's start (its first bar). */
const OPEN = Date.UTC(2024, 0, 2, 14, 30)
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")

const version = (id: number, created: number, updated: number, symbols: ReadonlyArray<string>, headline = `${id} at ${iso(updated)}`): NewsArticle => ({
  id,
  headline,
  summary: `summary of ${id}`,
  created_at: iso(created),
  updated_at: iso(updated),
  symbols
})

/** 120 AAA articles one a minute before the open, 20 BBB ones, and AAA article 500 created at −50m, corrected at −40m and −10m. */
const HISTORY: ReadonlyArray<NewsArticle> = [
  ...Array.from({ length: 120 }, (_, i) => version(1000 + i, OPEN - (120 - i) * MIN, OPEN - (120 - i) * MIN, ["AAA"])),
  ...Array.from({ length: 20 }, (_, i) => version(2000 + i, OPEN - (115 - 5 * i) * MIN, OPEN - (115 - 5 * i) * MIN, ["BBB"])),
  version(500, OPEN - 50 * MIN, OPEN - 40 * MIN + 30_000, ["AAA"], "500, first correction"),
  version(500, OPEN - 50 * MIN, OPEN - 10 * MIN + 30_000, ["AAA", "BBB"], "500, second correction")
]
/** After the open. */
const LIVE: ReadonlyArray<NewsArticle> = [
  version(1, OPEN + 1 * MIN, OPEN + 1 * MIN, ["AAA"], "one"),
  version(2, OPEN + 2 * MIN, OPEN + 2 * MIN, ["BBB"]),
  version(1, OPEN + 1 * MIN, OPEN + 4 * MIN, ["AAA"], "one, corrected"),
  version(3, OPEN + 6 * MIN, OPEN + 6 * MIN, ["AAA", "BBB"]),
  version(5, OPEN + 6 * MIN + 30_000, OPEN + 6 * MIN + 30_000, ["AAA"]),
  version(4, OPEN + 7 * MIN, OPEN + 7 * MIN, ["CCC"]),
  version(6, OPEN + 9 * MIN, OPEN + 9 * MIN, ["AAA"])
]
const ARTICLES = [...HISTORY, ...LIVE].sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at))

/** Counts what the emulator sent; `reach(n)` resolves once `bump` was called n times (a 15 s real-time guard, never a wait). */
const counter = () => {
  let n = 0
  const waiters: Array<() => void> = []
  return {
    bump: () => {
      n++
      for (const w of waiters.splice(0)) w()
    },
    reach: (target: number) =>
      Effect.async<void>((resume) => {
        const check = () => (n >= target ? resume(Effect.void) : void waiters.push(check))
        check()
      }).pipe(Effect.timeoutFail({ duration: Duration.seconds(15), onTimeout: () => new Error(`never reached ${target} (at ${n})`) }), Effect.orDie, Effect.withClock(realClock)),
    get count() {
      return n
    }
  }
}

/** Effect's live clock, for guards that must not wait on the TestClock. */
const realClock = Effect.runSync(Effect.clock)

/** One event-loop turn (sockets are read between turns). */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const setup = Effect.gen(function* () {
  const subscriptions = counter()
  const newsRequests: Array<URLSearchParams> = []
  const watch: EmulatorMiddleware = {
    http: async (req, next) => {
      if (req.path === "/v1beta1/news") newsRequests.push(req.query)
      return next()
    },
    frame: (ctx, payload, send) => {
      send()
      if (ctx.path === "/v1beta1/news" && Array.isArray(payload) && payload.some((m: { T?: string }) => m.T === "subscription")) subscriptions.bump()
    }
  }
  const emu = yield* Effect.acquireRelease(
    Effect.promise(() => startEmulator({ bars: syntheticBars(), news: ARTICLES, now: () => 0, middleware: [watch] })),
    (e) => Effect.promise(() => e.close())
  )
  // reconnects at once on the TestClock: the test decides what happens while the socket is down
  const settings = alpacaSettingsForEmulator(emu, { backoff: { base: Duration.zero, max: Duration.zero } })
  const logs: Array<string> = []
  const logging = Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => void logs.push(`${logLevel.label} ${String(message)}`)))
  yield* TestClock.setTime(emu.marketNow())
  const context = yield* Layer.build(AlpacaNewsLive(settings, ["AAA"]).pipe(Layer.provide(AlpacaRateLimiterLive(settings)))).pipe(Effect.provide(logging))
  /** Moves Effect's Clock, then the emulator's market: what the stream delivers arrives at `time`. */
  const advanceTo = (time: number) => Effect.zipRight(TestClock.setTime(time), Effect.promise(() => emu.advanceTo(time)))
  /** Takes until `accept` holds for everything taken so far (event-loop turns, no wall-clock waits). */
  const takeUntil = (until: number, accept: (taken: ReadonlyArray<NewsEvent>) => boolean) =>
    Effect.gen(function* () {
      const news = Context.get(context, News)
      const taken: Array<NewsEvent> = []
      for (let i = 0; i < 200_000; i++) {
        taken.push(...(yield* news.take(until)))
        if (accept(taken)) return taken
        yield* turn
      }
      return yield* Effect.dieMessage(`take never got what was expected; got ${JSON.stringify(taken.map(versionKey))}`)
    })
  return { emu, news: Context.get(context, News), subscriptions, newsRequests, logs, advanceTo, takeUntil }
})

const file = (id: number, updatedAt: number) => ARTICLES.find((a) => a.id === id && Date.parse(a.updated_at) === updatedAt)!

describe("AlpacaNews against the emulator", { timeout: 20_000 }, () => {
  it("derives the news websocket from the market data one", () => {
    expect(newsStreamUrlFor({ dataStreamUrl: "wss://stream.data.alpaca.markets/v2" })).toBe("wss://stream.data.alpaca.markets/v1beta1/news")
    expect(newsStreamUrlFor({ dataStreamUrl: "ws://127.0.0.1:9/v2/" })).toBe("ws://127.0.0.1:9/v1beta1/news")
  })

  it.scoped("history follows next_page_token and equals the file's articles in range, each at its version as of `to`", () =>
    Effect.gen(function* () {
      const f = yield* setup
      const from = OPEN - 100 * MIN
      const history = yield* f.news.history(["AAA"], from, OPEN)
      const expected = HISTORY.filter((a) => a.id !== 500 && a.symbols.includes("AAA") && Date.parse(a.created_at) >= from).map((a) => toNewsEvent(a, Date.parse(a.updated_at)))
      const corrected = toNewsEvent(HISTORY[HISTORY.length - 1], Date.parse(HISTORY[HISTORY.length - 1].updated_at))
      expect(history).toEqual([...expected, corrected].sort((a, b) => a.updatedAt - b.updatedAt))
      expect(history).toHaveLength(101)
      // 101 articles and the BBB ones are not asked for: three pages of 50, ascending, the deployment's window
      expect(f.newsRequests).toHaveLength(3)
      expect(f.newsRequests.map((q) => [q.get("symbols"), q.get("limit"), q.get("sort"), q.get("start"), q.get("end")])).toEqual(
        Array(3).fill(["AAA", "50", "asc", new Date(from).toISOString(), new Date(OPEN).toISOString()])
      )
      expect(f.newsRequests.slice(1).every((q) => q.get("page_token") !== null)).toBe(true)
      // article 500 mentions BBB only since its second correction, the version served
      const bbb = HISTORY.filter((a) => a.symbols.includes("BBB") && Date.parse(a.created_at) >= OPEN - 60 * MIN).map((a) => toNewsEvent(a, Date.parse(a.updated_at)))
      expect(bbb.map((e) => e.id)).toContain(500)
      expect(yield* f.news.history(["BBB"], OPEN - 60 * MIN, OPEN)).toEqual(bbb)
      expect(yield* f.news.history([], from, OPEN)).toEqual([])
    }))

  it.scoped("stream items are taken with receivedAt from the clock, and an update replaces the article from its arrival", () =>
    Effect.gen(function* () {
      const f = yield* setup
      yield* f.subscriptions.reach(1)
      yield* f.advanceTo(OPEN + 2 * MIN)
      const first = yield* f.takeUntil(OPEN + 2 * MIN + 1, (t) => t.length >= 1)
      // BBB's article 2 was not subscribed to; article 1 arrived when the clock read 09:32
      expect(first).toEqual([toNewsEvent(file(1, OPEN + MIN), OPEN + 2 * MIN)])
      // nothing is handed out before it was received
      yield* f.advanceTo(OPEN + 5 * MIN)
      expect(yield* f.news.take(OPEN + 5 * MIN)).toEqual([])
      const second = yield* f.takeUntil(OPEN + 5 * MIN + 1, (t) => t.length >= 1)
      expect(second).toEqual([toNewsEvent(file(1, OPEN + 4 * MIN), OPEN + 5 * MIN)])

      const book = new NewsBook(["AAA"])
      for (const e of [...first, ...second]) book.add(e)
      expect(book.visible("AAA", OPEN + 5 * MIN, 60 * MIN).map((e) => e.headline)).toEqual(["one"])
      expect(book.visible("AAA", OPEN + 5 * MIN + 1, 60 * MIN).map((e) => e.headline)).toEqual(["one, corrected"])
      expect(f.subscriptions.count).toBe(1)
    }))

  it.scoped("after the emulator drops the news socket it reconnects, and what was published meanwhile arrives exactly once", () =>
    Effect.gen(function* () {
      const f = yield* setup
      yield* f.subscriptions.reach(1)
      yield* f.advanceTo(OPEN + 5 * MIN)
      const before = yield* f.takeUntil(OPEN + 5 * MIN + 1, (t) => t.length >= 2)
      expect(before.map(versionKey)).toEqual([versionKey(toNewsEvent(file(1, OPEN + MIN), 0)), versionKey(toNewsEvent(file(1, OPEN + 4 * MIN), 0))])

      // the socket drops; 09:36 and 09:36:30 (and CCC's 09:37) are published while nobody listens
      yield* TestClock.setTime(OPEN + 8 * MIN)
      yield* Effect.promise(async () => {
        expect(f.emu.dropSockets("market-data")).toBe(1)
        await f.emu.advanceTo(OPEN + 8 * MIN)
      })
      yield* f.subscriptions.reach(2)
      const missed = yield* f.takeUntil(OPEN + 8 * MIN + 1, (t) => t.length >= 2)
      expect(missed).toEqual([toNewsEvent(file(3, OPEN + 6 * MIN), OPEN + 8 * MIN), toNewsEvent(file(5, OPEN + 6 * MIN + 30_000), OPEN + 8 * MIN)])
      // fetched from a minute before the connection was last known alive (article 1's correction arriving at 09:35)
      const gap = f.newsRequests.filter((q) => q.get("start") === new Date(OPEN + 4 * MIN).toISOString())
      expect(gap).toHaveLength(1)
      expect(f.logs.some((l) => l.includes("fetched 3 article version(s)"))).toBe(true)

      // live again: 09:39 arrives from the stream
      yield* f.advanceTo(OPEN + 10 * MIN)
      const after = yield* f.takeUntil(OPEN + 10 * MIN + 1, (t) => t.length >= 1)
      expect(after).toEqual([toNewsEvent(file(6, OPEN + 9 * MIN), OPEN + 10 * MIN)])

      const all = [...before, ...missed, ...after]
      expect(new Set(all.map(versionKey)).size).toBe(all.length)
      const published = LIVE.filter((a) => a.symbols.includes("AAA")).map((a) => versionKey(toNewsEvent(a, 0)))
      expect(all.map(versionKey)).toEqual(published)
      expect(yield* f.news.take(OPEN + 60 * MIN)).toEqual([])
      expect(f.logs.some((l) => l.includes("news stream: reconnected"))).toBe(true)
    }))
})
