import { describe, expect, it } from "vitest"
import { planRecovery } from "../../src/core/recovery.js"
import type { JournalRecord } from "../../src/domain/Journal.js"

const time = "2026-01-02T15:00:00.000Z"
const decision = (barTime: string, orders: Array<[string, "buy" | "sell", number, string]>): JournalRecord => ({
  type: "decision",
  time,
  bar_time: barTime,
  observation: [],
  action: [],
  orders: orders.map(([ticker, side, qty, client_order_id]) => ({ ticker, side, qty, client_order_id }))
})
const fill = (type: "fill" | "partial_fill", ticker: string, side: "buy" | "sell", qty: number, client_order_id: string): JournalRecord =>
  ({ type, time, ticker, side, qty, price: 1, client_order_id })
const end = (type: "rejection" | "cancel" | "intent_unsent", client_order_id: string): JournalRecord =>
  type === "intent_unsent" ? { type, time, ticker: "CCC", side: "buy", qty: 1, client_order_id, reason: "never sent" } : { type, time, ticker: "CCC", side: "buy", qty: 1, client_order_id }

describe("planRecovery", () => {
  it("finds the last decided bar, the unresolved intents and the journal's positions", () => {
    const plan = planRecovery([
      { type: "session_start", time, deployment: "d", model: { name: "m", version: "1", sha256: "x" }, tickers: [], indicators: [], interval: "5m" },
      decision("2026-01-02T14:30:00.000Z", [["AAA", "buy", 10, "a1"], ["BBB", "buy", 5, "b1"]]),
      fill("fill", "AAA", "buy", 10, "a1"),
      fill("partial_fill", "BBB", "buy", 2, "b1"),
      decision("2026-01-02T14:35:00.000Z", [["AAA", "sell", 4, "a2"], ["CCC", "buy", 1, "c2"]]),
      end("rejection", "c2")
    ])
    expect(plan.lastDecisionBarTime).toBe(Date.parse("2026-01-02T14:35:00.000Z"))
    expect(plan.unresolved).toEqual([
      { clientOrderId: "b1", ticker: "BBB", side: "buy", qty: 5, filled: 2 },
      { clientOrderId: "a2", ticker: "AAA", side: "sell", qty: 4, filled: 0 }
    ])
    expect([...plan.positions]).toEqual([["AAA", 10], ["BBB", 2]])
  })

  it("asks the broker again about an order the session gave up sending (it may have got there)", () => {
    const plan = planRecovery([
      decision("2026-01-02T14:30:00.000Z", [["AAA", "buy", 10, "a1"], ["BBB", "buy", 5, "b1"]]),
      fill("partial_fill", "AAA", "buy", 4, "a1"),
      { type: "order_error", time, ticker: "AAA", client_order_id: "a1", error: "the broker did not take it before its step was past" },
      end("intent_unsent", "b1")
    ])
    expect(plan.unresolved).toEqual([{ clientOrderId: "a1", ticker: "AAA", side: "buy", qty: 10, filled: 4 }])
  })

  it("has nothing to resume from an empty journal", () => {
    expect(planRecovery([])).toEqual({ lastDecisionBarTime: undefined, unresolved: [], positions: new Map() })
  })

  it("counts sells against positions and closes intents by their terminal records", () => {
    const plan = planRecovery([
      decision("2026-01-02T14:30:00.000Z", [["AAA", "buy", 3, "x"], ["AAA", "buy", 1, "y"], ["AAA", "buy", 1, "z"]]),
      fill("fill", "AAA", "buy", 3, "x"),
      fill("fill", "AAA", "sell", 1, "other"),
      end("cancel", "y"),
      end("intent_unsent", "z")
    ])
    expect(plan.unresolved).toEqual([])
    expect(plan.positions.get("AAA")).toBe(2)
  })
})
