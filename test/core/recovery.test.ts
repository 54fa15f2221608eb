import { describe, expect, it } from "vitest"
import { planRecovery } from "../../src/core/recovery.js"

const decision = (barTime: string, orders: Array<[string, "buy" | "sell", number, string]>) => ({
  type: "decision",
  bar_time: barTime,
  orders: orders.map(([ticker, side, qty, client_order_id]) => ({ ticker, side, qty, client_order_id }))
})

describe("planRecovery", () => {
  it("finds the last decided bar, the unresolved intents and the journal's positions", () => {
    const plan = planRecovery([
      { type: "session_start" },
      decision("2026-01-02T14:30:00.000Z", [["AAA", "buy", 10, "a1"], ["BBB", "buy", 5, "b1"]]),
      { type: "fill", ticker: "AAA", side: "buy", qty: 10, price: 1, client_order_id: "a1" },
      { type: "partial_fill", ticker: "BBB", side: "buy", qty: 2, price: 1, client_order_id: "b1" },
      decision("2026-01-02T14:35:00.000Z", [["AAA", "sell", 4, "a2"], ["CCC", "buy", 1, "c2"]]),
      { type: "rejection", ticker: "CCC", client_order_id: "c2" }
    ])
    expect(plan.lastDecisionBarTime).toBe(Date.parse("2026-01-02T14:35:00.000Z"))
    expect(plan.unresolved).toEqual([
      { clientOrderId: "b1", ticker: "BBB", side: "buy", qty: 5, filled: 2 },
      { clientOrderId: "a2", ticker: "AAA", side: "sell", qty: 4, filled: 0 }
    ])
    expect([...plan.positions]).toEqual([["AAA", 10], ["BBB", 2]])
  })

  it("has nothing to resume from an empty journal", () => {
    expect(planRecovery([])).toEqual({ lastDecisionBarTime: undefined, unresolved: [], positions: new Map() })
  })

  it("counts sells against positions and closes intents by their terminal records", () => {
    const plan = planRecovery([
      decision("2026-01-02T14:30:00.000Z", [["AAA", "buy", 3, "x"], ["AAA", "buy", 1, "y"], ["AAA", "buy", 1, "z"]]),
      { type: "fill", ticker: "AAA", side: "buy", qty: 3, price: 1, client_order_id: "x" },
      { type: "fill", ticker: "AAA", side: "sell", qty: 1, price: 1, client_order_id: "other" },
      { type: "cancel", client_order_id: "y" },
      { type: "intent_unsent", client_order_id: "z" }
    ])
    expect(plan.unresolved).toEqual([])
    expect(plan.positions.get("AAA")).toBe(2)
  })
})
