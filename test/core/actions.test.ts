import { describe, expect, it } from "vitest"
import { actionsToOrders, type BookState, type TradeRules } from "../../src/core/actions.js"

// Expectations below were derived from FinRL's StockTradingEnv.step / _sell_stock / _buy_stock
// (float32 actions × hmax → astype(int), np.argsort, Python `//`), replayed in Python/numpy.

const rules = (over: Partial<TradeRules> = {}): TradeRules => ({ hmax: 100, buyCostPct: 0, sellCostPct: 0, ...over })
const book = (over: Partial<BookState> = {}): BookState => ({ cash: 1e9, prices: [1], holdings: [0], ...over })
/** shares with -0 normalised to 0, so toEqual compares numbers only. */
const sharesOf = (action: ArrayLike<number>, hmax = 100) =>
  actionsToOrders(action, book({ prices: Array.from(action, () => 1), holdings: Array.from(action, () => 0) }), rules({ hmax })).shares.map(
    (s) => s + 0
  )

describe("actionsToOrders: scaling to integer shares", () => {
  it("clips actions to [-1, 1] before scaling", () => {
    expect(sharesOf([1.5, -3, 1, -1, 1e9, -Infinity, Infinity])).toEqual([100, -100, 100, -100, 100, -100, 100])
  })

  it("truncates toward zero (numpy astype(int)), not floor/round", () => {
    expect(sharesOf([0.999])).toEqual([99])
    expect(sharesOf([-0.999])).toEqual([-99])
    expect(sharesOf([-0.555], 10)).toEqual([-5])
    expect(sharesOf([-0.35], 20)).toEqual([-7])
    expect(sharesOf([0.5], 7)).toEqual([3])
    expect(sharesOf([0.0049, -0.0099])).toEqual([0, 0])
  })

  it("multiplies in float32: 0.29·100 is 29 in FinRL (28.999999999999996 in float64)", () => {
    expect(Math.trunc(0.29 * 100)).toBe(28) // the float64 trap the implementation must avoid
    expect(sharesOf([0.29, -0.29, 0.57])).toEqual([29, -29, 57])
  })

  it("rounds the product to float32: float32(0.7)·100 = 69.99999880… in float64 but 70 in float32", () => {
    const a = Float32Array.of(0.7)
    expect(Math.trunc(a[0] * 100)).toBe(69)
    expect(sharesOf(a)).toEqual([70])
  })

  it("rounds the action itself to float32 first (0.019999999 → float32 0.02 → 2; 0.39999999 → 39)", () => {
    expect(Math.trunc(Math.fround(0.019999999 * 100))).toBe(1) // rounding only the product would give 1
    expect(Math.trunc(Math.fround(0.39999999 * 100))).toBe(40) // ... and 40 here
    expect(sharesOf([0.019999999, 0.39999999])).toEqual([2, 39])
  })

  it("treats NaN as 0: no order, share count 0", () => {
    const plan = actionsToOrders([NaN, 0.5], book({ prices: [10, 10], holdings: [5, 0] }), rules({ hmax: 10 }))
    expect(plan.shares.map((s) => s + 0)).toEqual([0, 5])
    expect(plan.orders).toEqual([{ index: 1, side: "buy", qty: 5 }])
  })

  it("throws RangeError when the action length differs from the ticker count", () => {
    expect(() => actionsToOrders([0.1], book({ prices: [1, 2], holdings: [0, 0] }), rules())).toThrow(RangeError)
    expect(() => actionsToOrders([0.1, 0.2, 0.3], book({ prices: [1, 2], holdings: [0, 0] }), rules())).toThrow(RangeError)
  })
})

describe("actionsToOrders: sells", () => {
  it("sells min(|shares|, holdings), nothing when holdings are 0, and books cash·(1 − sell_cost)", () => {
    const plan = actionsToOrders(
      [-0.8, -0.3, -0.5],
      book({ cash: 1000, prices: [10, 20, 30], holdings: [3, 0, 20] }),
      rules({ hmax: 10, sellCostPct: 0.25 })
    )
    expect(plan.orders).toEqual([
      { index: 0, side: "sell", qty: 3 },
      { index: 2, side: "sell", qty: 5 }
    ])
    expect(plan.holdings).toEqual([0, 0, 15])
    // 1000 + 10·3·0.75 + 30·5·0.75
    expect(plan.cash).toBe(1135)
    expect(plan.shares).toEqual([-8, -3, -5])
  })

  it("sells most-negative first; ties in ascending index order", () => {
    const plan = actionsToOrders(
      [-0.2, -0.9, -0.5, -0.9, -0.5],
      book({ prices: [1, 1, 1, 1, 1], holdings: [50, 50, 50, 50, 50] }),
      rules({ hmax: 10 })
    )
    expect(plan.orders.map((o) => o.index)).toEqual([1, 3, 2, 4, 0])
    expect(plan.orders.every((o) => o.side === "sell")).toBe(true)
  })

  it("does not touch the input book", () => {
    const holdings = [5, 5]
    const b = book({ cash: 10, prices: [1, 1], holdings })
    actionsToOrders([-1, 1], b, rules({ hmax: 3 }))
    expect(holdings).toEqual([5, 5])
    expect(b.cash).toBe(10)
  })
})

describe("actionsToOrders: buys", () => {
  it("sizes by Python floor division: 31991.96 // (319.6·1.001) = 99 although Math.floor(a/b) = 100", () => {
    expect(Math.floor(31991.96 / (319.6 * 1.001))).toBe(100)
    const plan = actionsToOrders([1], book({ cash: 31991.96, prices: [319.6], holdings: [0] }), rules({ hmax: 100, buyCostPct: 0.001 }))
    expect(plan.orders).toEqual([{ index: 0, side: "buy", qty: 99 }])
    expect(plan.cash).toBe(319.9196000000011) // FinRL: state[0] -= price * n * (1 + cost)
    expect(plan.holdings).toEqual([99])
  })

  it("sells fund buys; buys go largest first and each sees the cash left by the previous one", () => {
    // cash 100, sell 5×10 at cost 1/256 → 149.8046875; buy 9×8·(1+1/128) = 72.5625 → 77.2421875;
    // then ticker 2 wanted 5 but 77.2421875 // 50.390625 = 1 → 26.8515625
    const plan = actionsToOrders(
      [-0.8, -0.3, 0.55, 0.95],
      book({ cash: 100, prices: [10, 20, 50, 8], holdings: [5, 0, 3, 0] }),
      rules({ hmax: 10, buyCostPct: 1 / 128, sellCostPct: 1 / 256 })
    )
    expect(plan.shares).toEqual([-8, -3, 5, 9])
    expect(plan.orders).toEqual([
      { index: 0, side: "sell", qty: 5 },
      { index: 3, side: "buy", qty: 9 },
      { index: 2, side: "buy", qty: 1 }
    ])
    expect(plan.cash).toBe(26.8515625)
    expect(plan.holdings).toEqual([0, 0, 4, 9])
  })

  it("matches a FinRL replay with non-dyadic prices and costs to the last bit", () => {
    const plan = actionsToOrders(
      [-0.7, 0.3, 1.0],
      book({ cash: 1234.56, prices: [12.34, 56.78, 9.1], holdings: [40, 2, 0] }),
      rules({ hmax: 50, buyCostPct: 0.001, sellCostPct: 0.0015 })
    )
    expect(plan.orders).toEqual([
      { index: 0, side: "sell", qty: 35 },
      { index: 2, side: "buy", qty: 50 },
      { index: 1, side: "buy", qty: 15 }
    ])
    expect(plan.cash).toBe(357.80545000000006)
    expect(plan.holdings).toEqual([5, 17, 50])
  })

  it("ties among buys go in descending index order (argsort reversed)", () => {
    // cash for exactly one 5-share buy: the higher index wins
    const plan = actionsToOrders([0.5, 0.5, 0.5], book({ cash: 50, prices: [10, 10, 10], holdings: [0, 0, 0] }), rules({ hmax: 10 }))
    expect(plan.orders).toEqual([{ index: 2, side: "buy", qty: 5 }])
    expect(plan.cash).toBe(0)
  })

  it("sell ties ascending and buy ties descending in one step", () => {
    const plan = actionsToOrders(
      [0.5, 0.5, -0.5, -0.5],
      book({ cash: 10, prices: [10, 10, 10, 10], holdings: [0, 0, 9, 9] }),
      rules({ hmax: 10 })
    )
    expect(plan.orders).toEqual([
      { index: 2, side: "sell", qty: 5 },
      { index: 3, side: "sell", qty: 5 },
      { index: 1, side: "buy", qty: 5 },
      { index: 0, side: "buy", qty: 5 }
    ])
    expect(plan.cash).toBe(10)
  })

  it("never emits a zero-share buy when cash does not cover one share, and skips to smaller buys that fit", () => {
    const plan = actionsToOrders([0.9, 0.2], book({ cash: 30, prices: [100, 10], holdings: [0, 0] }), rules({ hmax: 10 }))
    expect(plan.orders).toEqual([{ index: 1, side: "buy", qty: 2 }])
    expect(plan.cash).toBe(10)
    expect(plan.shares).toEqual([9, 2])
  })

  it("buy cost is part of the sizing: 1000 buys 8 at 100 with 12.5 % cost, 10 without", () => {
    expect(actionsToOrders([1], book({ cash: 1000, prices: [100] }), rules({ hmax: 50 })).orders[0].qty).toBe(10)
    const plan = actionsToOrders([1], book({ cash: 1000, prices: [100] }), rules({ hmax: 50, buyCostPct: 0.125 }))
    expect(plan.orders).toEqual([{ index: 0, side: "buy", qty: 8 }])
    expect(plan.cash).toBe(100) // 1000 − 8·100·1.125
  })

  it("does not buy at a non-positive price", () => {
    const plan = actionsToOrders([1, 1], book({ cash: 100, prices: [0, 10], holdings: [0, 0] }), rules({ hmax: 5 }))
    expect(plan.orders).toEqual([{ index: 1, side: "buy", qty: 5 }])
    expect(plan.holdings).toEqual([0, 5])
  })

  it("zero actions give no orders and leave the book as it was", () => {
    const plan = actionsToOrders([0, 0.001, -0.001], book({ cash: 7, prices: [1, 2, 3], holdings: [1, 2, 3] }), rules({ hmax: 100 }))
    expect(plan.orders).toEqual([])
    expect(plan.cash).toBe(7)
    expect(plan.holdings).toEqual([1, 2, 3])
  })
})

describe("actionsToOrders: turbulence", () => {
  const b = book({ cash: 500, prices: [10, 20, 30, 40], holdings: [1, 2, 3, 0] })
  const act = [0.3, -0.2, 0.9, -0.9]

  it("at turbulence ≥ threshold sells every whole position (whatever the action) and buys nothing", () => {
    const plan = actionsToOrders(act, b, rules({ hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001, turbulenceThreshold: 5 }), 5)
    expect(plan.shares).toEqual([-10, -10, -10, -10])
    expect(plan.orders).toEqual([
      { index: 0, side: "sell", qty: 1 },
      { index: 1, side: "sell", qty: 2 },
      { index: 2, side: "sell", qty: 3 }
    ])
    expect(plan.holdings).toEqual([0, 0, 0, 0])
    expect(plan.cash).toBe(639.86) // FinRL replay
  })

  it("sells whole positions even when larger than hmax", () => {
    const plan = actionsToOrders([1], book({ cash: 0, prices: [2], holdings: [250] }), rules({ hmax: 10, turbulenceThreshold: 1 }), 3)
    expect(plan.orders).toEqual([{ index: 0, side: "sell", qty: 250 }])
    expect(plan.cash).toBe(500)
  })

  it("below the threshold, or with no threshold, trades normally", () => {
    const below = actionsToOrders(act, b, rules({ hmax: 10, turbulenceThreshold: 5 }), 4.999)
    const none = actionsToOrders(act, b, rules({ hmax: 10 }), 1e9)
    for (const plan of [below, none]) {
      expect(plan.shares).toEqual([3, -2, 9, -9])
      expect(plan.orders).toEqual([
        { index: 1, side: "sell", qty: 2 },
        { index: 2, side: "buy", qty: 9 },
        { index: 0, side: "buy", qty: 3 }
      ])
      expect(plan.cash).toBe(500 + 40 - 270 - 30)
    }
  })
})
