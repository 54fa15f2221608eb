import { describe, expect, it } from "vitest"
import { clientOrderId, flattenOrders, type KernelConfig, nonFiniteProblem, observe, planStep, type StepInput } from "../../src/core/kernel.js"
import { Ledger } from "../../src/core/ledger.js"

const config: KernelConfig = {
  deploymentId: "dep",
  tickers: ["AAA", "BBB"],
  layout: "finrl-stock-trading-df",
  rules: { hmax: 100, buyCostPct: 0.001, sellCostPct: 0.001 },
  risk: {},
  observedThreshold: undefined
}
const barTime = Date.parse("2026-02-17T15:00:00Z")

const input = (ledger: Ledger, overrides: Partial<StepInput> = {}): StepInput => ({
  barTime,
  ledger: ledger.snapshot(),
  closes: [100, 50],
  indicators: [[1], [2]],
  present: [true, true],
  turbulence: 0,
  cooldown: [0, 0],
  guardMode: "normal",
  noNewPositions: false,
  ...overrides
})

describe("the decision kernel", () => {
  it("never sells what open orders are already selling", () => {
    const ledger = new Ledger(config.tickers, { buyPct: 0, sellPct: 0 }, { cash: 0, positions: new Map([["AAA", 49]]) })
    ledger.intend({ clientOrderId: "earlier", ticker: "AAA", side: "sell", qty: 23 }, 100)
    const plan = planStep(config, input(ledger), [-1, 0])
    expect(plan.orders).toEqual([{ ticker: "AAA", side: "sell", qty: 26, clientOrderId: clientOrderId("dep", "AAA", barTime, "s") }])
  })

  it("never spends cash open buys have committed", () => {
    const ledger = new Ledger(config.tickers, { buyPct: 0, sellPct: 0 }, { cash: 10_000 })
    ledger.intend({ clientOrderId: "earlier", ticker: "BBB", side: "buy", qty: 100 }, 50)
    // 10,000 − 100·50·1.0 reserved (the ledger's own fee model is 0) leaves 5,000: 49 shares at 100·1.001
    const plan = planStep(config, input(ledger), [1, 0])
    expect(plan.orders.map((o) => [o.ticker, o.side, o.qty])).toEqual([["AAA", "buy", 49]])
  })

  it("shows the agent the cash and holdings not committed to open orders", () => {
    const ledger = new Ledger(config.tickers, { buyPct: 0, sellPct: 0 }, { cash: 10_000, positions: new Map([["AAA", 10]]) })
    ledger.intend({ clientOrderId: "s", ticker: "AAA", side: "sell", qty: 4 }, 100)
    ledger.intend({ clientOrderId: "b", ticker: "BBB", side: "buy", qty: 20 }, 50)
    expect(Array.from(observe(config, input(ledger)))).toEqual([9_000, 100, 50, 6, 0, 1, 2])
  })

  it("holds a ticker without a bar and applies the guard's and the closing window's rules", () => {
    const ledger = new Ledger(config.tickers, { buyPct: 0, sellPct: 0 }, { cash: 10_000, positions: new Map([["AAA", 10]]) })
    expect(planStep(config, input(ledger, { present: [false, true] }), [1, 1]).orders.map((o) => o.ticker)).toEqual(["BBB"])
    const closing = planStep(config, input(ledger, { noNewPositions: true }), [-1, 1])
    expect(closing.orders.map((o) => [o.ticker, o.side])).toEqual([["AAA", "sell"]])
    expect(closing.cuts).toEqual([{ ticker: "BBB", side: "buy", requested: 100, allowed: 0, rule: "no_new_positions_before_close" }])
    expect(planStep(config, input(ledger, { guardMode: "halted" }), [-1, 1]).orders).toEqual([])
  })

  it("flattens only what is not already being sold", () => {
    const ledger = new Ledger(config.tickers, { buyPct: 0, sellPct: 0 }, { cash: 0, positions: new Map([["AAA", 10], ["BBB", 5]]) })
    ledger.intend({ clientOrderId: "s", ticker: "BBB", side: "sell", qty: 5 }, 50)
    expect(flattenOrders(config, ledger.snapshot(), barTime)).toEqual([{ ticker: "AAA", side: "sell", qty: 10, clientOrderId: clientOrderId("dep", "AAA", barTime, "f") }])
  })

  // FinRL's clip makes +Inf a full-size buy (and NaN a hold): the kernel refuses rather than guess; the
  // session checks first and journals a policy_error, so reaching this throw is a defect, never a trade
  it("refuses a non-finite action instead of clipping +Inf into a full-size buy", () => {
    const ledger = new Ledger(config.tickers, { buyPct: 0, sellPct: 0 }, { cash: 10_000, positions: new Map([["AAA", 10]]) })
    expect(Math.min(1, Math.max(-1, Math.fround(Infinity)))).toBe(1) // what FinRL's clip would make of it
    expect(() => planStep(config, input(ledger), [Infinity, 0])).toThrow(/not finite \(\+Inf at \[0\]\)/)
    expect(() => planStep(config, input(ledger), [0, -Infinity])).toThrow(/-Inf at \[1\]/)
    expect(() => planStep(config, input(ledger), [NaN, NaN])).toThrow(/NaN at \[0, 1\]/)
    expect(() => planStep(config, input(ledger), Float32Array.of(1e39, 0))).toThrow(/\+Inf at \[0\]/) // float32 overflow
    expect(planStep(config, input(ledger), [-1e30, 1e30]).orders.map((o) => [o.ticker, o.side])).toEqual([["AAA", "sell"], ["BBB", "buy"]]) // large but finite: clipped
  })

  it("names every non-finite index by kind", () => {
    expect(nonFiniteProblem([0.5, -1, 1])).toBeUndefined()
    expect(nonFiniteProblem([NaN, Infinity, 0, -Infinity, NaN])).toBe("NaN at [0, 4]; +Inf at [1]; -Inf at [3]")
  })
})
