import { describe, expect, it } from "vitest"
import { actionsToOrders } from "../../src/core/actions.js"
import type { Bar } from "../../src/core/bar.js"
import { costFor, settleFill } from "../../src/core/fill-model.js"
import { type KernelConfig, planStep } from "../../src/core/kernel.js"
import { Ledger } from "../../src/core/ledger.js"
import { SimBook } from "../../src/core/sim-book.js"

// FinRL's per-stock lists when their values differ: AAA costs 10 %, BBB nothing.
const buy = { AAA: 0.1, BBB: 0 }
const sell = { AAA: 0.5, BBB: 0 }
const tickers = ["AAA", "BBB"]
const bar = (time: number, price: number): Bar => ({ time, open: price, high: price, low: price, close: price, volume: 1 })

describe("costFor", () => {
  it("is the number for every ticker, else the ticker's own, else the highest listed", () => {
    expect(costFor(0.001, "AAA")).toBe(0.001)
    expect(costFor(buy, "AAA")).toBe(0.1)
    expect(costFor(buy, "BBB")).toBe(0)
    expect(costFor(buy, "ZZZ")).toBe(0.1)
    expect(costFor(buy)).toBe(0.1)
  })
})

describe("per-ticker costs in FinRL's rules (actionsToOrders)", () => {
  it("sizes each buy with its own ticker's cost: cash // (price · (1 + cost))", () => {
    const plan = actionsToOrders([1, 1], { cash: 1000, prices: [100, 100], holdings: [0, 0], tickers }, { hmax: 10, buyCostPct: buy, sellCostPct: sell })
    // BBB (ties go by index, buys walk back): 1000 // 100 = 10 shares, all the cash; AAA gets none
    expect(plan.orders).toEqual([{ index: 1, side: "buy", qty: 10 }])
    const only = actionsToOrders([1, 0], { cash: 1000, prices: [100, 100], holdings: [0, 0], tickers }, { hmax: 10, buyCostPct: buy, sellCostPct: sell })
    // AAA: 1000 // 110 = 9 shares, 990 spent
    expect(only.orders).toEqual([{ index: 0, side: "buy", qty: 9 }])
    expect(only.cash).toBeCloseTo(10, 9)
  })

  it("books each sell with its own ticker's cost", () => {
    const plan = actionsToOrders([-1, -1], { cash: 0, prices: [100, 100], holdings: [5, 5], tickers }, { hmax: 10, buyCostPct: buy, sellCostPct: sell })
    expect(plan.cash).toBe(100 * 5 * 0.5 + 100 * 5 * 1)
  })

  it("equal costs per ticker decide exactly as the one number", () => {
    const book = { cash: 31991.96, prices: [319.6, 12.5], holdings: [3, 0], tickers }
    const listed = actionsToOrders([0.7, -0.2], book, { hmax: 100, buyCostPct: { AAA: 0.001, BBB: 0.001 }, sellCostPct: { AAA: 0.001, BBB: 0.001 } })
    const scalar = actionsToOrders([0.7, -0.2], book, { hmax: 100, buyCostPct: 0.001, sellCostPct: 0.001 })
    expect(listed).toEqual(scalar)
  })

  it("the kernel hands the tickers to the rules", () => {
    const config: KernelConfig = { deploymentId: "d", tickers, layout: "finrl-stock-trading-df", rules: { hmax: 10, buyCostPct: buy, sellCostPct: sell }, risk: {}, observedThreshold: undefined }
    const ledger = new Ledger(tickers, { buyPct: 0, sellPct: 0 }, { cash: 1000 })
    const plan = planStep(config, {
      barTime: 0, ledger: ledger.snapshot(), closes: [100, 100], indicators: [[0], [0]], present: [true, true], turbulence: 0, cooldown: [0, 0], guardMode: "normal", noNewPositions: false
    }, [1, 0])
    expect(plan.orders.map((o) => [o.ticker, o.qty])).toEqual([["AAA", 9]])
  })
})

describe("per-ticker fees booked by the ledger and the simulated broker", () => {
  it("settleFill charges the ticker's own fee", () => {
    expect(settleFill("buy", 10, 100, { buyPct: buy, sellPct: sell }, "AAA")).toEqual({ fee: 100, cashDelta: -1100 })
    expect(settleFill("sell", 10, 100, { buyPct: buy, sellPct: sell }, "AAA")).toEqual({ fee: 500, cashDelta: 500 })
    expect(settleFill("buy", 10, 100, { buyPct: buy, sellPct: sell }, "BBB")).toEqual({ fee: 0, cashDelta: -1000 })
  })

  it("the ledger books and reserves with each ticker's fee", () => {
    const ledger = new Ledger(tickers, { buyPct: buy, sellPct: sell }, { cash: 10_000 })
    expect(ledger.fill({ clientOrderId: "a", ticker: "AAA", side: "buy", qty: 10, price: 100 })).toBe(100)
    expect(ledger.fill({ clientOrderId: "b", ticker: "BBB", side: "buy", qty: 10, price: 100 })).toBe(0)
    expect(ledger.cash).toBe(10_000 - 1100 - 1000)
    ledger.intend({ clientOrderId: "c", ticker: "AAA", side: "buy", qty: 1 }, 100)
    ledger.intend({ clientOrderId: "d", ticker: "BBB", side: "buy", qty: 1 }, 100)
    expect(ledger.snapshot().reservedCash).toBeCloseTo(110 + 100, 9)
  })

  it("the simulated book fills with each ticker's fee", () => {
    const book = new SimBook({ initialCash: 10_000, fillPrice: "close", slippageBps: 0, buyCostPct: buy, sellCostPct: sell })
    book.onBar("AAA", bar(0, 100))
    book.onBar("BBB", bar(0, 100))
    expect(book.submit({ ticker: "AAA", side: "buy", qty: 10, type: "market", timeInForce: "day", clientOrderId: "a" }, 1).ok).toBe(true)
    expect(book.submit({ ticker: "BBB", side: "buy", qty: 10, type: "market", timeInForce: "day", clientOrderId: "b" }, 1).ok).toBe(true)
    expect(book.account().cash).toBe(10_000 - 1100 - 1000)
  })

  it("starts with FinRL's num_stock_shares, valued from their first close", () => {
    const book = new SimBook({ initialCash: 500, fillPrice: "close", slippageBps: 0, buyCostPct: 0, sellCostPct: 0, initialPositions: new Map([["AAA", 3], ["BBB", 0]]) })
    expect(book.positionList().map((p) => [p.ticker, p.qty])).toEqual([["AAA", 3]])
    book.onBar("AAA", bar(0, 40))
    expect(book.account()).toMatchObject({ cash: 500, equity: 620 })
    expect(book.positionList()).toEqual([{ ticker: "AAA", qty: 3, avgEntryPrice: 40 }])
    expect(book.submit({ ticker: "AAA", side: "sell", qty: 3, type: "market", timeInForce: "day", clientOrderId: "s" }, 1).ok).toBe(true)
    expect(book.account().cash).toBe(620)
  })
})
