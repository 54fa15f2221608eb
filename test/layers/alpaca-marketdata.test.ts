import { Alpaca } from "@alpacahq/alpaca-trade-api"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Fiber, Layer, Logger, Stream, TestClock } from "effect"
import type { Bar } from "../../src/core/bar.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, emulatorClientOptions, startEmulator, type EmulatorMiddleware, type SocketContext } from "../../src/emulator/index.js"
import { rawStreamClient } from "../emulator/helpers.js"
import { AlpacaMarketDataLive } from "../../src/layers/AlpacaMarketData.js"
import { AlpacaRateLimiterLive, type AlpacaFeed } from "../../src/layers/alpaca/client.js"
import { alpacaSettingsForEmulator } from "../../src/cli/alpaca-emulator.js"
import { MarketData } from "../../src/services/MarketData.js"

const MIN = 60_000
/** 2024-01-02 09:30 New York (a Tuesday). */
const DAY1 = Date.UTC(2024, 0, 2, 14, 30)
/** 2024-01-03 09:30 New York. */
const DAY2 = Date.UTC(2024, 0, 3, 14, 30)
const MINUTES = 60

/** 1-minute bars 09:30–10:30 on two days; every minute differs so aggregation mistakes show. */
const minuteBars = (base: number): Bar[] =>
  [DAY1, DAY2].flatMap((open, day) =>
    Array.from({ length: MINUTES }, (_, i) => {
      const o = base + day * 100 + i + ((i * 7) % 5) / 10
      return { time: open + i * MIN, open: o, high: o + 1 + (i % 3), low: o - 1 - (i % 2), close: o + 0.5, volume: 100 + i * 10 + day }
    })
  )

const bars = () => new Map([["AAA", minuteBars(100)], ["BBB", minuteBars(50)]])

const waitUntil = <A>(label: string, check: Effect.Effect<A | undefined>): Effect.Effect<A> =>
  Effect.gen(function* () {
    const deadline = Date.now() + 5_000
    while (true) {
      const value = yield* check
      if (value !== undefined) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${label}`)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
  })

const setup = (options: { readonly feed?: AlpacaFeed; readonly pageLimit?: number } = {}) =>
  Effect.gen(function* () {
    const barRequests: Array<URLSearchParams> = []
    const sockets: Array<SocketContext> = []
    const errors: Array<{ readonly path: string; readonly code: number }> = []
    const subscribed: Array<ReadonlyArray<string>> = []
    const watch: EmulatorMiddleware = {
      http: async (req, next) => {
        if (req.path === "/v2/stocks/bars") barRequests.push(req.query)
        return next()
      },
      frame: (ctx, payload, send) => {
        send()
        if (ctx.kind !== "market-data" || !Array.isArray(payload)) return
        for (const m of payload as Array<{ T?: string; bars?: ReadonlyArray<string>; msg?: string }>) {
          if (m.T === "success" && m.msg === "authenticated") sockets.push(ctx)
          if (m.T === "error") errors.push({ path: ctx.path, code: (m as { code?: number }).code ?? 0 })
          if (m.T === "subscription") subscribed.push(m.bars ?? [])
        }
      }
    }
    const emu = yield* Effect.acquireRelease(
      Effect.promise(() => startEmulator({ bars: bars(), port: 0, now: () => 0, middleware: [watch] })),
      (e) => Effect.promise(() => e.close())
    )
    const settings = alpacaSettingsForEmulator(emu, { feed: options.feed ?? "iex", barsPageLimit: options.pageLimit ?? 10_000 })
    const logs: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => void logs.push(`${logLevel.label} ${String(message)}`))
    const logging = Logger.replace(Logger.defaultLogger, logger)
    const context = yield* Layer.build(AlpacaMarketDataLive(settings).pipe(Layer.provide(AlpacaRateLimiterLive(settings)))).pipe(
      Effect.provide(logging)
    )
    const sdk = new Alpaca(emulatorClientOptions(emu.url, { retry: false, rateLimit: false }))
    /** The emulator's own aggregation, read with the official SDK. */
    const restBars = (ticker: string, timeframe: string, start: number, end: number) =>
      Effect.promise(async () => {
        const page = await sdk.marketData.stocks.stockBars({ symbols: ticker, timeframe, start: new Date(start), end: new Date(end), limit: 10_000 })
        return (page.bars[ticker] ?? []).map(
          (b): Bar => ({ time: new Date(b.t).getTime(), open: b.o, high: b.h, low: b.l, close: b.c, volume: b.v })
        )
      })
    /** Moves the emulator's market and Effect's Clock together. */
    const advanceTo = (time: number) => Effect.zipRight(Effect.promise(() => emu.advanceTo(time)), TestClock.setTime(time))
    yield* TestClock.setTime(emu.marketNow())
    return { emu, marketData: Context.get(context, MarketData), barRequests, sockets, errors, subscribed, logs, logging, restBars, advanceTo }
  })

describe("AlpacaMarketData against the emulator", { timeout: 20_000 }, () => {
  it.scoped("history follows next_page_token across symbols until each has its bars", () =>
    Effect.gen(function* () {
      const f = yield* setup({ pageLimit: 3 })
      yield* f.advanceTo(DAY1 + 30 * MIN + 30_000)
      const history = yield* f.marketData.history(["AAA", "BBB"], "1m", DAY1 + 30 * MIN + 30_000, 10)
      const expected = (ticker: string) => bars().get(ticker)!.filter((b) => b.time >= DAY1 + 20 * MIN && b.time <= DAY1 + 29 * MIN)
      expect(history.get("AAA")).toEqual(expected("AAA"))
      expect(history.get("BBB")).toEqual(expected("BBB"))
      // 20 bars at 3 a page: several pages, each request carrying the page size.
      expect(f.barRequests.length).toBeGreaterThanOrEqual(7)
      expect(f.barRequests.every((q) => q.get("limit") === "3" && q.get("timeframe") === "1Min")).toBe(true)
      expect(f.barRequests.slice(1).every((q) => q.get("page_token") !== null)).toBe(true)
    }))

  it.scoped("history of 5-minute and daily bars matches the emulator's REST aggregation, closed bars only", () =>
    Effect.gen(function* () {
      const f = yield* setup({ pageLimit: 4 })
      yield* f.advanceTo(DAY2 + 12 * MIN)
      const fiveMin = yield* f.marketData.history(["AAA", "BBB", "NOPE"], "5m", DAY2 + 12 * MIN, 14)
      // Day 2's 09:40 bar is still open at 09:42: the last two closed are 09:30 and 09:35; the rest from day 1.
      const restAAA = yield* f.restBars("AAA", "5Min", DAY1, DAY2 + 5 * MIN)
      expect(restAAA).toHaveLength(14)
      expect(fiveMin.get("AAA")).toEqual(restAAA)
      expect(fiveMin.get("BBB")).toEqual(yield* f.restBars("BBB", "5Min", DAY1, DAY2 + 5 * MIN))
      expect(fiveMin.get("NOPE")).toEqual([])

      const daily = yield* f.marketData.history(["AAA"], "1d", DAY2 + 12 * MIN, 5)
      expect(daily.get("AAA")).toEqual(yield* f.restBars("AAA", "1Day", DAY1 - 10 * 60 * MIN, DAY1 + 60 * MIN))
      expect(daily.get("AAA")).toHaveLength(1)
    }))

  it.scoped("barAt returns the bucket once it has closed, else undefined", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* f.advanceTo(DAY1 + 22 * MIN)
      const [fifteen] = yield* f.restBars("AAA", "15Min", DAY1, DAY1)
      expect(fifteen.time).toBe(DAY1)
      expect(yield* f.marketData.barAt("AAA", "15m", DAY1)).toEqual(fifteen)
      const [five] = yield* f.restBars("AAA", "5Min", DAY1 + 15 * MIN, DAY1 + 15 * MIN)
      expect(yield* f.marketData.barAt("AAA", "5m", DAY1 + 15 * MIN)).toEqual(five)
      // 09:50–09:55 has not closed at 09:52.
      expect(yield* f.marketData.barAt("AAA", "5m", DAY1 + 20 * MIN)).toBeUndefined()
      expect(yield* f.marketData.barAt("NOPE", "5m", DAY1 + 15 * MIN)).toBeUndefined()
    }))

  it.scoped("live aggregates stream minutes into exactly the emulator's 5-minute REST bars, on one socket", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* f.advanceTo(DAY1 + 12 * MIN)
      const aaa = yield* f.marketData.live("AAA", "5m").pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      const bbb = yield* f.marketData.live("BBB", "1m").pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* waitUntil("both subscriptions", Effect.sync(() => (f.subscribed.some((s) => s.includes("AAA") && s.includes("BBB")) ? true : undefined)))
      yield* f.advanceTo(DAY1 + 14 * MIN)
      yield* f.advanceTo(DAY1 + 30 * MIN)
      const got = Chunk.toReadonlyArray(yield* Fiber.join(aaa))
      // Joined at 09:42: the 09:40 bar still holds 09:40 and 09:41 (fetched over REST).
      expect(got).toEqual(yield* f.restBars("AAA", "5Min", DAY1 + 10 * MIN, DAY1 + 20 * MIN))
      expect(got.map((b) => b.time)).toEqual([DAY1 + 10 * MIN, DAY1 + 15 * MIN, DAY1 + 20 * MIN])
      expect(Chunk.toReadonlyArray(yield* Fiber.join(bbb))).toEqual(yield* f.restBars("BBB", "1Min", DAY1 + 12 * MIN, DAY1 + 13 * MIN))
      expect(f.sockets).toHaveLength(1)
    }))

  it.scoped("live survives a dropped socket: reconnects, resubscribes and backfills the missed minutes", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* f.advanceTo(DAY1 + 5 * MIN)
      const fiber = yield* f.marketData.live("AAA", "5m").pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      const minutes: Array<Bar> = []
      yield* f.marketData.live("AAA", "1m").pipe(Stream.runForEach((b) => Effect.sync(() => minutes.push(b))), Effect.forkScoped)
      yield* waitUntil("the subscription", Effect.sync(() => (f.subscribed.some((s) => s.includes("AAA")) ? true : undefined)))
      yield* f.advanceTo(DAY1 + 7 * MIN)
      yield* waitUntil("09:36 to arrive", Effect.sync(() => (minutes.some((b) => b.time === DAY1 + 6 * MIN) ? true : undefined)))
      f.sockets[0].terminate()
      // Minutes 09:37–09:41 are published while nobody listens.
      yield* f.advanceTo(DAY1 + 12 * MIN)
      yield* waitUntil(
        "the reconnect",
        Effect.gen(function* () {
          if (f.sockets.length >= 2 && f.subscribed.filter((s) => s.includes("AAA")).length >= 2) return true
          yield* TestClock.adjust("1 second")
          return undefined
        })
      )
      yield* f.advanceTo(DAY1 + 21 * MIN)
      const got = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(got).toEqual(yield* f.restBars("AAA", "5Min", DAY1 + 5 * MIN, DAY1 + 15 * MIN))
      expect(f.logs.some((l) => l.includes("reconnect"))).toBe(true)
      expect(f.logs.some((l) => l.includes("backfilled"))).toBe(true)
    }))

  it.scoped("falls back from a SIP feed the plan refuses (REST 403 on the basic plan) to IEX, saying so once", () =>
    Effect.gen(function* () {
      // the emulator as a new paper account: the basic plan refuses recent SIP bars
      const f = yield* setup({ feed: "sip" })
      yield* f.advanceTo(DAY1 + 10 * MIN)
      // The caller's logger hears about it: the fallback happens in its call.
      const first = yield* f.marketData.history(["AAA"], "1m", DAY1 + 10 * MIN, 3).pipe(Effect.provide(f.logging))
      expect(first.get("AAA")?.map((b) => b.time)).toEqual([DAY1 + 7 * MIN, DAY1 + 8 * MIN, DAY1 + 9 * MIN])
      yield* f.marketData.barAt("AAA", "1m", DAY1 + 9 * MIN).pipe(Effect.provide(f.logging))
      expect(f.barRequests.map((q) => q.get("feed"))).toEqual(["sip", "iex", "iex"])
      expect(f.logs.filter((l) => l.startsWith("WARN") && l.includes("SIP"))).toHaveLength(1)
    }))

  it.scoped("falls back from a SIP stream the plan refuses (409 insufficient subscription) to IEX's, and streams", () =>
    Effect.gen(function* () {
      const f = yield* setup({ feed: "sip" })
      yield* f.advanceTo(DAY1 + 2 * MIN)
      const minutes: Array<Bar> = []
      yield* f.marketData.live("AAA", "1m").pipe(Stream.runForEach((b) => Effect.sync(() => minutes.push(b))), Effect.forkScoped)
      yield* waitUntil(
        "the IEX socket",
        Effect.gen(function* () {
          if (f.sockets.some((s) => s.path === "/v2/iex") && f.subscribed.some((s) => s.includes("AAA"))) return true
          yield* TestClock.adjust("1 second")
          return undefined
        })
      )
      expect(f.errors).toEqual([{ path: "/v2/sip", code: 409 }])
      yield* f.advanceTo(DAY1 + 4 * MIN)
      yield* waitUntil("a minute from IEX", Effect.sync(() => (minutes.length > 0 ? true : undefined)))
      expect(f.logs.filter((l) => l.startsWith("WARN") && l.includes("SIP"))).toHaveLength(1)
    }))

  it.scoped("another connection holding the stream with these keys (406): says who once, backs off, and connects when it is free", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* f.advanceTo(DAY1 + 2 * MIN)
      // another process with the same keys holds the one market data socket Alpaca allows
      const cleanups: Array<() => void> = []
      yield* Effect.addFinalizer(() => Effect.sync(() => cleanups.forEach((c) => c())))
      const holder = yield* Effect.promise(() => rawStreamClient(`${f.emu.url.replace(/^http/, "ws")}/v2/iex`, cleanups))
      holder.ws.send(JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY }))
      yield* Effect.promise(() => holder.next((m) => m.T === "success" && m.msg === "authenticated"))
      const minutes: Array<Bar> = []
      yield* f.marketData.live("AAA", "1m").pipe(Stream.runForEach((b) => Effect.sync(() => minutes.push(b))), Effect.forkScoped)
      // refused, again and again, with a growing delay between tries
      yield* waitUntil(
        "three refusals",
        Effect.gen(function* () {
          if (f.errors.filter((e) => e.code === 406).length >= 3) return true
          yield* TestClock.adjust("1 second")
          return undefined
        })
      )
      expect(f.logs.filter((l) => l.startsWith("ERROR") && l.includes("another connection with these API keys"))).toHaveLength(1)
      holder.ws.close()
      yield* Effect.promise(() => holder.closed)
      yield* waitUntil(
        "our socket",
        Effect.gen(function* () {
          if (f.subscribed.some((s) => s.includes("AAA"))) return true
          yield* TestClock.adjust("1 second")
          return undefined
        })
      )
      yield* f.advanceTo(DAY1 + 4 * MIN)
      yield* waitUntil("a minute", Effect.sync(() => (minutes.length > 0 ? true : undefined)))
    }))
})
