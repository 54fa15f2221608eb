import { ApiError, PermissionError, RateLimitError, type streaming } from "@alpacahq/alpaca-trade-api"
import { Effect, Fiber } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { WebSocket } from "ws"
import { emulatorCommand, strictnessFlags } from "../../src/cli/emulator.js"
import {
  describeFaults,
  EMULATOR_KEY_ID,
  EMULATOR_SECRET_KEY,
  emulatorStreamUrls,
  parseFaultSpec,
  startEmulator,
  type EmulatorOptions
} from "../../src/emulator/index.js"
import { tmpTree } from "../support/tmp.js"
import { BAR_MS, DAY1_OPEN, DAY2_OPEN, MIN, rawStreamClient, startHarness, syntheticBars, waitFor, type Harness } from "./helpers.js"

const harnesses: Harness[] = []
const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  await Promise.all(harnesses.splice(0).map((h) => h.emu.close()))
})

/** A harness whose real-time source is `clock.t`: tests move it, nothing sleeps on real time. */
const start = async (options: Partial<EmulatorOptions> = {}, t0 = 0) => {
  const clock = { t: t0 }
  const h = await startHarness({ now: () => clock.t, ...options })
  harnesses.push(h)
  return { ...h, clock }
}

const streamOptions = { reconnect: false, pingIntervalMs: 0 } as const
const raw = (url: string) => rawStreamClient(url, cleanups)
const AUTH = JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY })
const KEYS = { "APCA-API-KEY-ID": EMULATOR_KEY_ID, "APCA-API-SECRET-KEY": EMULATOR_SECRET_KEY }

/** What the SDK saw for one call: "ok" or the HTTP status. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof ApiError ? String(e.status) : e instanceof Error ? e.name : "error")
  )

/** A raw market-data client's answer to a valid `auth`: the first message after `connected`. */
const authAnswer = async (url: string): Promise<{ client: Awaited<ReturnType<typeof raw>>; answer: unknown }> => {
  const client = await raw(url)
  client.ws.send(AUTH)
  return { client, answer: await client.next((m) => m.msg !== "connected") }
}
const AUTHENTICATED = { T: "success", msg: "authenticated" }

describe("the emulator is as strict as Alpaca", { timeout: 10_000 }, () => {
  it("answers the 201st request of a real minute 429 with Alpaca's body and headers, unperformed, until the window ends", async () => {
    // A window starting two real minutes ahead: the SDK's retryAfterMs is X-RateLimit-Reset − the client's Date.now().
    const windowStart = (Math.floor(Date.now() / MIN) + 2) * MIN
    const windowEnd = windowStart + MIN
    const { alpaca, emu, clock } = await start({}, windowStart)

    const first = await fetch(`${emu.url}/v2/clock`, { headers: KEYS })
    expect(first.status).toBe(200)
    expect([first.headers.get("x-ratelimit-limit"), first.headers.get("x-ratelimit-remaining"), first.headers.get("x-ratelimit-reset")]).toEqual([
      "200",
      "199",
      String(windowEnd / 1000)
    ])
    for (let batch = 0; batch < 4; batch++) {
      const n = batch < 3 ? 50 : 49
      const answers = await Promise.all(Array.from({ length: n }, () => outcome(alpaca.trading.clock.legacyClock())))
      expect(answers.every((a) => a === "ok")).toBe(true)
    }

    // Request 201: refused, not performed.
    const before = Date.now()
    const err = await alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy", clientOrderId: "over" }).catch((e: unknown) => e)
    const after = Date.now()
    expect(err).toBeInstanceOf(RateLimitError)
    const e = err as RateLimitError
    expect([e.status, e.code, e.message]).toEqual([429, 42910000, "rate limit exceeded"])
    expect(e.rateLimit).toEqual({ limit: 200, remaining: 0, reset: new Date(windowEnd) })
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(windowEnd - after)
    expect(e.retryAfterMs).toBeLessThanOrEqual(windowEnd - before)

    const limited = await fetch(`${emu.url}/v2/account`, { headers: KEYS })
    expect(limited.status).toBe(429)
    expect(await limited.json()).toEqual({ code: 42910000, message: "rate limit exceeded" })
    expect([limited.headers.get("x-ratelimit-limit"), limited.headers.get("x-ratelimit-remaining"), limited.headers.get("x-ratelimit-reset")]).toEqual([
      "200",
      "0",
      String(windowEnd / 1000)
    ])

    // The market data API is counted apart; market time does not reset the window; the window's last ms is still in it.
    expect(await outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }))).toBe("ok")
    await emu.advanceTo(DAY2_OPEN)
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("429")
    clock.t = windowEnd - 1
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("429")

    clock.t = windowEnd
    expect(await alpaca.trading.orders.getAllOrders({ status: "all" })).toEqual([]) // the refused order was never placed
    const next = await fetch(`${emu.url}/v2/clock`, { headers: KEYS })
    expect([next.status, next.headers.get("x-ratelimit-remaining"), next.headers.get("x-ratelimit-reset")]).toEqual([
      200,
      "198",
      String((windowEnd + MIN) / 1000)
    ])
  })

  it("takes its limit from rateLimitPerMinute, counting trading and data apart, and rejects bad limits and plans", async () => {
    const { alpaca, clock } = await start({ rateLimitPerMinute: 3 })
    const data = () => outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }))
    expect([await data(), await data(), await data(), await data()]).toEqual(["ok", "ok", "ok", "429"])
    const err = await alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }).catch((e: unknown) => e)
    expect((err as RateLimitError).rateLimit).toMatchObject({ limit: 3, remaining: 0, reset: new Date(MIN) })
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("ok")
    clock.t = MIN
    expect(await data()).toBe("ok")

    for (const bad of [{ rateLimitPerMinute: 0 }, { rateLimitPerMinute: 2.5 }, { plan: "pro" as never }]) {
      await expect(startEmulator({ bars: syntheticBars(), ...bad })).rejects.toThrow(RangeError)
    }
  })

  it("refuses a second authenticated market-data socket of a key on a feed with 406 and closes it; the first keeps streaming", async () => {
    const { alpaca, emu } = await start()
    const urls = emulatorStreamUrls(emu.url)
    const first = alpaca.marketData.stockStream({ feed: "iex", url: urls.stocks("iex"), ...streamOptions })
    cleanups.push(() => first.disconnect())
    const bars: streaming.StreamBar[] = []
    first.onBar((b) => bars.push(b))
    first.connect()
    expect((await first.whenAuthenticated()).authenticated).toBe(true)
    const subscribed = waitFor<unknown>((push) => first.on("subscription", push), () => true)
    first.subscribeForBars(["AAA"])
    await subscribed

    const second = await authAnswer(urls.stocks("iex"))
    expect(second.answer).toEqual({ T: "error", code: 406, msg: "connection limit exceeded" })
    await second.client.closed
    // The SDK sees the error, then the socket closing before authentication.
    const again = alpaca.marketData.stockStream({ feed: "iex", url: urls.stocks("iex"), ...streamOptions })
    cleanups.push(() => again.disconnect())
    const errors: string[] = []
    again.onError((m) => errors.push(m))
    again.connect()
    expect(await again.whenAuthenticated()).toMatchObject({ authenticated: false, status: "closed" })
    expect(errors).toEqual(["connection limit exceeded"])
    // Another feed is another connection.
    expect((await authAnswer(urls.stocks("test"))).answer).toEqual(AUTHENTICATED)

    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    await waitFor<number>((push) => {
      const t = setInterval(() => push(bars.length), 5)
      cleanups.push(() => clearInterval(t))
    }, (n) => n >= 1)
    expect(bars.map((b) => b.symbol)).toEqual(["AAA"])

    const down = waitFor<string>((push) => first.onDisconnect(() => push("down")), () => true)
    first.disconnect()
    await down
    expect((await authAnswer(urls.stocks("iex"))).answer).toEqual(AUTHENTICATED)
  })

  it("forgets a socket the emulator dropped or the client terminated at once: the reconnect is accepted", async () => {
    const { emu } = await start()
    const url = emulatorStreamUrls(emu.url).stocks("iex")
    const a = await authAnswer(url)
    expect(a.answer).toEqual(AUTHENTICATED)
    expect(emu.dropSockets("market-data")).toBe(1)
    const b = await authAnswer(url)
    expect(b.answer).toEqual(AUTHENTICATED)
    expect(await a.client.closed).toBe(1006)
    b.client.ws.terminate()
    expect((await authAnswer(url)).answer).toEqual(AUTHENTICATED)
    expect((await authAnswer(url)).answer).toEqual({ T: "error", code: 406, msg: "connection limit exceeded" }) // the rule still holds
  })

  it("refuses recent SIP bars with 403 on the basic plan, on every bars endpoint; 15 minutes back, IEX and no feed are served", async () => {
    const { alpaca, emu } = await start()
    const now = DAY1_OPEN + 30 * MIN
    await emu.advanceTo(now)
    const bars = (feed: "sip" | "iex" | undefined, end?: number) =>
      alpaca.marketData.stocks.stockBars({
        symbols: "AAA",
        timeframe: "5Min",
        start: new Date(DAY1_OPEN),
        ...(feed === undefined ? {} : { feed }),
        ...(end === undefined ? {} : { end: new Date(end) })
      })

    const err = await bars("sip").catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PermissionError)
    expect((err as PermissionError).status).toBe(403)
    expect((err as PermissionError).message).toMatch(/^subscription does not permit querying recent SIP data/)
    expect(await outcome(bars("sip", now - 15 * MIN + 1))).toBe("403")
    expect((await bars("sip", now - 15 * MIN)).bars.AAA).toHaveLength(4) // 09:30–09:45 starts, the end inclusive
    expect((await bars("iex")).bars.AAA).toHaveLength(6)
    expect((await bars(undefined)).bars.AAA).toHaveLength(6) // no feed = iex on a free plan
    expect(await outcome(alpaca.marketData.stocks.stockBarSingle({ symbol: "AAA", timeframe: "5Min", feed: "sip" }))).toBe("403")
    expect(await outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA", feed: "sip" }))).toBe("403")
    expect(await outcome(alpaca.marketData.stocks.stockLatestBarSingle({ symbol: "AAA", feed: "sip" }))).toBe("403")
    expect(await outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA", feed: "iex" }))).toBe("ok")

    const refused = await fetch(`${emu.url}/v2/stocks/AAA/bars/latest?feed=sip`, { headers: KEYS })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toEqual({ message: "subscription does not permit querying recent SIP data" })
    expect((await fetch(`${emu.url}/v2/stocks/AAA/bars/latest?feed=delayed_sip`, { headers: KEYS })).status).toBe(200)
  })

  it("refuses the SIP stream with 409 on the basic plan; algo_trader_plus gets SIP over REST and stream", async () => {
    const basic = await start()
    const sip = await authAnswer(emulatorStreamUrls(basic.emu.url).stocks("sip"))
    expect(sip.answer).toEqual({ T: "error", code: 409, msg: "insufficient subscription" })
    await sip.client.closed
    const sdk = basic.alpaca.marketData.stockStream({ feed: "sip", url: emulatorStreamUrls(basic.emu.url).stocks("sip"), ...streamOptions })
    cleanups.push(() => sdk.disconnect())
    const errors: string[] = []
    sdk.onError((m) => errors.push(m))
    sdk.connect()
    expect(await sdk.whenAuthenticated()).toMatchObject({ authenticated: false, status: "closed" })
    expect(errors).toEqual(["insufficient subscription"])

    const paid = await start({ plan: "algo_trader_plus" })
    await paid.emu.advanceTo(DAY1_OPEN + 30 * MIN)
    const recent = await paid.alpaca.marketData.stocks.stockBars({ symbols: "AAA", timeframe: "5Min", start: new Date(DAY1_OPEN), feed: "sip" })
    expect(recent.bars.AAA).toHaveLength(6)
    expect((await paid.alpaca.marketData.stocks.stockLatestBarSingle({ symbol: "AAA", feed: "sip" })).bar.o).toBe(105)
    expect((await authAnswer(emulatorStreamUrls(paid.emu.url).stocks("sip"))).answer).toEqual(AUTHENTICATED)
  })

  it("answers 503 unperformed during an outage, for its window of real time only, not counted against the rate limit", async () => {
    const { alpaca, emu, clock } = await start({ rateLimitPerMinute: 5 }, 10_000)
    emu.outage({ forMs: 20_000 })
    const err = await alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy", clientOrderId: "down" }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect([(err as ApiError).status, (err as ApiError).code, (err as ApiError).message]).toEqual([503, 50300000, "service unavailable"])
    const body = await fetch(`${emu.url}/v2/account`, { headers: KEYS })
    expect([body.status, await body.json()]).toEqual([503, { code: 50300000, message: "service unavailable" }])
    for (let i = 0; i < 6; i++) expect(await outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }))).toBe("503")
    clock.t = 29_999
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("503")

    clock.t = 30_000
    expect(await alpaca.trading.orders.getAllOrders({ status: "all" })).toEqual([])
    expect(await outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }))).toBe("ok")
    expect(emu.faultCounts()).toMatchObject({ outageAnswers: 9, http5xx: 0 })

    // One API, another status.
    emu.outage({ api: "data", forMs: 1_000, status: 502 })
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("ok")
    const bad = await fetch(`${emu.url}/v2/stocks/bars/latest?symbols=AAA`, { headers: KEYS })
    expect([bad.status, await bad.json()]).toEqual([502, { code: 50200000, message: "bad gateway" }])
    expect(() => emu.outage({ forMs: 0 })).toThrow(RangeError)
    expect(() => emu.outage({ forMs: 1, status: 404 })).toThrow(RangeError)
  })

  it("drops the stream sockets at an outage's start and refuses upgrades until its end; then the streams come back", async () => {
    const { alpaca, emu, clock } = await start()
    const urls = emulatorStreamUrls(emu.url)
    const md = alpaca.marketData.stockStream({ feed: "iex", url: urls.stocks("iex"), ...streamOptions })
    const tr = alpaca.trading.stream({ url: urls.trading, ...streamOptions })
    cleanups.push(() => md.disconnect(), () => tr.disconnect())
    md.onError(() => {})
    tr.onError(() => {})
    md.connect()
    tr.connect()
    expect((await md.whenAuthenticated()).authenticated).toBe(true)
    expect((await tr.whenAuthenticated()).authenticated).toBe(true)
    const mdDown = waitFor<string>((p) => md.onDisconnect(() => p("down")), () => true)
    const trDown = waitFor<string>((p) => tr.onDisconnect(() => p("down")), () => true)

    emu.outage({ forMs: 5_000, streams: true })
    await Promise.all([mdDown, trDown])
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(urls.stocks("iex"))
      cleanups.push(() => ws.terminate())
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
      ws.on("error", () => {})
    })
    expect(refused).toBe(503)
    expect(emu.faultCounts()).toMatchObject({ wsDrops: 2, outageAnswers: 1 })

    clock.t = 5_000
    expect((await authAnswer(urls.stocks("iex"))).answer).toEqual(AUTHENTICATED)
    // A REST-only outage leaves the streams alone.
    emu.outage({ api: "trading", forMs: 1_000 })
    expect(emu.faultCounts().wsDrops).toBe(2)
  })

  it("schedules an outage from the faults option and the CLI flags, on the real-time clock after start", async () => {
    const { alpaca, emu, clock } = await start({ faults: { outageAtSeconds: 10, outageSeconds: 5 } }, 1_000)
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("ok")
    clock.t = 11_000
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("503")
    expect(await outcome(alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA" }))).toBe("503")
    clock.t = 16_000
    expect(await outcome(alpaca.trading.clock.legacyClock())).toBe("ok")
    expect(emu.faultCounts().outageAnswers).toBe(2)

    expect(parseFaultSpec("outage-at=30,outage-seconds=12.5")).toEqual({ ok: true, faults: { outageAtSeconds: 30, outageSeconds: 12.5 } })
    expect(parseFaultSpec({ "outage-at": "30" })).toEqual({ ok: false, error: "--outage-at and --outage-seconds go together" })
    expect(parseFaultSpec({ "outage-at": "-1", "outage-seconds": "5" })).toEqual({ ok: false, error: "--outage-at must be a number ≥ 0, got '-1'" })
    expect(parseFaultSpec({ "outage-at": "0", "outage-seconds": "0" })).toMatchObject({ ok: false })
    expect(describeFaults({ outageAtSeconds: 30, outageSeconds: 12.5 })).toBe(
      "outage (REST 503, streams down) from 30 s for 12.5 s real time after start; seed 1"
    )
  })

  it("reads --rate-limit and --plan (exit-2 usage errors on bad values) and prints the limits at startup", async () => {
    const flags = (entries: Record<string, string>) => new Map(Object.entries(entries))
    const read = (entries: Record<string, string>) => Effect.runPromise(Effect.either(strictnessFlags(flags(entries))))
    expect(await read({})).toMatchObject({ _tag: "Right", right: { rateLimitPerMinute: 200, plan: "basic" } })
    expect(await read({ "rate-limit": "50", plan: "algo_trader_plus" })).toMatchObject({ _tag: "Right", right: { rateLimitPerMinute: 50, plan: "algo_trader_plus" } })
    for (const [entries, message] of [
      [{ "rate-limit": "0" }, "--rate-limit must be a whole number ≥ 1, got '0'"],
      [{ "rate-limit": "1.5" }, "--rate-limit must be a whole number ≥ 1, got '1.5'"],
      [{ "rate-limit": "many" }, "--rate-limit must be a whole number ≥ 1, got 'many'"],
      [{ plan: "unlimited" }, "emulator: --plan must be basic or algo_trader_plus, got 'unlimited'"]
    ] as const) {
      expect(await read(entries)).toMatchObject({ _tag: "Left", left: { _tag: "UsageError", detail: message } })
    }

    const bars = tmpTree({ "AAA.csv": "date,open,high,low,close,volume\n2024-01-02T14:30:00Z,1,1,1,1,1\n2024-01-02T14:35:00Z,1,1,1,1,1\n" })
    const lines: string[] = []
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")))
    cleanups.push(() => log.mockRestore())
    const fiber = Effect.runFork(emulatorCommand(flags({ bars, "rate-limit": "120", "outage-at": "60", "outage-seconds": "30" })))
    await waitFor<number>((push) => {
      const t = setInterval(() => push(lines.length), 5)
      cleanups.push(() => clearInterval(t))
    }, (n) => n > 0)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const text = lines.join("\n")
    expect(text).toContain("limits: 120 requests/min per key, trading and data apart (429 beyond)")
    expect(text).toContain("plan basic (SIP bars from the last 15 min: 403; /v2/sip stream: 409)")
    expect(text).toContain("faults: outage (REST 503, streams down) from 60 s for 30 s real time after start; seed 1")
  })
})
