import { describe, expect, it } from "vitest"
import {
  barCanFill,
  buyCost,
  fillTime,
  findFillBar,
  marketFill,
  NO_FEES,
  settleFill,
  slippedPrice
} from "../../src/core/fill-model.js"

const MIN = 60_000
const S = 1_000
/** A session of minute bars 09:30–09:35 (as epoch offsets), a gap, and the next session's first minutes. */
const starts = [0, 1, 2, 3, 4].map((i) => i * MIN).concat([1000 * MIN, 1001 * MIN])

describe("findFillBar: the first bar whose end is after the order's arrival", () => {
  it("takes the bar in progress when the order arrives inside it", () => {
    expect(findFillBar(starts, MIN, 0)).toBe(0) // at the first bar's start
    expect(findFillBar(starts, MIN, 3 * S)).toBe(0)
    expect(findFillBar(starts, MIN, 2 * MIN + 59 * S)).toBe(2)
    expect(findFillBar(starts, MIN, MIN - 1)).toBe(0)
  })

  it("takes the bar starting at a bar's close for an order sent exactly at that close", () => {
    expect(findFillBar(starts, MIN, MIN)).toBe(1)
    expect(findFillBar(starts, MIN, 3 * MIN)).toBe(3)
  })

  it("takes the next session's first bar for an order sent while the market is closed", () => {
    expect(findFillBar(starts, MIN, 5 * MIN)).toBe(5) // at the last bar's close
    expect(findFillBar(starts, MIN, 500 * MIN)).toBe(5)
    expect(findFillBar(starts, MIN, -10 * MIN)).toBe(0) // before the first session
  })

  it("returns the number of bars when every bar has ended", () => {
    expect(findFillBar(starts, MIN, 1002 * MIN)).toBe(starts.length)
    expect(findFillBar([], MIN, 0)).toBe(0)
  })

  it("works at any bar length: 5-minute bars take the 5-minute bar in progress", () => {
    const five = [0, 5, 10].map((i) => i * MIN)
    expect(findFillBar(five, 5 * MIN, 5 * MIN + 3 * S)).toBe(1)
    expect(findFillBar(five, 5 * MIN, 5 * MIN)).toBe(1)
    expect(findFillBar(five, 5 * MIN, 5 * MIN - 1)).toBe(0)
    expect(findFillBar(five, 5 * MIN, 15 * MIN)).toBe(3)
  })

  it("skips a missing minute: an order in a gap between bars takes the next bar", () => {
    const gappy = [0, 1, 3].map((i) => i * MIN) // 09:32 missing
    expect(findFillBar(gappy, MIN, 2 * MIN + 30 * S)).toBe(2)
  })

  it("agrees with a linear scan of barCanFill", () => {
    for (let at = -MIN; at <= 1003 * MIN; at += 7 * S) {
      const linear = starts.findIndex((s) => barCanFill(s, MIN, at))
      expect(findFillBar(starts, MIN, at)).toBe(linear < 0 ? starts.length : linear)
    }
  })
})

describe("barCanFill and fillTime", () => {
  it("a bar can fill an order until its end, not at it", () => {
    expect(barCanFill(0, MIN, MIN - 1)).toBe(true)
    expect(barCanFill(0, MIN, MIN)).toBe(false)
    expect(barCanFill(MIN, MIN, 0)).toBe(true) // a later bar
  })

  it("fills on arrival inside a bar, at the bar's start when it starts later", () => {
    expect(fillTime(0, 3 * S)).toBe(3 * S)
    expect(fillTime(MIN, MIN)).toBe(MIN)
    expect(fillTime(1000 * MIN, 5 * MIN)).toBe(1000 * MIN)
  })
})

describe("slippedPrice", () => {
  it("moves the price against the order", () => {
    expect(slippedPrice("buy", 100, 10)).toBeCloseTo(100.1, 12)
    expect(slippedPrice("sell", 100, 10)).toBeCloseTo(99.9, 12)
    expect(slippedPrice("buy", 100, 0)).toBe(100)
    expect(slippedPrice("sell", 100, 0)).toBe(100)
  })
})

describe("fees and cash", () => {
  const fees = { buyPct: 0.001, sellPct: 0.002 }

  it("a buy takes price·qty·(1 + buyPct); the fee is the notional times buyPct", () => {
    expect(buyCost(10, 101, fees)).toBeCloseTo(1011.01, 9)
    const s = settleFill("buy", 10, 101, fees)
    expect(s.cashDelta).toBeCloseTo(-1011.01, 9)
    expect(s.fee).toBeCloseTo(1.01, 12)
    expect(s.cashDelta).toBe(-buyCost(10, 101, fees))
  })

  it("a sell gives price·qty·(1 − sellPct); the fee is the notional times sellPct", () => {
    const s = settleFill("sell", 4, 102.5, fees)
    expect(s.cashDelta).toBeCloseTo(409.18, 9)
    expect(s.fee).toBeCloseTo(0.82, 12)
  })

  it("without fees, cash moves by exactly the notional", () => {
    expect(settleFill("buy", 3, 33.3, NO_FEES)).toEqual({ fee: 0, cashDelta: -(33.3 * 3) })
    expect(settleFill("sell", 3, 33.3, NO_FEES)).toEqual({ fee: 0, cashDelta: 33.3 * 3 })
    expect(NO_FEES).toEqual({ buyPct: 0, sellPct: 0 })
  })

  it("books what FinRL's environment books, bit for bit", () => {
    // FinRL: cash -= price * qty * (1 + buy_cost_pct); cash += price * qty * (1 - sell_cost_pct)
    for (const [price, qty] of [[319.6, 100], [0.1, 3], [12345.678, 7]] as const) {
      expect(settleFill("buy", qty, price, fees).cashDelta).toBe(-(price * qty * (1 + 0.001)))
      expect(settleFill("sell", qty, price, fees).cashDelta).toBe(price * qty * (1 - 0.002))
    }
  })
})

describe("marketFill", () => {
  it("fills a buy at the open plus slippage and books its fee", () => {
    const f = marketFill({ side: "buy", qty: 10, open: 101, slippageBps: 10, fees: { buyPct: 0.001, sellPct: 0.002 } })
    expect(f.price).toBeCloseTo(101.101, 10)
    expect(f.cashDelta).toBeCloseTo(-101.101 * 10 * 1.001, 9)
    expect(f.fee).toBeCloseTo(101.101 * 10 * 0.001, 12)
  })

  it("fills a sell at the open minus slippage and books its fee", () => {
    const f = marketFill({ side: "sell", qty: 4, open: 103, slippageBps: 10, fees: { buyPct: 0.001, sellPct: 0.002 } })
    expect(f.price).toBeCloseTo(102.897, 10)
    expect(f.cashDelta).toBeCloseTo(102.897 * 4 * 0.998, 9)
    expect(f.fee).toBeCloseTo(102.897 * 4 * 0.002, 12)
  })

  it("is the open itself without slippage or fees", () => {
    expect(marketFill({ side: "buy", qty: 2, open: 50, slippageBps: 0, fees: NO_FEES })).toEqual({ price: 50, fee: 0, cashDelta: -100 })
    expect(marketFill({ side: "sell", qty: 2, open: 50, slippageBps: 0, fees: NO_FEES })).toEqual({ price: 50, fee: 0, cashDelta: 100 })
  })
})
