import type { streaming } from "@alpacahq/alpaca-trade-api"
import { afterEach, describe, expect, it } from "vitest"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, emulatorStreamUrls } from "../../src/emulator/index.js"
import { BAR_MS, DAY1_OPEN, rawStreamClient, startHarness, waitFor, type Harness } from "./helpers.js"

let h: Harness | undefined
const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) c()
  await h?.emu.close()
  h = undefined
})

const streamOptions = { reconnect: false, pingIntervalMs: 0 } as const
const rawClient = (url: string) => rawStreamClient(url, cleanups)

describe("emulator streams via the official SDK", { timeout: 5_000 }, () => {
  it("streams published bars to the SDK's stock stream (msgpack), with repeated subscribes harmless", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    const stream = alpaca.marketData.stockStream({ feed: "iex", url: emulatorStreamUrls(emu.url).stocks("iex"), ...streamOptions })
    cleanups.push(() => stream.disconnect())
    const bars: streaming.StreamBar[] = []
    const errors: string[] = []
    stream.onBar((b) => bars.push(b))
    stream.onError((e) => errors.push(e))
    const subscriptions: Array<Record<string, string[]>> = []
    const onSub: Array<(s: Record<string, string[]>) => void> = []
    stream.on("subscription", (s: Record<string, string[]>) => {
      subscriptions.push(s)
      for (const f of onSub) f(s)
    })
    const acked = (pred: (s: Record<string, string[]>) => boolean) =>
      waitFor<Record<string, string[]>>((push) => {
        for (const s of subscriptions) push(s)
        onSub.push(push)
      }, pred)

    stream.connect()
    const auth = await stream.whenAuthenticated()
    expect(auth.authenticated).toBe(true)

    stream.subscribeForBars(["AAA"])
    await acked((s) => s.bars.includes("AAA"))
    stream.subscribeForBars(["AAA", "BBB"])
    await acked((s) => s.bars.length === 2)
    expect([...stream.getSubscriptions().bars].sort()).toEqual(["AAA", "BBB"])

    // Just before bar 0 ends nothing is streamed (the subscription ack acts as an ordering barrier).
    await emu.advanceTo(DAY1_OPEN + BAR_MS - 1)
    stream.subscribeForBars(["ZZZ"])
    await acked((s) => s.bars.includes("ZZZ"))
    expect(bars).toEqual([])

    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    await waitFor<number>((push) => {
      const t = setInterval(() => push(bars.length), 5)
      cleanups.push(() => clearInterval(t))
    }, (n) => n >= 2)
    const bySymbol = Object.fromEntries(bars.map((b) => [b.symbol, b]))
    expect(bySymbol.AAA).toMatchObject({ open: 100, high: 102, low: 98, close: 101, volume: 1000 })
    expect(bySymbol.AAA.timestamp.getTime()).toBe(DAY1_OPEN)
    expect(bySymbol.BBB.close).toBe(50.5)
    expect(errors).toEqual([])
  })

  it("rejects wrong keys on both streams with Alpaca's auth errors", async () => {
    h = await startHarness()
    const wrong = h.client({ keyId: "WRONG", secret: "wrong" })
    const urls = emulatorStreamUrls(h.emu.url)
    const md = wrong.marketData.stockStream({ feed: "sip", url: urls.stocks("sip"), ...streamOptions })
    const tr = wrong.trading.stream({ url: urls.trading, ...streamOptions })
    cleanups.push(() => md.disconnect(), () => tr.disconnect())
    md.onError(() => {})
    tr.onError(() => {})
    md.connect()
    tr.connect()
    const mdAuth = await md.whenAuthenticated()
    expect(mdAuth).toMatchObject({ authenticated: false, status: "server_rejected", code: 402, message: "auth failed" })
    const trAuth = await tr.whenAuthenticated()
    expect(trAuth).toMatchObject({ authenticated: false, status: "server_rejected" })
  })

  it("sends trade_updates new and fill events to the SDK's trading stream", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    const stream = alpaca.trading.stream({ url: emulatorStreamUrls(emu.url).trading, ...streamOptions })
    cleanups.push(() => stream.disconnect())
    const updates: streaming.TradeUpdate[] = []
    const waiters: Array<(u: streaming.TradeUpdate) => void> = []
    stream.onTradeUpdate((u) => {
      updates.push(u)
      for (const w of waiters) w(u)
    })
    const update = (event: string) =>
      waitFor<streaming.TradeUpdate>((push) => {
        for (const u of updates) push(u)
        waiters.push(push)
      }, (u) => u.event === event)
    const listening = waitFor<unknown>((push) => stream.on("subscription", push), (s) => Array.isArray(s) && s.includes("trade_updates"))
    stream.subscribeTradeUpdates()
    stream.connect()
    await listening

    await emu.advanceTo(DAY1_OPEN + 1)
    const placed = await alpaca.trading.orders.market({ symbol: "AAA", qty: 5, side: "buy", clientOrderId: "stream-1" })
    const created = await update("new")
    expect(created.order.id).toBe(placed.id)
    expect(created.order.clientOrderId).toBe("stream-1")
    expect(created.order.status).toBe("new")

    // AAA bar 0 (09:30–09:35) is in progress: the order fills on arrival at its open, no market time passing.
    const fill = await update("fill")
    expect(fill.order.id).toBe(placed.id)
    expect(fill.order.status).toBe("filled")
    expect(fill.order.filledAvgPrice).toBe("100")
    expect(fill.price).toBe("100")
    expect(fill.qty).toBe("5")
    expect(fill.positionQty).toBe("5")
    expect(fill.timestamp?.getTime()).toBe(DAY1_OPEN + 1)
    expect(fill.executionId).toEqual(expect.any(String))
    expect(updates.map((u) => u.event)).toEqual(["new", "fill"])

    // The SDK's submitAndWait workflow completes against the emulator (a limit order at a bar start fills at once).
    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    const filled = await alpaca.trading.submitAndWait(
      { type: "limit", symbol: "BBB", qty: 1, side: "buy", limitPrice: 100, timeInForce: "day" },
      { stream, timeoutMs: 3_000 }
    )
    expect(filled.status).toBe("filled")
    expect(filled.filledAvgPrice).toBe("51")

    const canceledOrder = await alpaca.trading.orders.limit({ symbol: "BBB", qty: 1, side: "buy", limitPrice: 1, timeInForce: "gtc" })
    await alpaca.trading.orders.deleteOrderByOrderID({ orderId: canceledOrder.id! })
    const canceled = await update("canceled")
    expect(canceled.order.id).toBe(canceledOrder.id)
  })

  it("speaks Alpaca's JSON protocol to raw clients, including errors and idempotent subscribes", async () => {
    h = await startHarness({ plan: "algo_trader_plus" }) // the paid plan: basic refuses the /v2/sip stream (strict.test.ts)
    const { emu } = h
    const c = await rawClient(emulatorStreamUrls(emu.url).stocks("sip"))
    expect(await c.next((m) => m.T === "success")).toEqual({ T: "success", msg: "connected" })
    c.ws.send(JSON.stringify({ action: "subscribe", bars: ["AAA"] }))
    expect(await c.next((m) => m.T === "error")).toEqual({ T: "error", code: 401, msg: "not authenticated" })
    c.ws.send(JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: "nope" }))
    expect(await c.next((m) => m.T === "error")).toEqual({ T: "error", code: 402, msg: "auth failed" })
    c.ws.send(JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY }))
    expect(await c.next((m) => m.T === "success")).toEqual({ T: "success", msg: "authenticated" })
    c.ws.send(JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY }))
    expect(await c.next((m) => m.T === "error")).toEqual({ T: "error", code: 403, msg: "already authenticated" })
    c.ws.send("{not json")
    expect(await c.next((m) => m.T === "error")).toEqual({ T: "error", code: 400, msg: "invalid syntax" })
    for (let i = 0; i < 2; i++) {
      c.ws.send(JSON.stringify({ action: "subscribe", bars: ["AAA"], updatedBars: ["AAA"] }))
      const sub = await c.next((m) => m.T === "subscription")
      expect(sub.bars).toEqual(["AAA"])
      expect(sub.updatedBars).toEqual(["AAA"])
      expect(sub.trades).toEqual([])
    }
    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    expect(await c.next((m) => m.T === "b")).toEqual({
      T: "b",
      S: "AAA",
      o: 100,
      h: 102,
      l: 98,
      c: 101,
      v: 1000,
      t: "2024-01-02T14:30:00Z",
      n: 0,
      vw: (102 + 98 + 101) / 3
    })

    const t = await rawClient(emulatorStreamUrls(emu.url).trading)
    t.ws.send(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }))
    expect(await t.next(() => true)).toEqual({ stream: "authorization", data: { status: "unauthorized", action: "listen" } })
    t.ws.send(JSON.stringify({ action: "authenticate", data: { key_id: EMULATOR_KEY_ID, secret_key: EMULATOR_SECRET_KEY } }))
    expect(await t.next(() => true)).toEqual({ stream: "authorization", data: { status: "authorized", action: "authenticate" } })
    t.ws.send(JSON.stringify({ action: "listen", data: { streams: ["trade_updates", "nope"] } }))
    expect(await t.next(() => true)).toEqual({ stream: "listening", data: { streams: ["trade_updates"] } })
  })
})
