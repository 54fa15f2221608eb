import { ApiError, RateLimitError, type Alpaca, type streaming } from "@alpacahq/alpaca-trade-api"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import {
  describeFaults,
  emulatorStreamUrls,
  parseFaultSpec,
  type EmulatorHandle,
  type FaultOptions
} from "../../src/emulator/index.js"
import { BAR_MS, DAY1_OPEN, MIN, startHarness, waitFor, type Harness } from "./helpers.js"

const harnesses: Harness[] = []
const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  await Promise.all(harnesses.splice(0).map((h) => h.emu.close()))
})

const start = async (faults: FaultOptions): Promise<Harness> => {
  const h = await startHarness({ faults })
  harnesses.push(h)
  return h
}

const ORDERS_POST = /^POST \/v2\/orders$/
const streamOptions = { reconnect: false, pingIntervalMs: 0 } as const

/** What the SDK saw for one call: "ok" or the HTTP status / error name. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof ApiError ? String(e.status) : e instanceof Error ? e.name : "error")
  )

/** An SDK trading stream that records every trade update; `barrier()` waits until everything sent so far has arrived. */
const tradeUpdates = async (alpaca: Alpaca, emu: EmulatorHandle) => {
  const stream = alpaca.trading.stream({ url: emulatorStreamUrls(emu.url).trading, ...streamOptions })
  cleanups.push(() => stream.disconnect())
  const updates: streaming.TradeUpdate[] = []
  const listeners: Array<(v: unknown) => void> = []
  stream.onTradeUpdate((u) => updates.push(u))
  stream.on("subscription", (s: unknown) => listeners.forEach((l) => l(s)))
  const listened = () => waitFor<unknown>((push) => listeners.push(push), (s) => Array.isArray(s) && s.includes("trade_updates"))
  const first = listened()
  stream.subscribeTradeUpdates()
  stream.connect()
  await first
  // Re-sending `listen` is answered in order on the same socket, after every earlier frame.
  const barrier = async (): Promise<void> => {
    const ack = listened()
    stream.subscribeTradeUpdates()
    await ack
  }
  return { stream, updates, barrier }
}

describe("emulator fault injection via the official SDK", { timeout: 5_000 }, () => {
  it("answers 429 like Alpaca without performing the request", async () => {
    const { alpaca, emu } = await start({ http429Rate: 1, httpMatch: ORDERS_POST, retryAfterSeconds: 2 })
    const err = await alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy", clientOrderId: "r429" }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RateLimitError)
    expect((err as RateLimitError).status).toBe(429)
    expect((err as RateLimitError).code).toBe(42910000)
    expect((err as RateLimitError).message).toBe("rate limit exceeded")
    expect((err as RateLimitError).retryAfterMs).toBe(2_000)
    expect((err as RateLimitError).rateLimit).toMatchObject({ limit: 200, remaining: 0 })
    expect(await alpaca.trading.orders.getAllOrders({ status: "all" })).toEqual([])

    const raw = await fetch(`${emu.url}/v2/orders`, { method: "POST", body: "{}" })
    expect(raw.status).toBe(429)
    expect(raw.headers.get("retry-after")).toBe("2")
    expect(raw.headers.get("x-ratelimit-remaining")).toBe("0")
    expect(raw.headers.get("x-ratelimit-reset")).toBe("2") // frozen test clock: now() = 0, reset = now + Retry-After
    expect(await raw.json()).toEqual({ code: 42910000, message: "rate limit exceeded" })
    expect(emu.faultCounts()).toMatchObject({ http429: 2, http5xx: 0, http5xxAfter: 0 })
  })

  it("answers 5xx without performing, or after performing (the order exists: look it up, never resend blindly)", async () => {
    const before = await start({ http5xxRate: 1, httpMatch: ORDERS_POST })
    const s = await outcome(before.alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy", clientOrderId: "x1" }))
    expect(["500", "502", "503"]).toContain(s)
    await expect(before.alpaca.trading.orders.getOrderByClientOrderId({ clientOrderId: "x1" })).rejects.toMatchObject({ status: 404 })
    expect(before.emu.faultCounts()).toMatchObject({ http5xx: 1, http5xxAfter: 0 })

    const { alpaca, emu } = await start({ http5xxAfterRate: 1, httpMatch: ORDERS_POST })
    const err = await alpaca.trading.orders.market({ symbol: "AAA", qty: 3, side: "buy", clientOrderId: "after-1" }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect([500, 503]).toContain((err as ApiError).status)
    const found = await alpaca.trading.orders.getOrderByClientOrderId({ clientOrderId: "after-1" })
    expect(found.status).toBe("filled") // market time is 09:30: it filled at once, at bar 0
    expect(found.qty).toBe("3")
    // Resending the same client_order_id cannot double it.
    const again = await alpaca.trading.orders.market({ symbol: "AAA", qty: 3, side: "buy", clientOrderId: "after-1" }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(ApiError)
    expect((await alpaca.trading.orders.getAllOrders({ status: "all" })).length).toBe(1)
    expect(emu.faultCounts()).toMatchObject({ http5xx: 0, http5xxAfter: 2 })
  })

  it("holds timed-out requests until the client gives up, performing them by default; adds latency", async () => {
    const { client, emu } = await start({ timeoutRate: 1, httpMatch: ORDERS_POST })
    const impatient = client({ timeoutMs: 150 })
    const t0 = Date.now()
    await expect(impatient.trading.orders.market({ symbol: "AAA", qty: 2, side: "buy", clientOrderId: "to-1" })).rejects.toThrow()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    const found = await impatient.trading.orders.getOrderByClientOrderId({ clientOrderId: "to-1" })
    expect(found.qty).toBe("2")
    expect(emu.faultCounts().timeouts).toBe(1)
    // Latency delays every matching request before it is performed.
    const slow = await start({ latencyMs: 50, latencyJitterMs: 10, httpMatch: /^GET \/v2\/clock$/ })
    const t1 = Date.now()
    expect((await slow.alpaca.trading.clock.legacyClock()).isOpen).toBe(true)
    expect(Date.now() - t1).toBeGreaterThanOrEqual(48)

    const notPerformed = await start({ timeoutRate: 1, timeoutPerforms: false, hangMs: 30, httpMatch: ORDERS_POST })
    // The client waits longer than hangMs: the emulator drops the socket after 30 ms.
    const patient = notPerformed.client({ timeoutMs: 2_000 })
    const t2 = Date.now()
    await expect(patient.trading.orders.market({ symbol: "AAA", qty: 2, side: "buy", clientOrderId: "to-2" })).rejects.toThrow()
    expect(Date.now() - t2).toBeLessThan(1_000)
    await expect(patient.trading.orders.getOrderByClientOrderId({ clientOrderId: "to-2" })).rejects.toMatchObject({ status: 404 })

    // A held request does not keep close() waiting.
    const held = await start({ timeoutRate: 1 })
    const pending = held.alpaca.trading.account.getAccount().catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 20))
    const t3 = Date.now()
    await held.emu.close()
    expect(Date.now() - t3).toBeLessThan(500)
    expect(await pending).toBeInstanceOf(Error)
  })

  it("gives the same faults to the same request sequence for the same seed", async () => {
    const faults: FaultOptions = {
      seed: 42,
      http429Rate: 0.2,
      http5xxRate: 0.2,
      http5xxAfterRate: 0.2,
      partialFillRate: 0.5,
      slowFillBars: 1,
      slowFillRate: 0.5,
      lostTradeUpdatesRate: 0.5
    }
    const run = async (f: FaultOptions) => {
      const { alpaca, emu } = await start(f)
      const seen: string[] = []
      for (let i = 0; i < 30; i++) seen.push(await outcome(alpaca.trading.clock.legacyClock()))
      await emu.advanceTo(DAY1_OPEN + 1)
      return { seen, emu, alpaca }
    }
    const a = await run(faults)
    const b = await run(faults)
    const c = await run({ ...faults, seed: 43 })
    expect(b.seen).toEqual(a.seen)
    expect(c.seen).not.toEqual(a.seen)
    expect(a.seen).toContain("ok")
    expect(a.seen).toContain("429")
    expect(a.seen.some((s) => /^50[023]$/.test(s))).toBe(true)
    const counts = a.emu.faultCounts()
    expect(a.seen.filter((s) => s === "429").length).toBe(counts.http429)
    expect(a.seen.filter((s) => s.startsWith("5")).length).toBe(counts.http5xx + counts.http5xxAfter)

    // Fills and trade updates: same orders, same partial/slow fills, same lost events.
    const placeAndFill = async (h: { alpaca: Alpaca; emu: EmulatorHandle }) => {
      const ids: string[] = []
      for (let i = 0; i < 6; i++) {
        // REST faults still apply: retry each submit with the same client_order_id until it lands.
        for (;;) {
          const r = await outcome(h.alpaca.trading.orders.market({ symbol: i % 2 === 0 ? "AAA" : "BBB", qty: 6, side: "buy", clientOrderId: `d-${i}` }))
          if (r === "ok" || r === "422") break
        }
        ids.push(`d-${i}`)
      }
      await h.emu.advanceTo(DAY1_OPEN + 2 * BAR_MS)
      const orders = []
      for (const id of ids) {
        for (;;) {
          const o = await h.alpaca.trading.orders.getOrderByClientOrderId({ clientOrderId: id }).catch(() => undefined)
          if (o !== undefined) {
            orders.push([o.clientOrderId, o.status, o.filledQty, o.filledAvgPrice])
            break
          }
        }
      }
      const { http429, http5xx, http5xxAfter, ...rest } = h.emu.faultCounts()
      return { orders, rest }
    }
    const fa = await placeAndFill(a)
    const fb = await placeAndFill(b)
    expect(fb).toEqual(fa)
    expect(fa.rest.partialFills).toBeGreaterThan(0)
    expect(fa.rest.slowFills).toBeGreaterThan(0)
    expect(fa.rest.lostTradeUpdates).toBeGreaterThan(0)
  })

  it("loses trade updates on the stream while the order's state still changes over REST", async () => {
    const { alpaca, emu } = await start({ lostTradeUpdatesRate: 1 })
    const { updates, barrier } = await tradeUpdates(alpaca, emu)
    await emu.advanceTo(DAY1_OPEN + 1)
    await alpaca.trading.orders.market({ symbol: "AAA", qty: 4, side: "buy", clientOrderId: "lost-1" })
    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    await barrier()
    expect(updates).toEqual([])
    const order = await alpaca.trading.orders.getOrderByClientOrderId({ clientOrderId: "lost-1" })
    expect(order.status).toBe("filled")
    expect(order.filledQty).toBe("4")
    expect(order.filledAvgPrice).toBe("100") // on arrival, at the open of bar 0, in progress
    expect(emu.faultCounts().lostTradeUpdates).toBe(2) // new + fill
  })

  it("splits market orders into 2–3 partial fills over consecutive bars that add up, with the right average price", async () => {
    const { alpaca, emu } = await start({ partialFillRate: 1, seed: 7 })
    const { updates, barrier } = await tradeUpdates(alpaca, emu)
    await emu.advanceTo(DAY1_OPEN + 1)
    const placed = await alpaca.trading.orders.market({ symbol: "AAA", qty: 10, side: "buy" })
    // the first part fills on arrival, in bar 0 (in progress); the rest at the next bars' starts
    const mid = await alpaca.trading.orders.getOrderByOrderID({ orderId: placed.id! })
    expect(mid.status).toBe("partially_filled")
    expect(Number(mid.filledQty)).toBeGreaterThan(0)
    expect(Number(mid.filledQty)).toBeLessThan(10)
    expect(mid.filledAvgPrice).toBe("100")

    await emu.advanceTo(DAY1_OPEN + 4 * BAR_MS)
    await barrier()
    const fills = updates.filter((u) => u.event === "partial_fill" || u.event === "fill")
    expect(fills.length === 2 || fills.length === 3).toBe(true)
    expect(fills.slice(0, -1).every((u) => u.event === "partial_fill")).toBe(true)
    expect(fills.at(-1)!.event).toBe("fill")
    // Consecutive bars: AAA bar i opens at 100 + i, the order's first bar is bar 0, entered on arrival.
    expect(fills.map((u) => Number(u.price))).toEqual(fills.map((_, i) => 100 + i))
    expect(fills.map((u) => u.timestamp?.getTime())).toEqual(fills.map((_, i) => (i === 0 ? DAY1_OPEN + 1 : DAY1_OPEN + i * BAR_MS)))
    const qtys = fills.map((u) => Number(u.qty))
    expect(qtys.reduce((s, q) => s + q, 0)).toBe(10)
    let cum = 0
    fills.forEach((u, i) => {
      cum += qtys[i]
      expect(Number(u.positionQty)).toBe(cum)
      expect(Number(u.order.filledQty)).toBe(cum)
    })
    const avg = fills.reduce((s, u, i) => s + qtys[i] * Number(u.price), 0) / 10
    const final = await alpaca.trading.orders.getOrderByOrderID({ orderId: placed.id! })
    expect(final.status).toBe("filled")
    expect(final.filledQty).toBe("10")
    expect(Number(final.filledAvgPrice)).toBeCloseTo(avg, 9)
    expect(Number(fills.at(-1)!.order.filledAvgPrice)).toBeCloseTo(avg, 9)
    expect((await alpaca.trading.positions.getOpenPosition({ symbolOrAssetId: "AAA" })).qty).toBe("10")
    expect(emu.faultCounts().partialFills).toBe(1)
  })

  it("fills N bars later (slowFillBars) or no earlier than slowFillMs of market time", async () => {
    const { alpaca, emu } = await start({ slowFillBars: 2 })
    await emu.advanceTo(DAY1_OPEN + 1)
    const placed = await alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy" })
    await emu.advanceTo(DAY1_OPEN + 2 * BAR_MS - 1)
    expect((await alpaca.trading.orders.getOrderByOrderID({ orderId: placed.id! })).status).toBe("new")
    await emu.advanceTo(DAY1_OPEN + 2 * BAR_MS)
    const filled = await alpaca.trading.orders.getOrderByOrderID({ orderId: placed.id! })
    expect(filled.status).toBe("filled")
    expect(filled.filledAvgPrice).toBe("102") // bar 2 instead of bar 0 (in progress on arrival)
    expect(emu.faultCounts().slowFills).toBe(1)

    const ms = await start({ slowFillMs: 7 * MIN })
    await ms.emu.advanceTo(DAY1_OPEN + 1)
    const o = await ms.alpaca.trading.orders.market({ symbol: "BBB", qty: 1, side: "buy" })
    await ms.emu.advanceTo(DAY1_OPEN + 4 * BAR_MS)
    // First opportunity on arrival (09:30:00.001) + 7 min → the 09:40 bar (BBB bar 2 opens at 52).
    expect((await ms.alpaca.trading.orders.getOrderByOrderID({ orderId: o.id! })).filledAvgPrice).toBe("52")
  })

  it("drops stream sockets on demand and periodically; the SDK's streams notice and reconnect", async () => {
    const { alpaca, emu } = await start({})
    const urls = emulatorStreamUrls(emu.url)
    const reconnecting = { reconnect: true, initialReconnectMs: 10, reconnectJitter: 0, backoff: false, pingIntervalMs: 0 } as const
    const md = alpaca.marketData.stockStream({ feed: "iex", url: urls.stocks("iex"), ...reconnecting })
    const tr = alpaca.trading.stream({ url: urls.trading, ...streamOptions })
    cleanups.push(() => md.disconnect(), () => tr.disconnect())
    md.onError(() => {})
    tr.onError(() => {})
    md.connect()
    tr.connect()
    expect((await md.whenAuthenticated()).authenticated).toBe(true)
    expect((await tr.whenAuthenticated()).authenticated).toBe(true)

    const mdEvents: string[] = []
    const push: Array<(s: string) => void> = []
    const note = (s: string) => {
      mdEvents.push(s)
      for (const p of push) p(s)
    }
    md.onDisconnect(() => note("disconnected"))
    md.onReconnected(() => note("reconnected"))
    const trDown = waitFor<string>((p) => tr.onDisconnect(() => p("down")), () => true)
    const mdBack = waitFor<string>((p) => push.push(p), (s) => s === "reconnected")

    expect(emu.dropSockets("market-data")).toBe(1)
    await mdBack
    expect(mdEvents).toEqual(["disconnected", "reconnected"])
    expect(tr.getState()).toBe("authenticated")
    expect(emu.dropSockets("trading")).toBe(1)
    await trDown
    expect(emu.dropSockets()).toBe(1) // only the reconnected market-data socket is left
    expect(emu.faultCounts().wsDrops).toBe(3)

    const periodic = await start({ wsDropEverySeconds: 0.05 })
    const ws = new WebSocket(emulatorStreamUrls(periodic.emu.url).trading)
    cleanups.push(() => ws.terminate())
    const code = await new Promise<number>((resolve) => ws.on("close", (c) => resolve(c)))
    expect(code).toBe(1006)
    expect(periodic.emu.faultCounts().wsDrops).toBeGreaterThanOrEqual(1)
  })

  it("parses and describes CLI fault specs, rejecting bad values", () => {
    expect(parseFaultSpec({})).toEqual({ ok: true, faults: undefined })
    expect(parseFaultSpec({ "fault-seed": "7", "rate-429": "0.1", "latency-ms": "50", "ws-drop-every": "2.5", "slow-fill-bars": "1" })).toEqual({
      ok: true,
      faults: { seed: 7, http429Rate: 0.1, latencyMs: 50, wsDropEverySeconds: 2.5, slowFillBars: 1 }
    })
    expect(parseFaultSpec("rate-5xx-after=0.2, rate-partial-fills=1")).toEqual({
      ok: true,
      faults: { http5xxAfterRate: 0.2, partialFillRate: 1 }
    })
    expect(parseFaultSpec({ "rate-429": "1.5" })).toEqual({ ok: false, error: "--rate-429 must be a number between 0 and 1, got '1.5'" })
    expect(parseFaultSpec({ "rate-timeout": "" })).toMatchObject({ ok: false })
    expect(parseFaultSpec({ "latency-ms": "-1" })).toMatchObject({ ok: false })
    expect(parseFaultSpec({ "ws-drop-every": "0" })).toMatchObject({ ok: false })
    expect(parseFaultSpec({ "fault-seed": "1.5" })).toMatchObject({ ok: false })
    expect(parseFaultSpec({ "rate-429": "0.6", "rate-5xx": "0.6" })).toMatchObject({ ok: false, error: expect.stringContaining("at most 1") })
    expect(parseFaultSpec("bogus=1")).toEqual({ ok: false, error: "unknown fault option --bogus" })
    expect(describeFaults(undefined)).toBe("none")
    expect(describeFaults({ seed: 3 })).toBe("none")
    expect(describeFaults({ seed: 3, http429Rate: 0.1, slowFillBars: 2 })).toBe("429 10% (Retry-After 1 s), slow fills +2 bars; seed 3")
  })
})
