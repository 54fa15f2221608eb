import { describe, expect, it } from "vitest"
import type { Bar } from "../../src/core/bar.js"
import { marketFill } from "../../src/core/fill-model.js"
import { SimBook, type SimBookOptions } from "../../src/core/sim-book.js"
import type { OrderRequest } from "../../src/domain/Trading.js"

const bar = (time: number, open: number, close: number): Bar => ({ time, open, high: Math.max(open, close), low: Math.min(open, close), close, volume: 1000 })
const req = (ticker: string, side: "buy" | "sell", qty: number, clientOrderId: string, over: Partial<OrderRequest> = {}): OrderRequest => ({
  ticker,
  side,
  qty,
  type: "market",
  timeInForce: "day",
  clientOrderId,
  ...over
})
const book = (over: Partial<SimBookOptions> = {}) =>
  new SimBook({ initialCash: 10_000, fillPrice: "next_open", slippageBps: 0, buyCostPct: 0, sellCostPct: 0, ...over })
const accepted = (r: ReturnType<SimBook["submit"]>) => {
  if (!r.ok) throw new Error(`refused: ${r.reason}`)
  return r.order
}

describe("SimBook, next_open fills", () => {
  it("a buy waits for the ticker's next bar and fills at its open plus slippage, paying buy cost", () => {
    const b = book({ slippageBps: 10, buyCostPct: 0.001, sellCostPct: 0.002 })
    b.onBar("AAPL", bar(0, 99, 100))
    const order = accepted(b.submit(req("AAPL", "buy", 10, "c1"), 5))
    expect(order).toMatchObject({ clientOrderId: "c1", ticker: "AAPL", side: "buy", qty: 10, filledQty: 0, status: "new", submittedAt: 5 })
    expect(order.filledAvgPrice).toBeUndefined()
    expect(b.openOrders()).toEqual([order])
    expect(b.takeUpdates()).toEqual([])
    // buying power holds back 10 · 100 (last close) · 1.001
    expect(b.account()).toEqual({ cash: 10_000, equity: 10_000, buyingPower: expect.closeTo(8999, 9) })

    b.onBar("MSFT", bar(60_000, 50, 51)) // another ticker's bar does not fill it
    expect(b.openOrders()).toHaveLength(1)
    expect(b.takeUpdates()).toEqual([])

    b.onBar("AAPL", bar(60_000, 101, 102))
    expect(b.openOrders()).toEqual([])
    const updates = b.takeUpdates()
    expect(updates).toHaveLength(1)
    const u = updates[0]
    if (u._tag !== "Fill") throw new Error("expected a fill")
    expect(u.partial).toBe(false)
    expect(u.fill).toMatchObject({ time: 60_000, ticker: "AAPL", side: "buy", qty: 10, clientOrderId: "c1", orderId: order.id })
    expect(u.fill.price).toBeCloseTo(101.101, 10) // 101 · (1 + 10 bp)
    expect(u.order).toMatchObject({ id: order.id, status: "filled", filledQty: 10 })
    expect(u.order.filledAvgPrice).toBeCloseTo(101.101, 10)
    expect(b.takeUpdates()).toEqual([]) // drained

    const cash = 10_000 - 101.101 * 10 * 1.001 // 8987.97899
    const acct = b.account()
    expect(acct.cash).toBeCloseTo(8987.97899, 8)
    expect(acct.buyingPower).toBeCloseTo(cash, 8)
    expect(acct.equity).toBeCloseTo(8987.97899 + 10 * 102, 8) // marked at the last close
    expect(b.positionList()).toEqual([{ ticker: "AAPL", qty: 10, avgEntryPrice: expect.closeTo(101.101, 10) }])
    expect(b.orderByClientId("c1")).toMatchObject({ status: "filled", filledQty: 10 })

    // a sell fills at the next open minus slippage and receives price · qty · (1 − sell cost)
    accepted(b.submit(req("AAPL", "sell", 4, "c2"), 70_000))
    expect(b.account().cash).toBeCloseTo(8987.97899, 8)
    b.onBar("AAPL", bar(120_000, 103, 104))
    const [s] = b.takeUpdates()
    if (s._tag !== "Fill") throw new Error("expected a fill")
    expect(s.fill.price).toBeCloseTo(102.897, 10) // 103 · (1 − 10 bp)
    expect(s.fill.time).toBe(120_000)
    expect(b.account().cash).toBeCloseTo(8987.97899 + 410.764824, 8) // 102.897 · 4 · 0.998
    expect(b.account().equity).toBeCloseTo(8987.97899 + 410.764824 + 6 * 104, 8)
    expect(b.positionList()).toEqual([{ ticker: "AAPL", qty: 6, avgEntryPrice: expect.closeTo(101.101, 10) }])
  })

  it("pending orders of one ticker fill in submission order at the same open", () => {
    const b = book()
    b.onBar("X", bar(0, 10, 10))
    accepted(b.submit(req("X", "buy", 3, "a"), 1))
    accepted(b.submit(req("X", "buy", 2, "b"), 2))
    b.onBar("X", bar(60_000, 12, 13))
    const ids = b.takeUpdates().map((u) => (u._tag === "Fill" ? u.fill.clientOrderId : u._tag))
    expect(ids).toEqual(["a", "b"])
    expect(b.account().cash).toBe(10_000 - 5 * 12)
    expect(b.positionList()).toEqual([{ ticker: "X", qty: 5, avgEntryPrice: 12 }])
  })

  it("a next-open fill may take cash below zero (checked at the last close only)", () => {
    const b = book({ initialCash: 1000 })
    b.onBar("X", bar(0, 100, 100))
    accepted(b.submit(req("X", "buy", 10, "a"), 1))
    b.onBar("X", bar(60_000, 110, 110))
    expect(b.account()).toEqual({ cash: -100, equity: 1000, buyingPower: 0 })
  })
})

describe("SimBook, the shared fill model (core/fill-model.ts)", () => {
  it("an order at a bar's close fills at the next bar's open, at that bar's start", () => {
    const b = book({ barMs: 60_000 })
    b.onBar("X", bar(0, 10, 11))
    accepted(b.submit(req("X", "buy", 1, "e"), 60_000))
    b.onBar("X", bar(60_000, 12, 13))
    const [u] = b.takeUpdates()
    if (u._tag !== "Fill") throw new Error("expected a fill")
    expect(u.fill).toMatchObject({ time: 60_000, price: 12 })
  })

  it("an order submitted while a bar is in progress fills at that bar's open, at its submission", () => {
    const b = book({ barMs: 60_000 })
    b.onBar("X", bar(0, 10, 11))
    accepted(b.submit(req("X", "buy", 1, "mid"), 90_000)) // the 60 000 bar is in progress
    b.onBar("X", bar(60_000, 12, 13))
    const [u] = b.takeUpdates()
    if (u._tag !== "Fill") throw new Error("expected a fill")
    expect(u.fill).toMatchObject({ time: 90_000, price: 12 })
  })

  it("with barMs, a bar that had ended when the order was submitted (delivered late) does not fill it", () => {
    const b = book({ barMs: 60_000 })
    b.onBar("X", bar(0, 10, 11))
    accepted(b.submit(req("X", "buy", 1, "late"), 125_000))
    b.onBar("X", bar(60_000, 12, 13)) // ended at 120 000, before the order
    expect(b.takeUpdates()).toEqual([])
    expect(b.openOrders()).toHaveLength(1)
    b.onBar("X", bar(120_000, 14, 15))
    const [u] = b.takeUpdates()
    if (u._tag !== "Fill") throw new Error("expected a fill")
    expect(u.fill).toMatchObject({ time: 125_000, price: 14 })
    // without barMs the late bar is taken to be in progress: it fills at its open, at the submission
    const d = book()
    d.onBar("X", bar(0, 10, 11))
    accepted(d.submit(req("X", "buy", 1, "late"), 125_000))
    d.onBar("X", bar(60_000, 12, 13))
    const [v] = d.takeUpdates()
    if (v._tag !== "Fill") throw new Error("expected a fill")
    expect(v.fill).toMatchObject({ time: 125_000, price: 12 })
  })

  it("with the tape's bar in progress, an order fills on arrival, as the emulator fills it: a step's sells fund its buys", () => {
    const tape = new Map([["X", [bar(0, 10, 10), bar(60_000, 10.5, 11)]], ["Y", [bar(0, 100, 100), bar(60_000, 101, 102)]]])
    const barInProgress = (ticker: string, at: number) => tape.get(ticker)!.find((b) => b.time + 60_000 > at)
    const run = (over: Partial<SimBookOptions>) => {
      const b = book({ initialCash: 1_000, barMs: 60_000, ...over })
      b.onBar("X", bar(-60_000, 10, 10))
      accepted(b.submit(req("X", "buy", 100, "x"), 0))
      b.onBar("X", bar(0, 10, 10))
      b.onBar("Y", bar(0, 100, 100))
      b.takeUpdates()
      // all the cash is in X: sell it at the close of the first bar, then buy Y with the proceeds
      accepted(b.submit(req("X", "sell", 100, "s"), 60_000))
      return { b, buy: b.submit(req("Y", "buy", 10, "b"), 60_000) }
    }
    const onArrival = run({ barInProgress })
    expect(onArrival.buy.ok).toBe(true)
    expect(onArrival.b.takeUpdates().map((u) => (u._tag === "Fill" ? [u.fill.ticker, u.fill.time, u.fill.price] : u._tag))).toEqual([["X", 60_000, 10.5], ["Y", 60_000, 101]])
    // without the tape the sell waits for its bar, so its cash is not there for the buy
    const pending = run({})
    expect(pending.buy).toEqual({ ok: false, reason: "insufficient buying power" })
  })

  it("books cash as marketFill computes it, for next-open and close fills alike", () => {
    const fees = { buyPct: 0.001, sellPct: 0.002 }
    for (const fillPrice of ["next_open", "close"] as const) {
      const b = book({ fillPrice, slippageBps: 7, buyCostPct: fees.buyPct, sellCostPct: fees.sellPct })
      b.onBar("X", bar(0, 33.3, 33.7))
      accepted(b.submit(req("X", "buy", 13, "b"), 60_000))
      b.onBar("X", bar(60_000, 34.1, 34.9))
      accepted(b.submit(req("X", "sell", 5, "s"), 120_000))
      b.onBar("X", bar(120_000, 35.3, 35.5))
      const [buyAt, sellAt] = fillPrice === "close" ? [33.7, 34.9] : [34.1, 35.3]
      const buy = marketFill({ side: "buy", qty: 13, open: buyAt, slippageBps: 7, fees })
      const sell = marketFill({ side: "sell", qty: 5, open: sellAt, slippageBps: 7, fees })
      expect(b.account().cash).toBe(10_000 + buy.cashDelta + sell.cashDelta)
      expect(b.takeUpdates().map((u) => (u._tag === "Fill" ? u.fill.price : NaN))).toEqual([buy.price, sell.price])
    }
  })
})

describe("SimBook, close fills", () => {
  it("fills at once at the last close with slippage; buys up, sells down", () => {
    const b = book({ initialCash: 1000, fillPrice: "close", slippageBps: 25 })
    b.onBar("XYZ", bar(0, 39, 40))
    const order = accepted(b.submit(req("XYZ", "buy", 5, "k1"), 123))
    expect(order).toMatchObject({ status: "filled", filledQty: 5 })
    expect(order.filledAvgPrice).toBeCloseTo(40.1, 12)
    expect(b.openOrders()).toEqual([])
    const [u] = b.takeUpdates()
    if (u._tag !== "Fill") throw new Error("expected a fill")
    expect(u.fill.time).toBe(123)
    expect(u.fill.price).toBeCloseTo(40.1, 12)
    expect(b.account().cash).toBeCloseTo(799.5, 10)

    accepted(b.submit(req("XYZ", "sell", 2, "k2"), 124))
    const [v] = b.takeUpdates()
    if (v._tag !== "Fill") throw new Error("expected a fill")
    expect(v.fill.price).toBeCloseTo(39.9, 12)
    expect(b.account().cash).toBeCloseTo(879.3, 10)
    expect(b.account().equity).toBeCloseTo(879.3 + 3 * 40, 10)
  })

  it("books buy and sell cost pct on cash", () => {
    const b = book({ initialCash: 1000, fillPrice: "close", buyCostPct: 0.25, sellCostPct: 0.5 })
    b.onBar("X", bar(0, 8, 8))
    accepted(b.submit(req("X", "buy", 10, "b"), 1))
    expect(b.account().cash).toBe(1000 - 100) // 8 · 10 · 1.25
    accepted(b.submit(req("X", "sell", 10, "s"), 2))
    expect(b.account().cash).toBe(900 + 40) // 8 · 10 · 0.5
    expect(b.positionList()).toEqual([])
  })
})

describe("SimBook, refusals", () => {
  it("refuses a duplicate client order id, also after the first was filled or canceled", () => {
    const b = book({ fillPrice: "close" })
    b.onBar("X", bar(0, 10, 10))
    accepted(b.submit(req("X", "buy", 1, "dup"), 1))
    const r = b.submit(req("X", "buy", 1, "dup"), 2)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toMatch(/unique/)
    const nb = book()
    nb.onBar("X", bar(0, 10, 10))
    const o = accepted(nb.submit(req("X", "buy", 1, "c"), 1))
    expect(nb.cancel(o.id, 2)).toBe(true)
    expect(nb.submit(req("X", "buy", 1, "c"), 3).ok).toBe(false)
    expect(b.account().cash).toBe(10_000 - 10)
  })

  it("refuses non-positive, non-finite qty, limit orders and tickers without a price", () => {
    const b = book()
    b.onBar("X", bar(0, 10, 10))
    for (const qty of [0, -1, NaN, Infinity]) expect(b.submit(req("X", "buy", qty, `q${qty}`), 1).ok).toBe(false)
    expect(b.submit(req("X", "buy", 1, "lim", { type: "limit", limitPrice: 10 }), 1).ok).toBe(false)
    expect(b.submit(req("Y", "buy", 1, "noprice"), 1).ok).toBe(false)
    expect(b.openOrders()).toEqual([])
  })

  it("refuses selling more than held, counting shares reserved by pending sells", () => {
    const b = book()
    b.onBar("X", bar(0, 10, 10))
    expect(b.submit(req("X", "sell", 1, "short"), 1).ok).toBe(false) // no position: no shorting
    accepted(b.submit(req("X", "buy", 10, "b"), 1))
    b.onBar("X", bar(60_000, 10, 10))
    expect(b.submit(req("X", "sell", 11, "s11"), 2).ok).toBe(false)
    const s6 = accepted(b.submit(req("X", "sell", 6, "s6"), 2))
    const r = b.submit(req("X", "sell", 5, "s5"), 2)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toMatch(/insufficient qty/)
    accepted(b.submit(req("X", "sell", 4, "s4"), 2))
    expect(b.submit(req("X", "sell", 1, "s1"), 2).ok).toBe(false)
    // cancelling a pending sell releases its shares
    expect(b.cancel(s6.id, 3)).toBe(true)
    accepted(b.submit(req("X", "sell", 6, "s6b"), 3))
    b.onBar("X", bar(120_000, 11, 11))
    expect(b.positionList()).toEqual([])
    expect(b.account().cash).toBe(10_000 - 100 + 10 * 11)
  })

  it("checks buys against buying power at the last close, including cost and pending buys", () => {
    const b = book({ initialCash: 1000, buyCostPct: 0.001 })
    b.onBar("X", bar(0, 100, 100))
    const r = b.submit(req("X", "buy", 10, "b10"), 1) // 1001 > 1000
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toMatch(/buying power/)
    const b9 = accepted(b.submit(req("X", "buy", 9, "b9"), 1)) // 900.9
    expect(b.account().buyingPower).toBeCloseTo(99.1, 9)
    expect(b.submit(req("X", "buy", 1, "b1"), 1).ok).toBe(false) // 100.1 > 99.1
    // a cancelled buy no longer holds cash back
    expect(b.cancel(b9.id, 2)).toBe(true)
    expect(b.account().buyingPower).toBe(1000)
    accepted(b.submit(req("X", "buy", 9, "b9b"), 2))
  })

  it("pending buys do not reserve shares and pending sells do not hold back buying power", () => {
    const b = book({ initialCash: 1000 })
    b.onBar("X", bar(0, 10, 10))
    accepted(b.submit(req("X", "buy", 50, "b50"), 1))
    b.onBar("X", bar(60_000, 10, 10)) // holds 50, cash 500
    accepted(b.submit(req("X", "buy", 20, "b20"), 2)) // pending buy of the same ticker
    accepted(b.submit(req("X", "sell", 50, "s50"), 2)) // all 50 still sellable
    expect(b.account().buyingPower).toBe(500 - 200) // only the pending buy is held back
    accepted(b.submit(req("X", "buy", 30, "b30"), 2))
    expect(b.account().buyingPower).toBe(0)
  })

  it("a buy costing exactly the buying power is accepted", () => {
    const b = book({ initialCash: 1000 })
    b.onBar("X", bar(0, 100, 100))
    expect(b.submit(req("X", "buy", 10.001, "over"), 1).ok).toBe(false)
    accepted(b.submit(req("X", "buy", 10, "exact"), 1))
  })
})

describe("SimBook, cancel", () => {
  it("cancelling a pending order emits Canceled and the order never fills", () => {
    const b = book()
    b.onBar("X", bar(0, 10, 10))
    const o = accepted(b.submit(req("X", "buy", 5, "c"), 1))
    expect(b.cancel(o.id, 77)).toBe(true)
    expect(b.takeUpdates()).toEqual([{ _tag: "Canceled", order: { ...o, status: "canceled" }, time: 77 }])
    expect(b.openOrders()).toEqual([])
    expect(b.orderByClientId("c")?.status).toBe("canceled")
    b.onBar("X", bar(60_000, 10, 10))
    expect(b.takeUpdates()).toEqual([])
    expect(b.account().cash).toBe(10_000)
    expect(b.cancel(o.id, 78)).toBe(false) // already cancelled
    expect(b.takeUpdates()).toEqual([])
  })

  it("cannot cancel an unknown or already filled order", () => {
    const b = book({ fillPrice: "close" })
    b.onBar("X", bar(0, 10, 10))
    const o = accepted(b.submit(req("X", "buy", 5, "c"), 1))
    b.takeUpdates()
    expect(b.cancel(o.id, 2)).toBe(false)
    expect(b.cancel("nope", 2)).toBe(false)
    expect(b.takeUpdates()).toEqual([])
    expect(b.orderByClientId("c")?.status).toBe("filled")
    expect(b.orderByClientId("unknown")).toBeUndefined()
  })

  it("gives every order its own id", () => {
    const b = book()
    b.onBar("X", bar(0, 1, 1))
    const ids = ["a", "b", "c"].map((c) => accepted(b.submit(req("X", "buy", 1, c), 1)).id)
    expect(new Set(ids).size).toBe(3)
  })
})

describe("SimBook, positions and account", () => {
  it("lists positions sorted by ticker with the average entry price; closed positions drop out", () => {
    const b = book({ fillPrice: "close" })
    for (const [t, c] of [["MSFT", 300], ["AAPL", 100], ["GOOG", 50]] as const) b.onBar(t, bar(0, c, c))
    accepted(b.submit(req("MSFT", "buy", 2, "m"), 1))
    accepted(b.submit(req("GOOG", "buy", 4, "g"), 1))
    accepted(b.submit(req("AAPL", "buy", 10, "a1"), 1))
    b.onBar("AAPL", bar(60_000, 110, 110))
    accepted(b.submit(req("AAPL", "buy", 30, "a2"), 2))
    expect(b.positionList()).toEqual([
      { ticker: "AAPL", qty: 40, avgEntryPrice: 107.5 }, // (10·100 + 30·110) / 40
      { ticker: "GOOG", qty: 4, avgEntryPrice: 50 },
      { ticker: "MSFT", qty: 2, avgEntryPrice: 300 }
    ])
    accepted(b.submit(req("AAPL", "sell", 20, "a3"), 3))
    accepted(b.submit(req("MSFT", "sell", 2, "m2"), 3))
    expect(b.positionList()).toEqual([
      { ticker: "AAPL", qty: 20, avgEntryPrice: 107.5 },
      { ticker: "GOOG", qty: 4, avgEntryPrice: 50 }
    ])
  })

  it("marks equity to each ticker's last close", () => {
    const b = book({ fillPrice: "close" })
    b.onBar("A", bar(0, 10, 10))
    b.onBar("B", bar(0, 20, 20))
    accepted(b.submit(req("A", "buy", 10, "a"), 1))
    accepted(b.submit(req("B", "buy", 5, "b"), 1))
    expect(b.account()).toEqual({ cash: 9800, equity: 10_000, buyingPower: 9800 })
    b.onBar("A", bar(60_000, 10, 13))
    expect(b.account().equity).toBe(9800 + 130 + 100)
    b.onBar("B", bar(60_000, 20, 16))
    expect(b.account().equity).toBe(9800 + 130 + 80)
  })
})
