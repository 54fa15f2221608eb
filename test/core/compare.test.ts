import { describe, expect, it } from "vitest"
import { compareJournals } from "../../src/core/compare.js"

const decision = (bar: string, action: Array<number>, orders: Array<[string, string, number]>) => ({
  type: "decision",
  bar_time: bar,
  action,
  orders: orders.map(([ticker, side, qty]) => ({ ticker, side, qty, client_order_id: `d-${ticker}-${bar}-${side[0]}` }))
})
const fill = (bar: string, ticker: string, side: string, qty: number, price: number) => ({ type: "fill", ticker, side, qty, price, client_order_id: `d-${ticker}-${bar}-${side[0]}` })

describe("compareJournals", () => {
  it("matches decisions by bar and fills by client order id", () => {
    const paper = [
      decision("t1", [0.5, -0.2], [["A", "buy", 5]]),
      fill("t1", "A", "buy", 5, 101),
      decision("t2", [0.1, -0.9], [["B", "sell", 3]]),
      fill("t2", "B", "sell", 3, 49),
      decision("t3", [0, 0], [])
    ]
    const backtest = [
      decision("t1", [0.5, -0.25], [["A", "buy", 5]]),
      fill("t1", "A", "buy", 5, 100),
      decision("t2", [0.1, -0.5], [["B", "sell", 2]]),
      fill("t2", "B", "sell", 2, 50)
    ]
    const c = compareJournals(paper, backtest)
    expect(c.decisions).toEqual({ paper: 3, backtest: 2, common: 2 })
    expect(c.identical_orders).toBe(1)
    expect(c.identical_orders_pct).toBe(50)
    expect(c.action_diff.max).toBeCloseTo(0.4, 12)
    expect(c.action_diff.mean).toBeCloseTo((0.05 + 0.4) / 2, 12)
    expect(c.matched_fills).toBe(2)
    // buy 1% dearer costs +100 bps; sell 2% cheaper costs +200 bps
    expect(c.fill_price_diff_bps.mean).toBeCloseTo(150, 9)
    expect(c.fill_price_diff_bps.max_abs).toBeCloseTo(200, 9)
    expect(c.first_difference?.bar_time).toBe("t2")
    expect(c.paper_only_orders).toBe(0)
  })

  it("counts orders only one side sent", () => {
    const c = compareJournals([decision("t1", [1], [["A", "buy", 1]])], [decision("t1", [1], [["A", "sell", 1]])])
    expect(c.paper_only_orders).toBe(1)
    expect(c.backtest_only_orders).toBe(1)
    expect(c.identical_orders).toBe(0)
  })
})
