import { describe, expect, it } from "vitest"
import { zeroFaultCounts } from "../../src/emulator/faults.js"
import { addSession, detailProblems, emptyTotals, type SessionOutcome, summarize } from "../../src/chaos/report.js"
import type { EmulatorOrder } from "../../src/chaos/verifier.js"

const session = (counts: Partial<SessionOutcome> = {}): SessionOutcome => ({
  kills: 2,
  faults: { ...zeroFaultCounts(), http429: 3, wsDrops: 1 },
  orders: 10,
  decisions: 16,
  duplicate_orders: 0,
  lost_journal_records: 0,
  position_mismatches: 0,
  unhandled_errors: 0,
  recoveryMs: [100, 300],
  doubleStarts: 1,
  doubleStartFailures: 0,
  doubleStartMs: [900],
  longOutages: 1,
  outageRecords: 1,
  ...counts
})

describe("chaos report", () => {
  it("adds sessions up into the one JSON line, kills among the faults", () => {
    const totals = emptyTotals()
    addSession(totals, session())
    addSession(totals, session({ kills: 1, recoveryMs: [200], doubleStartMs: [1500] }))
    const s = summarize({ seed: 7, sessions: 2 }, 2, totals, false)
    expect(s.ok).toBe(true)
    const line = JSON.parse(s.text)
    expect(line).toMatchObject({ seed: 7, sessions: 2, kills: 3, orders: 20, decisions: 32, double_starts: 2, long_outages: 2, outage_records: 2, ok: true })
    expect(line.faults).toMatchObject({ http429: 6, wsDrops: 2, timeouts: 0, kill9: 3 })
    expect(line.recovery_ms).toEqual({ max: 300, mean: 200 })
    expect(line.double_start_ms).toEqual({ max: 1500 })
    expect(line).not.toHaveProperty("timed_out")
  })

  it("fails on any count, a failed double start, a missing session or a timeout", () => {
    const run = { seed: 1, sessions: 1 }
    const with_ = (counts: Partial<SessionOutcome>) => {
      const totals = emptyTotals()
      addSession(totals, session(counts))
      return totals
    }
    expect(summarize(run, 1, with_({ duplicate_orders: 1 }), false).ok).toBe(false)
    expect(summarize(run, 1, with_({ lost_journal_records: 1 }), false).ok).toBe(false)
    expect(summarize(run, 1, with_({ position_mismatches: 1 }), false).ok).toBe(false)
    expect(summarize(run, 1, with_({ unhandled_errors: 1 }), false).ok).toBe(false)
    expect(summarize(run, 1, with_({ doubleStartFailures: 1 }), false).ok).toBe(false)
    expect(summarize({ seed: 1, sessions: 2 }, 1, with_({}), false).ok).toBe(false)
    const timedOut = summarize(run, 1, with_({}), true)
    expect(JSON.parse(timedOut.text)).toMatchObject({ timed_out: true, ok: false })
    expect(JSON.parse(summarize(run, 0, emptyTotals(), false).text).recovery_ms).toEqual({ max: 0, mean: 0 })
  })

  it("follows a detail naming an order with the emulator's order and the journal lines that mention it", () => {
    const id = "chaos-SYNA-20260217T1430Z-b"
    const order: EmulatorOrder = { client_order_id: id, symbol: "SYNA", side: "buy", qty: "5", filled_qty: "5", status: "filled" }
    const journal = [`{"type":"decision","orders":[{"client_order_id":"${id}"}]}`, `{"type":"fill","client_order_id":"other"}`].join("\n")
    expect(detailProblems("session 1/1", [`fills of ${id} not journaled`, "bar x decided 2 times in the journal"], [order], journal)).toEqual([
      `session 1/1: fills of ${id} not journaled`,
      `    emulator: ${JSON.stringify(order)}`,
      `    journal: {"type":"decision","orders":[{"client_order_id":"${id}"}]}`,
      "session 1/1: bar x decided 2 times in the journal"
    ])
  })
})
