import { describe, expect, it } from "vitest"
import { Ledger, ledgerFromJournal, wirePrice } from "../../src/core/ledger.js"
import type { JournalRecord } from "../../src/domain/Journal.js"

const tickers = ["AAA", "BBB"]
const fees = { buyPct: 0.001, sellPct: 0.002 }

describe("Ledger", () => {
  it("reserves shares for open sells and cash for open buys, and releases them as orders fill or end", () => {
    const ledger = new Ledger(tickers, fees, { cash: 10_000, positions: new Map([["AAA", 30]]) })
    ledger.mark("AAA", 100)
    ledger.mark("BBB", 50)
    ledger.intend({ clientOrderId: "s1", ticker: "AAA", side: "sell", qty: 23 }, 100)
    ledger.intend({ clientOrderId: "b1", ticker: "BBB", side: "buy", qty: 10 }, 50)
    let s = ledger.snapshot()
    expect(s.sellable).toEqual([7, 0])
    expect(s.reservedShares).toEqual([23, 0])
    expect(s.reservedCash).toBeCloseTo(10 * 50 * 1.001, 9)
    expect(s.availableCash).toBeCloseTo(10_000 - 500.5, 9)

    ledger.fill({ clientOrderId: "s1", ticker: "AAA", side: "sell", qty: 20, price: 101 })
    s = ledger.snapshot()
    expect(s.holdings).toEqual([10, 0])
    expect(s.reservedShares).toEqual([3, 0])
    expect(s.sellable).toEqual([7, 0])
    expect(s.cash).toBeCloseTo(10_000 + 20 * 101 * (1 - 0.002), 6)

    ledger.close("s1")
    ledger.fill({ clientOrderId: "b1", ticker: "BBB", side: "buy", qty: 10, price: 49 })
    s = ledger.snapshot()
    expect(s.reservedShares).toEqual([0, 0])
    expect(s.reservedCash).toBe(0)
    expect(s.holdings).toEqual([10, 10])
    expect(ledger.hasOpenOrders()).toBe(false)
    expect(s.equity).toBeCloseTo(s.cash + 10 * 100 + 10 * 50, 6)
  })

  it("books the same cash whatever order the fills of a step arrive in", () => {
    const fills = [
      { clientOrderId: "a", ticker: "AAA", side: "buy" as const, qty: 17, price: 51.660000000000004 },
      { clientOrderId: "b", ticker: "BBB", side: "sell" as const, qty: 3, price: 72.57123456789 },
      { clientOrderId: "c", ticker: "AAA", side: "buy" as const, qty: 5, price: 100.45 * 1.0001 },
      { clientOrderId: "d", ticker: "BBB", side: "buy" as const, qty: 29, price: 0.1 + 0.2 }
    ]
    const cashAfter = (order: ReadonlyArray<number>) => {
      const ledger = new Ledger(tickers, fees, { cash: 12_746.50092, positions: new Map([["BBB", 3]]) })
      for (const i of order) ledger.fill(fills[i])
      return ledger.cash
    }
    const reference = cashAfter([0, 1, 2, 3])
    for (const order of [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]) expect(cashAfter(order)).toBe(reference)
  })

  it("marks equity to the same double whatever order the positions were opened in", () => {
    // with these numbers, summing in another order gives another last bit
    const holdings = [["AAA", 462, 161.48], ["BBB", 345, 24.57], ["CCC", 322, 102.61]] as const
    const equityAfter = (order: ReadonlyArray<number>) => {
      const ledger = new Ledger(["AAA", "BBB", "CCC"], { buyPct: 0, sellPct: 0 }, { cash: 57.743274 })
      for (const i of order) ledger.fill({ clientOrderId: holdings[i][0], ticker: holdings[i][0], side: "buy", qty: holdings[i][1], price: 0 })
      for (const [t, , p] of holdings) ledger.mark(t, p)
      return ledger.equity()
    }
    expect(equityAfter([2, 1, 0])).toBe(equityAfter([0, 1, 2]))
    expect(equityAfter([1, 2, 0])).toBe(equityAfter([0, 1, 2]))
  })

  it("books a fill at the price the wire carries (nine decimals)", () => {
    expect(wirePrice(100.0123456789123)).toBe(100.012345679)
    const ledger = new Ledger(tickers, { buyPct: 0, sellPct: 0 }, { cash: 1_000 })
    ledger.fill({ clientOrderId: "x", ticker: "AAA", side: "buy", qty: 1, price: 100.0123456789123 })
    expect(ledger.cash).toBe(899.987654) // cash is kept in whole micro-dollars
  })

  it("adopts the broker's truth on reconciliation and reports both sides of every difference", () => {
    const ledger = new Ledger(tickers, fees, { cash: 5_000, positions: new Map([["AAA", 10]]) })
    ledger.intend({ clientOrderId: "gone", ticker: "AAA", side: "sell", qty: 4 }, 100)
    ledger.intend({ clientOrderId: "part", ticker: "BBB", side: "buy", qty: 10 }, 50)
    const differences = ledger.reconcile({
      cash: 4_900,
      positions: new Map([["AAA", 10], ["BBB", 2]]),
      openOrders: [
        { clientOrderId: "part", ticker: "BBB", side: "buy", qty: 10, filledQty: 2 },
        { clientOrderId: "theirs", ticker: "AAA", side: "sell", qty: 1, filledQty: 0 }
      ]
    })
    expect(differences).toEqual([
      { what: "cash", ledger: 5_000, broker: 4_900 },
      { what: "position", ticker: "BBB", ledger: 0, broker: 2 },
      { what: "open_order", ticker: "AAA", clientOrderId: "gone", ledger: 4, broker: null },
      { what: "open_order", ticker: "BBB", clientOrderId: "part", ledger: 10, broker: 8 },
      { what: "open_order", ticker: "AAA", clientOrderId: "theirs", ledger: null, broker: 1 }
    ])
    const s = ledger.snapshot()
    expect(s.cash).toBe(4_900)
    expect(s.holdings).toEqual([10, 2])
    expect(s.reservedShares).toEqual([1, 0])
    expect(ledger.reconcile({ cash: 4_900.004, positions: new Map([["AAA", 10], ["BBB", 2]]), openOrders: ledger.openOrders() })).toEqual([])
    expect(ledger.cash).toBe(4_900)
  })

  it("is rebuilt from a journal: the last portfolio record, then the intents, fills and order ends after it", () => {
    const time = "2026-02-17T15:00:00.000Z"
    const records: ReadonlyArray<JournalRecord> = [
      { type: "portfolio", time, bar_time: time, cash: 1_000, equity: 1_000, positions: {}, prices: { AAA: 10 }, open_orders: [] },
      { type: "portfolio", time, bar_time: time, cash: 900, equity: 1_000, positions: { AAA: 10 }, prices: { AAA: 10, BBB: 5 }, open_orders: [{ client_order_id: "o1", ticker: "BBB", side: "buy", qty: 4, filled_qty: 1 }] },
      { type: "decision", time, bar_time: time, observation: [], action: [], orders: [{ ticker: "AAA", side: "sell", qty: 3, client_order_id: "o2" }, { ticker: "BBB", side: "buy", qty: 2, client_order_id: "o3" }] },
      { type: "fill", time, ticker: "AAA", side: "sell", qty: 3, price: 11, client_order_id: "o2" },
      { type: "rejection", time, ticker: "BBB", side: "buy", qty: 2, client_order_id: "o3", reason: "insufficient buying power" }
    ]
    const ledger = ledgerFromJournal(records, tickers, { buyPct: 0, sellPct: 0 })!
    const s = ledger.snapshot()
    expect(s.cash).toBe(933)
    expect(s.holdings).toEqual([7, 0])
    expect(ledger.openOrders().map((o) => [o.clientOrderId, o.qty - o.filledQty])).toEqual([["o1", 3]])
    expect(ledgerFromJournal(records.slice(2), tickers, { buyPct: 0, sellPct: 0 })).toBeUndefined()
  })
})
