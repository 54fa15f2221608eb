import { ApiError, AuthError, NotFoundError, PermissionError, ValidationError } from "@alpacahq/alpaca-trade-api"
import { afterEach, describe, expect, it } from "vitest"
import { BAR_MS, DAY1_OPEN, DAY2_OPEN, MIN, startHarness, type Harness } from "./helpers.js"

let h: Harness | undefined
afterEach(async () => {
  await h?.emu.close()
  h = undefined
})

describe("emulator trading API via the official SDK", { timeout: 5_000 }, () => {
  it("serves account, clock and calendar", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    const account = await alpaca.trading.account.getAccount()
    expect(account.status).toBe("ACTIVE")
    expect(account.cash).toBe("100000")
    expect(account.buyingPower).toBe("100000")
    expect(account.equity).toBe("100000")
    expect(account.currency).toBe("USD")

    const clock = await alpaca.trading.clock.legacyClock()
    expect(clock.isOpen).toBe(true)
    expect(clock.timestamp.getTime()).toBe(DAY1_OPEN)
    expect(clock.nextClose.getTime()).toBe(DAY1_OPEN + 30 * MIN)
    expect(clock.nextOpen.getTime()).toBe(DAY2_OPEN)

    const v3 = await alpaca.trading.clock.clock({ markets: "NYSE" })
    expect(v3.clocks[0].phase).toBe("core")
    expect(v3.clocks[0].market.acronym).toBe("NYSE")
    expect(v3.clocks[0].nextMarketClose.getTime()).toBe(DAY1_OPEN + 30 * MIN)

    const calendar = await alpaca.trading.calendar.legacyCalendar()
    expect(calendar.map((d) => [d.date.toISOString().slice(0, 10), d.open, d.close])).toEqual([
      ["2024-01-02", "09:30", "10:00"],
      ["2024-01-03", "09:30", "10:00"]
    ])
    const one = await alpaca.trading.calendar.legacyCalendar({ start: new Date("2024-01-03"), end: new Date("2024-01-03") })
    expect(one).toHaveLength(1)
    const v3cal = await alpaca.trading.calendar.calendar({ market: "NYSE" })
    expect(v3cal.calendar.map((d) => d.coreStart.getTime())).toEqual([DAY1_OPEN, DAY2_OPEN])

    // After the first session closes, the clock is closed until the next open.
    await emu.advanceTo(DAY1_OPEN + 45 * MIN)
    const closed = await alpaca.trading.clock.legacyClock()
    expect(closed.isOpen).toBe(false)
    expect(closed.nextOpen.getTime()).toBe(DAY2_OPEN)
    expect(closed.nextClose.getTime()).toBe(DAY2_OPEN + 30 * MIN)

    // Raw wire format: New York offsets as Alpaca formats them, rate-limit headers.
    const res = await fetch(`${emu.url}/v2/clock`, {
      headers: { "APCA-API-KEY-ID": "EMULATORKEYID0000000", "APCA-API-SECRET-KEY": "emulator-secret-key-0000000000000000000000" }
    })
    expect(await res.json()).toEqual({
      timestamp: "2024-01-02T10:15:00-05:00",
      is_open: false,
      next_open: "2024-01-03T09:30:00-05:00",
      next_close: "2024-01-03T10:00:00-05:00"
    })
    expect(res.headers.get("x-ratelimit-limit")).toBe("200")
    expect(Number(res.headers.get("x-ratelimit-remaining"))).toBeLessThan(200)
    expect(res.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/)
  })

  it("fills a market order on arrival at the open of the bar in progress, with slippage, and updates position and cash", async () => {
    h = await startHarness({ slippageBps: 10, speed: 0 }) // speed 0: nothing is processed unless a request or advanceTo asks
    const { alpaca, emu } = h
    // 09:36 is inside AAA bar 1 (09:35–09:40, open 101): the order fills at once, at 09:36, at that open.
    await emu.advanceTo(DAY1_OPEN + 6 * MIN)
    const placed = await alpaca.trading.orders.market({ symbol: "AAA", qty: 10, side: "buy", clientOrderId: "buy-1" })
    expect(placed.status).toBe("new") // the answer shows the order as accepted
    expect(placed.filledQty).toBe("0")

    const all = await alpaca.trading.orders.getAllOrders({ status: "all" })
    expect(all.map((o) => o.clientOrderId)).toEqual(["buy-1"])
    expect(await alpaca.trading.orders.getAllOrders({ status: "open" })).toEqual([])

    const filled = await alpaca.trading.orders.getOrderByOrderID({ orderId: placed.id! })
    expect(filled.status).toBe("filled")
    expect(filled.filledQty).toBe("10")
    expect(filled.filledAvgPrice).toBe("101.101") // 101 × (1 + 10bps)
    expect(filled.filledAt?.getTime()).toBe(DAY1_OPEN + 6 * MIN)
    expect(emu.marketNow()).toBe(DAY1_OPEN + 6 * MIN)

    const position = await alpaca.trading.positions.getOpenPosition({ symbolOrAssetId: "AAA" })
    expect(position.qty).toBe("10")
    expect(position.avgEntryPrice).toBe("101.101")
    expect(position.side).toBe("long")
    // Marked to the latest published close (bar 0 closed at 101).
    expect(position.currentPrice).toBe("101")
    const account = await alpaca.trading.account.getAccount()
    expect(account.cash).toBe("98988.99")
    expect(account.longMarketValue).toBe("1010")
    expect(account.equity).toBe("99998.99")

    // Selling more than held is forbidden (no shorting).
    await expect(alpaca.trading.orders.market({ symbol: "AAA", qty: 11, side: "sell" })).rejects.toBeInstanceOf(PermissionError)
    // Insufficient buying power → 403 with Alpaca's body.
    const tooBig = await alpaca.trading.orders.market({ symbol: "BBB", qty: 100_000, side: "buy" }).catch((e: unknown) => e)
    expect(tooBig).toBeInstanceOf(PermissionError)
    expect((tooBig as ApiError).status).toBe(403)
    expect((tooBig as ApiError).code).toBe(40310000)
    expect((tooBig as ApiError).message).toContain("insufficient buying power")

    // Sell everything exactly at 09:45, bar 2's close: bar 3 (09:45, open 103) fills it, minus slippage; the position disappears.
    await emu.advanceTo(DAY1_OPEN + 3 * BAR_MS)
    const sell = await alpaca.trading.orders.market({ symbol: "AAA", qty: 10, side: "sell" })
    const sold = await alpaca.trading.orders.getOrderByOrderID({ orderId: sell.id! })
    expect(sold.status).toBe("filled")
    expect(sold.filledAvgPrice).toBe("102.897") // 103 × (1 − 10bps)
    expect(sold.filledAt?.getTime()).toBe(DAY1_OPEN + 3 * BAR_MS)
    await expect(alpaca.trading.positions.getOpenPosition({ symbolOrAssetId: "AAA" })).rejects.toBeInstanceOf(NotFoundError)
    expect(await alpaca.trading.positions.getAllOpenPositions()).toEqual([])
  })

  it("books buy and sell fees on notional and reserves them in buying power", async () => {
    h = await startHarness({ initialCash: 1_000, buyCostPct: 0.01, sellCostPct: 0.02, speed: 0 })
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + BAR_MS) // AAA bar 1 starts: open 101; bar 0 closed at 101
    // 10 × 101 × 1.01 = 1020.1 > 1000 is refused; 9 × 101 × 1.01 = 918.09 fits
    const refused = await alpaca.trading.orders.market({ symbol: "AAA", qty: 10, side: "buy" }).catch((e: unknown) => e)
    expect((refused as ApiError).status).toBe(403)
    const buy = await alpaca.trading.orders.market({ symbol: "AAA", qty: 9, side: "buy" })
    expect((await alpaca.trading.orders.getOrderByOrderID({ orderId: buy.id! })).filledAvgPrice).toBe("101") // fees are not in the price
    let account = await alpaca.trading.account.getAccount()
    expect(Number(account.cash)).toBeCloseTo(1_000 - 9 * 101 * 1.01, 9)
    // an open limit buy holds back its cost and its fee: 1 × 40 × 1.01
    await alpaca.trading.orders.limit({ symbol: "BBB", qty: 1, side: "buy", limitPrice: 40, timeInForce: "gtc" })
    account = await alpaca.trading.account.getAccount()
    expect(Number(account.buyingPower)).toBeCloseTo(1_000 - 9 * 101 * 1.01 - 40 * 1.01, 9)
    await alpaca.trading.orders.deleteAllOrders()

    await emu.advanceTo(DAY1_OPEN + 2 * BAR_MS) // bar 2 opens at 102
    await alpaca.trading.orders.market({ symbol: "AAA", qty: 9, side: "sell" })
    account = await alpaca.trading.account.getAccount()
    expect(Number(account.cash)).toBeCloseTo(1_000 - 9 * 101 * 1.01 + 9 * 102 * 0.98, 9)
    expect(await alpaca.trading.positions.getAllOpenPositions()).toEqual([])
  })

  it("rejects at fill time a buy whose cost, fee included, exceeds cash", async () => {
    // BBB bar 0 closed at 50.5 and bar 1 opens at 51: buying power is checked at 10 × 50.5 × 1.01 = 510.05 ≤ 512,
    // the fill costs 10 × 51 × 1.01 = 515.1 > 512 (without the fee, 510 would fit)
    h = await startHarness({ initialCash: 512, buyCostPct: 0.01, speed: 0 })
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    const o = await alpaca.trading.orders.market({ symbol: "BBB", qty: 10, side: "buy" })
    const rejected = await alpaca.trading.orders.getOrderByOrderID({ orderId: o.id! })
    expect(rejected.status).toBe("rejected")
    expect(rejected.failedAt?.getTime()).toBe(DAY1_OPEN + BAR_MS)
    expect((await alpaca.trading.account.getAccount()).cash).toBe("512")
  })

  it("queues a day market order placed while closed until the next session's first bar", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + 60 * MIN) // after the first close
    const o = await alpaca.trading.orders.market({ symbol: "BBB", qty: 3, side: "buy" })
    await emu.advanceTo(DAY2_OPEN - MIN)
    expect((await alpaca.trading.orders.getOrderByOrderID({ orderId: o.id! })).status).toBe("new")
    await emu.advanceTo(DAY2_OPEN)
    const filled = await alpaca.trading.orders.getOrderByOrderID({ orderId: o.id! })
    expect(filled.status).toBe("filled")
    expect(filled.filledAvgPrice).toBe("56") // BBB bar 6 (first of day 2) opens at 50 + 6
  })

  it("fills limit orders at the limit when a published bar crosses it, and expires day limits at the close", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    // AAA bar 1: open 101, low 99 → a buy limit at 100 is not marketable at the open but crosses.
    const crossing = await alpaca.trading.orders.limit({ symbol: "AAA", qty: 1, side: "buy", limitPrice: 100 })
    // A buy limit far below every low never fills and expires at the day's close.
    const never = await alpaca.trading.orders.limit({ symbol: "AAA", qty: 1, side: "buy", limitPrice: 50 })
    // A marketable buy limit fills at the (better) open.
    const marketable = await alpaca.trading.orders.limit({ symbol: "BBB", qty: 2, side: "buy", limitPrice: 60 })
    await emu.advanceTo(DAY1_OPEN + BAR_MS + 1) // bar 1 started, not ended
    expect((await alpaca.trading.orders.getOrderByOrderID({ orderId: crossing.id! })).status).toBe("new")
    expect((await alpaca.trading.orders.getOrderByOrderID({ orderId: marketable.id! })).filledAvgPrice).toBe("51")
    await emu.advanceTo(DAY1_OPEN + 2 * BAR_MS) // bar 1 published
    const c = await alpaca.trading.orders.getOrderByOrderID({ orderId: crossing.id! })
    expect(c.status).toBe("filled")
    expect(c.filledAvgPrice).toBe("100")
    await emu.advanceTo(DAY1_OPEN + 30 * MIN)
    const n = await alpaca.trading.orders.getOrderByOrderID({ orderId: never.id! })
    expect(n.status).toBe("expired")
    expect(n.expiredAt?.getTime()).toBe(DAY1_OPEN + 30 * MIN)
    const closed = await alpaca.trading.orders.getAllOrders({ status: "closed", direction: "asc" })
    expect(closed.map((o) => o.id)).toEqual([crossing.id, never.id, marketable.id])
  })

  it("rejects a duplicate client_order_id with 422 and finds orders by client order id", async () => {
    h = await startHarness()
    const { alpaca } = h
    await alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy", clientOrderId: "dup-1" })
    const err = await alpaca.trading.orders
      .market({ symbol: "AAA", qty: 1, side: "buy", clientOrderId: "dup-1" })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as ApiError).status).toBe(422)
    expect((err as ApiError).code).toBe(40010001)
    expect((err as ApiError).message).toBe("client_order_id must be unique")

    const found = await alpaca.trading.orders.getOrderByClientOrderId({ clientOrderId: "dup-1" })
    expect(found.symbol).toBe("AAA")
    expect(found.qty).toBe("1")
    await expect(alpaca.trading.orders.getOrderByClientOrderId({ clientOrderId: "nope" })).rejects.toBeInstanceOf(NotFoundError)
    expect(await alpaca.trading.orders.getAllOrders({ status: "all" })).toHaveLength(1)
  })

  it("cancels orders (204), refuses to cancel a filled one (422) and cancels all", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + 1)
    const a = await alpaca.trading.orders.limit({ symbol: "AAA", qty: 1, side: "buy", limitPrice: 10, timeInForce: "gtc" })
    await alpaca.trading.orders.deleteOrderByOrderID({ orderId: a.id! })
    const canceled = await alpaca.trading.orders.getOrderByOrderID({ orderId: a.id! })
    expect(canceled.status).toBe("canceled")
    expect(canceled.canceledAt).toBeInstanceOf(Date)
    const again = await alpaca.trading.orders.deleteOrderByOrderID({ orderId: a.id! }).catch((e: unknown) => e)
    expect((again as ApiError).status).toBe(422)

    const m = await alpaca.trading.orders.market({ symbol: "AAA", qty: 1, side: "buy" })
    await emu.advanceTo(DAY1_OPEN + BAR_MS)
    const late = await alpaca.trading.orders.deleteOrderByOrderID({ orderId: m.id! }).catch((e: unknown) => e)
    expect(late).toBeInstanceOf(ValidationError)
    expect((late as ApiError).message).toBe('order is already in "filled" state')

    await alpaca.trading.orders.limit({ symbol: "AAA", qty: 1, side: "buy", limitPrice: 10, timeInForce: "gtc" })
    await alpaca.trading.orders.limit({ symbol: "BBB", qty: 1, side: "buy", limitPrice: 10, timeInForce: "gtc" })
    await alpaca.trading.orders.deleteAllOrders()
    expect(await alpaca.trading.orders.getAllOrders({ status: "open" })).toEqual([])
    await expect(alpaca.trading.orders.deleteOrderByOrderID({ orderId: "00000000-0000-4000-8000-000000000000" })).rejects.toBeInstanceOf(NotFoundError)
  })

  it("answers wrong or missing keys with 401 and Alpaca's body", async () => {
    h = await startHarness()
    const wrong = h.client({ keyId: "WRONG", secret: "wrong" })
    const err = await wrong.trading.account.getAccount().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as ApiError).status).toBe(401)
    expect((err as ApiError).code).toBe(40110000)
    expect((err as ApiError).message).toBe("request is not authorized")
    await expect(wrong.marketData.stocks.stockLatestBars({ symbols: "AAA" })).rejects.toBeInstanceOf(AuthError)
    const check = await wrong.trading.validateConnection()
    expect(check.ok).toBe(false)

    const res = await fetch(`${h.emu.url}/v2/account`)
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ code: 40110000, message: "request is not authorized" })
  })
})
