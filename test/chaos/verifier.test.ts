import { describe, expect, it } from "vitest"
import {
  countDuplicateOrders,
  countLostJournalRecords,
  countPositionMismatches,
  doubleStartProblem,
  type EmulatorOrder,
  type JournalEntry,
  parseClientOrderId,
  parseJournal,
  stderrShowsCrash,
  verifySession
} from "../../src/chaos/verifier.js"

const order = (client_order_id: string, side: "buy" | "sell", qty: number, filled: number, status = filled >= qty ? "filled" : "new"): EmulatorOrder => ({
  client_order_id,
  symbol: parseClientOrderId(client_order_id)?.ticker ?? "?",
  side,
  qty: String(qty),
  filled_qty: String(filled),
  status
})

const time = "2026-02-17T15:00:00.000Z"
const decision = (barTime: string, orders: ReadonlyArray<[string, "buy" | "sell", number, string]>): JournalEntry => ({
  type: "decision",
  time,
  bar_time: barTime,
  observation: [],
  action: [],
  orders: orders.map(([ticker, side, qty, client_order_id]) => ({ ticker, side, qty, client_order_id }))
})

const fill = (id: string, ticker: string, side: "buy" | "sell", qty: number, type: "fill" | "partial_fill" = "fill"): JournalEntry => ({ type, time, ticker, side, qty, price: 1, client_order_id: id })

const A1 = "chaos-SYNA-20260217T1430Z-b"
const B1 = "chaos-SYNB-20260217T1430Z-b"
const A2 = "chaos-SYNA-20260217T1435Z-s"

/** A consistent session: two decisions, three orders, all fills journaled. */
const clean = (): { orders: Array<EmulatorOrder>; records: Array<JournalEntry> } => ({
  orders: [order(A1, "buy", 10, 10), order(B1, "buy", 5, 5), order(A2, "sell", 4, 4)],
  records: [
    { type: "session_start", time, deployment: "chaos", model: { name: "demo", version: "1", sha256: "x" }, tickers: ["SYNA", "SYNB"], indicators: [], interval: "5m" },
    decision("2026-02-17T14:30:00.000Z", [["SYNA", "buy", 10, A1], ["SYNB", "buy", 5, B1]]),
    fill(A1, "SYNA", "buy", 10),
    fill(B1, "SYNB", "buy", 2, "partial_fill"),
    fill(B1, "SYNB", "buy", 3),
    decision("2026-02-17T14:35:00.000Z", [["SYNA", "sell", 4, A2]]),
    fill(A2, "SYNA", "sell", 4)
  ]
})
const positions = [
  { symbol: "SYNA", qty: "6" },
  { symbol: "SYNB", qty: "5" }
]

describe("chaos verification", () => {
  it("counts a doubled order, a lost order and a position mismatch once each, and names them", () => {
    const { orders, records } = clean()
    // A1 sent twice (the second canceled), an order no decision wrote down, SYNB's position 2 shares off
    const atBroker = [...orders, { ...order(A1, "buy", 10, 0, "canceled"), id: "second" }, order("chaos-SYNC-20260217T1440Z-b", "buy", 3, 0)]
    const v = verifySession(atBroker, [positions[0], { symbol: "SYNB", qty: "7" }], { records, badLines: [], tornTail: false })
    expect({ duplicate_orders: v.duplicate_orders, lost_journal_records: v.lost_journal_records, position_mismatches: v.position_mismatches }).toEqual({
      duplicate_orders: 1,
      lost_journal_records: 1,
      position_mismatches: 1
    })
    expect(v.details).toEqual([
      `duplicate order SYNA|20260217T1430Z|b: ${A1} (?, filled), ${A1} (second, canceled)`,
      "order chaos-SYNC-20260217T1440Z-b (buy 3 SYNC, new) is in no decision/flatten record",
      "position SYNB: broker 7, journal fills 5",
      // the canceled copy shares A1's client id, so A1's journaled fills read as more than it filled: a diagnostic, not a count
      `over-recorded fill ${A1}: broker filled 0 (canceled, qty 10), journal records 10`
    ])
  })

  it("parses client order ids, dashes in the deployment included", () => {
    expect(parseClientOrderId("my-deploy-SYNA-20260217T1430Z-f")).toEqual({ deployment: "my-deploy", ticker: "SYNA", bar: "20260217T1430Z", leg: "f" })
    expect(parseClientOrderId("not-an-id")).toBeUndefined()
  })

  it("finds nothing wrong in a consistent session", () => {
    const { orders, records } = clean()
    const v = verifySession(orders, positions, { records, badLines: [], tornTail: false })
    expect(v).toEqual({ duplicate_orders: 0, lost_journal_records: 0, position_mismatches: 0, details: [] })
  })

  it("counts orders of the same ticker, bar and leg beyond the first, and bars decided twice", () => {
    const { orders, records } = clean()
    // the same decision leg under another deployment prefix, twice more
    const dupes = [...orders, order("x-SYNA-20260217T1430Z-b", "buy", 10, 0), order("y-SYNA-20260217T1430Z-b", "buy", 10, 0)]
    expect(countDuplicateOrders(dupes, records).count).toBe(2)
    const redecided = [...records, decision("2026-02-17T14:35:00.000Z", [])]
    const r = countDuplicateOrders(orders, redecided)
    expect(r.count).toBe(1)
    expect(r.details[0]).toContain("2026-02-17T14:35:00.000Z decided 2 times")
  })

  it("counts fills the journal lacks, orders it never wrote down, and unreadable lines", () => {
    const { orders, records } = clean()
    // the last 3 shares of B1 are not journaled
    const missingFill = records.filter((r) => !(r.type === "fill" && r.client_order_id === B1))
    expect(countLostJournalRecords(orders, { records: missingFill, badLines: [], tornTail: false }).count).toBe(1)
    // an order at the broker that no decision mentions (and whose fill is not journaled either)
    const stray = [...orders, order("chaos-SYNC-20260217T1440Z-b", "buy", 3, 3)]
    expect(countLostJournalRecords(stray, { records, badLines: [], tornTail: false }).count).toBe(2)
    // an open, unfilled order that no decision mentions
    expect(countLostJournalRecords([...orders, order("chaos-SYNC-20260217T1440Z-b", "buy", 3, 0)], { records, badLines: [], tornTail: false }).count).toBe(1)
    // a line in the middle that is not a record
    expect(countLostJournalRecords(orders, { records, badLines: [4], tornTail: false }).count).toBe(1)
  })

  it("reads a journal: a torn last line is not counted, a bad line in the middle is", () => {
    const lines = clean().records.map((r) => JSON.stringify(r))
    const torn = parseJournal(`${lines.join("\n")}\n{"type":"fill","ti`)
    expect(torn.records).toHaveLength(lines.length)
    expect(torn.badLines).toEqual([])
    expect(torn.tornTail).toBe(true)
    const bad = parseJournal(`${lines[0]}\n{"type":"deci\n${lines.slice(1).join("\n")}\n[1,2]\n`)
    expect(bad.badLines).toEqual([2, lines.length + 2])
    expect(bad.records).toHaveLength(lines.length)
  })

  it("counts tickers whose broker position differs from the journal's net fills", () => {
    const { records } = clean()
    expect(countPositionMismatches(positions, records).count).toBe(0)
    // a fill journaled twice (e.g. once by recovery, once from the stream) and a position the journal never saw
    const doubled = [...records, fill(A2, "SYNA", "sell", 4)]
    const r = countPositionMismatches([...positions, { symbol: "SYNC", qty: "3" }], doubled)
    expect(r.count).toBe(2)
    expect(r.details).toEqual(["position SYNA: broker 6, journal fills 2", "position SYNC: broker 3, journal fills 0"])
  })

  it("reports over-recorded fills among the details without counting them as lost", () => {
    const { orders, records } = clean()
    const v = verifySession(orders, positions, { records: [...records, fill(B1, "SYNB", "buy", 1)], badLines: [], tornTail: false })
    expect(v.lost_journal_records).toBe(0)
    expect(v.position_mismatches).toBe(1)
    expect(v.details.some((d) => d.startsWith("over-recorded fill chaos-SYNB"))).toBe(true)
  })

  it("recognises a crash on stderr, raw or inside a JSON log line", () => {
    expect(stderrShowsCrash("internal error: boom (please report it)")).toBe(true)
    expect(stderrShowsCrash("Error: x\n    at f (file.js:1:1)")).toBe(true)
    expect(stderrShowsCrash('{"message":"Error: x\\n    at f (file.js:1:1)"}')).toBe(true)
    expect(stderrShowsCrash('{"message":"session started","logLevel":"INFO"}')).toBe(false)
  })

  it("accepts a double start only when it exited 2 naming the running trader's pid", () => {
    const refused = "error: journal /tmp/j/journal.jsonl is in use by another rl-paper-trader (pid 4242): stop it first\n"
    expect(doubleStartProblem({ code: 2, signal: null, stderr: refused, ms: 900, holderPid: 4242 })).toBeUndefined()
    expect(doubleStartProblem({ code: 2, signal: null, stderr: refused, ms: 900, holderPid: 4243 })).toMatch(/without naming the running trader \(pid 4243\)/)
    expect(doubleStartProblem({ code: 2, signal: null, stderr: "error: config.yaml: bad\n", ms: 900, holderPid: 4242 })).toMatch(/exited 2 without naming/)
    expect(doubleStartProblem({ code: 0, signal: null, stderr: "", ms: 900, holderPid: 4242 })).toMatch(/exited 0/)
    expect(doubleStartProblem({ code: null, signal: "SIGKILL", stderr: "", ms: 20_000, holderPid: 4242 })).toMatch(/was killed \(SIGKILL\) after 20000 ms/)
  })
})
