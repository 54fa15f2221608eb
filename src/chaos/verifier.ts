/**
 * The chaos runner's verdict on one session, from the journal and the emulator's orders and
 * positions as `GET /v2/orders` and `GET /v2/positions` answer them: duplicate orders or decisions,
 * orders or fills the journal lacks, positions that differ from the journal's fills. Pure: no
 * process, no emulator; tested on hand-made journals in test/chaos/.
 */
import { type JournalRecord, readJournal } from "../domain/Journal.js"

/** An order as `GET /v2/orders` answers it (only the fields the checks read). */
export interface EmulatorOrder {
  readonly client_order_id: string
  readonly symbol: string
  readonly side: string
  readonly qty: string | number | null
  readonly filled_qty: string | number | null
  readonly status: string
  readonly id?: string
  readonly created_at?: string
  readonly filled_avg_price?: string | number | null
}

/** A position as `GET /v2/positions` answers it. */
export interface EmulatorPosition {
  readonly symbol: string
  readonly qty: string | number
}

export type JournalEntry = JournalRecord

export interface ParsedJournal {
  readonly records: ReadonlyArray<JournalEntry>
  /** 1-based numbers of newline-terminated lines that are not journal records (not JSON, or not of a record's shape). */
  readonly badLines: ReadonlyArray<number>
  /** Whether the file ends in an unterminated (torn) line; it is not counted as bad. */
  readonly tornTail: boolean
}

/** Reads a journal with the trader's own reader: every terminated line must be a record; a torn last line is allowed. */
export const parseJournal = (text: string): ParsedJournal => {
  const read = readJournal(new TextEncoder().encode(text))
  return { records: read.records, badLines: read.unreadable.map((u) => u.line), tornTail: read.tornBytes > 0 }
}

export interface ClientOrderIdParts {
  readonly deployment: string
  readonly ticker: string
  /** `yyyymmddThhmmZ` */
  readonly bar: string
  /** `b` buy, `s` sell, `f` flatten */
  readonly leg: string
}

/** `<deployment>-<TICKER>-<yyyymmddThhmmZ>-<leg>`; `undefined` for anything else. */
export const parseClientOrderId = (id: string): ClientOrderIdParts | undefined => {
  const m = /^(.+)-([^-]+)-(\d{8}T\d{4}Z)-([a-z])$/.exec(id)
  return m === null ? undefined : { deployment: m[1], ticker: m[2], bar: m[3], leg: m[4] }
}

const num = (v: unknown): number => {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN
  return Number.isFinite(n) ? n : 0
}

const EPS = 1e-9

export interface CheckResult {
  readonly count: number
  /** One human-readable line per counted problem. */
  readonly details: ReadonlyArray<string>
}

/**
 * Orders at the broker that share a (ticker, decision bar, leg) beyond the first, plus decision
 * records for the same `bar_time` beyond the first (a bar decided twice, e.g. after a restart).
 */
export const countDuplicateOrders = (orders: ReadonlyArray<EmulatorOrder>, records: ReadonlyArray<JournalEntry>): CheckResult => {
  const details: Array<string> = []
  const byKey = new Map<string, Array<EmulatorOrder>>()
  for (const o of orders) {
    const p = parseClientOrderId(o.client_order_id)
    const key = p === undefined ? `raw:${o.client_order_id}` : `${p.ticker}|${p.bar}|${p.leg}`
    byKey.set(key, [...(byKey.get(key) ?? []), o])
  }
  let count = 0
  for (const [key, group] of byKey) {
    if (group.length > 1) {
      count += group.length - 1
      details.push(`duplicate order ${key}: ${group.map((o) => `${o.client_order_id} (${o.id ?? "?"}, ${o.status})`).join(", ")}`)
    }
  }
  const decisions = new Map<string, number>()
  for (const r of records) if (r.type === "decision") decisions.set(String(r.bar_time), (decisions.get(String(r.bar_time)) ?? 0) + 1)
  for (const [bar, n] of decisions) {
    if (n > 1) {
      count += n - 1
      details.push(`bar ${bar} decided ${n} times in the journal`)
    }
  }
  return { count, details }
}

/** Shares the journal's `fill`/`partial_fill` records add up to, per client order id. */
export const journaledFills = (records: ReadonlyArray<JournalEntry>): Map<string, number> => {
  const filled = new Map<string, number>()
  for (const r of records) {
    if ((r.type === "fill" || r.type === "partial_fill") && typeof r.client_order_id === "string") {
      filled.set(r.client_order_id, (filled.get(r.client_order_id) ?? 0) + num(r.qty))
    }
  }
  return filled
}

/** Client order ids the journal meant to send (`decision` and `flatten` records). */
export const journaledIntents = (records: ReadonlyArray<JournalEntry>): Set<string> => {
  const ids = new Set<string>()
  for (const r of records) {
    if ((r.type === "decision" || r.type === "flatten") && Array.isArray(r.orders)) {
      for (const o of r.orders as ReadonlyArray<{ client_order_id?: unknown }>) if (typeof o?.client_order_id === "string") ids.add(o.client_order_id)
    }
  }
  return ids
}

/**
 * Orders with fills the journal does not fully record, orders the journal never wrote down, and
 * unreadable journal lines (a torn last line excepted).
 */
export const countLostJournalRecords = (orders: ReadonlyArray<EmulatorOrder>, journal: ParsedJournal): CheckResult => {
  const details: Array<string> = []
  const filled = journaledFills(journal.records)
  const intents = journaledIntents(journal.records)
  let count = 0
  for (const o of orders) {
    const atBroker = num(o.filled_qty)
    const ours = filled.get(o.client_order_id) ?? 0
    if (atBroker > 0 && ours + EPS < atBroker) {
      count++
      details.push(`fills of ${o.client_order_id} not journaled: broker filled ${atBroker} (${o.status}), journal records ${ours}`)
    }
    if (!intents.has(o.client_order_id)) {
      count++
      details.push(`order ${o.client_order_id} (${o.side} ${num(o.qty)} ${o.symbol}, ${o.status}) is in no decision/flatten record`)
    }
  }
  for (const line of journal.badLines) {
    count++
    details.push(`journal line ${line} is not a record`)
  }
  return { count, details }
}

/** Net shares per ticker by the journal's fills (buys − sells). */
export const journaledPositions = (records: ReadonlyArray<JournalEntry>): Map<string, number> => {
  const net = new Map<string, number>()
  for (const r of records) {
    if (r.type === "fill" || r.type === "partial_fill") {
      const q = num(r.qty)
      const t = String(r.ticker)
      net.set(t, (net.get(t) ?? 0) + (r.side === "sell" ? -q : q))
    }
  }
  return net
}

/** Tickers whose broker position differs from the journal's net filled shares. */
export const countPositionMismatches = (positions: ReadonlyArray<EmulatorPosition>, records: ReadonlyArray<JournalEntry>): CheckResult => {
  const ours = journaledPositions(records)
  const theirs = new Map(positions.map((p) => [p.symbol, num(p.qty)] as const))
  const details: Array<string> = []
  let count = 0
  for (const ticker of new Set([...ours.keys(), ...theirs.keys()])) {
    const j = ours.get(ticker) ?? 0
    const b = theirs.get(ticker) ?? 0
    if (Math.abs(j - b) > EPS) {
      count++
      details.push(`position ${ticker}: broker ${b}, journal fills ${j}`)
    }
  }
  return { count, details }
}

/** Orders whose journaled fills exceed what the broker filled (a fill journaled twice): diagnostics only. */
export const overRecordedFills = (orders: ReadonlyArray<EmulatorOrder>, records: ReadonlyArray<JournalEntry>): ReadonlyArray<string> => {
  const filled = journaledFills(records)
  return orders
    .filter((o) => (filled.get(o.client_order_id) ?? 0) > num(o.filled_qty) + EPS)
    .map((o) => `${o.client_order_id}: broker filled ${num(o.filled_qty)} (${o.status}, qty ${num(o.qty)}), journal records ${filled.get(o.client_order_id)}`)
}

export interface Verification {
  readonly duplicate_orders: number
  readonly lost_journal_records: number
  readonly position_mismatches: number
  readonly details: ReadonlyArray<string>
}

/** The three state checks of one session. */
export const verifySession = (orders: ReadonlyArray<EmulatorOrder>, positions: ReadonlyArray<EmulatorPosition>, journal: ParsedJournal): Verification => {
  const dup = countDuplicateOrders(orders, journal.records)
  const lost = countLostJournalRecords(orders, journal)
  const pos = countPositionMismatches(positions, journal.records)
  const over = overRecordedFills(orders, journal.records).map((d) => `over-recorded fill ${d}`)
  return {
    duplicate_orders: dup.count,
    lost_journal_records: lost.count,
    position_mismatches: pos.count,
    details: [...dup.details, ...lost.details, ...pos.details, ...over]
  }
}

/** How a second `trade` started on a running one's config ended. */
export interface DoubleStartResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  /** Real time from its spawn to its exit. */
  readonly ms: number
  /** The pid of the trader that held the journal. */
  readonly holderPid: number
}

/** What is wrong with a double start's outcome (undefined: it exited 2 naming the holder's pid). */
export const doubleStartProblem = (r: DoubleStartResult): string | undefined => {
  const named = r.stderr.includes(`is in use by another rl-paper-trader (pid ${r.holderPid})`)
  if (r.code === 2 && named) return undefined
  const last = r.stderr.trim().split("\n").slice(-3).join(" | ")
  return `a second trade on the same config ${r.code === null ? `was killed (${r.signal}) after ${r.ms} ms` : `exited ${r.code}`}` +
    `${named ? "" : ` without naming the running trader (pid ${r.holderPid})`}: ${last}`
}

/** A trader run's stderr showing a crash: an `internal error` line or a stack trace (raw, or escaped in a JSON/logfmt log line). */
export const stderrShowsCrash = (stderr: string): boolean => /internal error/.test(stderr) || /(\n|\\n) {4}at /.test(stderr)
