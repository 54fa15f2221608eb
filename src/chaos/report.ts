/**
 * What the chaos runner reports: each session's outcome, their totals, the one JSON line it prints
 * last, and the problem lines that explain a count. Pure.
 */
import type { FaultCounts } from "../emulator/faults.js"
import type { EmulatorOrder } from "./verifier.js"

/** What one session did and found. */
export interface SessionOutcome {
  readonly kills: number
  readonly faults: FaultCounts
  readonly orders: number
  readonly decisions: number
  readonly duplicate_orders: number
  readonly lost_journal_records: number
  readonly position_mismatches: number
  readonly unhandled_errors: number
  readonly recoveryMs: ReadonlyArray<number>
  readonly doubleStarts: number
  readonly doubleStartFailures: number
  readonly doubleStartMs: ReadonlyArray<number>
  /** Long outages run, and the `outage` records the journal has for them (once per trader that saw one). */
  readonly longOutages: number
  readonly outageRecords: number
}

/** The sessions' outcomes added up; a harness failure counts as an unhandled error. */
export interface ChaosTotals {
  kills: number
  faults: Record<string, number>
  orders: number
  decisions: number
  duplicate_orders: number
  lost_journal_records: number
  position_mismatches: number
  unhandled_errors: number
  recovery: Array<number>
  double_starts: number
  double_start_failures: number
  doubleStartMs: Array<number>
  long_outages: number
  outage_records: number
}

export const emptyTotals = (): ChaosTotals => ({
  kills: 0,
  faults: {},
  orders: 0,
  decisions: 0,
  duplicate_orders: 0,
  lost_journal_records: 0,
  position_mismatches: 0,
  unhandled_errors: 0,
  recovery: [],
  double_starts: 0,
  double_start_failures: 0,
  doubleStartMs: [],
  long_outages: 0,
  outage_records: 0
})

const sumCounts = (a: Record<string, number>, b: Record<string, number>) => {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v
}

/** Adds one session's outcome to the totals (in place). */
export const addSession = (totals: ChaosTotals, s: SessionOutcome): void => {
  totals.kills += s.kills
  sumCounts(totals.faults, s.faults as unknown as Record<string, number>)
  totals.orders += s.orders
  totals.decisions += s.decisions
  totals.duplicate_orders += s.duplicate_orders
  totals.lost_journal_records += s.lost_journal_records
  totals.position_mismatches += s.position_mismatches
  totals.unhandled_errors += s.unhandled_errors
  totals.recovery.push(...s.recoveryMs)
  totals.double_starts += s.doubleStarts
  totals.double_start_failures += s.doubleStartFailures
  totals.doubleStartMs.push(...s.doubleStartMs)
  totals.long_outages += s.longOutages
  totals.outage_records += s.outageRecords
}

/** The JSON line chaos prints last, and whether the run passed. */
export interface ChaosSummary {
  readonly ok: boolean
  readonly text: string
}

/** Passes only when every planned session ran in time and all four counts and the double-start failures are 0. */
export const summarize = (run: { readonly seed: number; readonly sessions: number }, sessionsDone: number, totals: ChaosTotals, timedOut: boolean): ChaosSummary => {
  const rec = totals.recovery
  const ok =
    !timedOut && sessionsDone === run.sessions &&
    totals.duplicate_orders + totals.lost_journal_records + totals.position_mismatches + totals.unhandled_errors + totals.double_start_failures === 0
  return {
    ok,
    text: JSON.stringify({
      seed: run.seed,
      sessions: sessionsDone,
      kills: totals.kills,
      faults: { ...totals.faults, kill9: totals.kills },
      orders: totals.orders,
      decisions: totals.decisions,
      duplicate_orders: totals.duplicate_orders,
      lost_journal_records: totals.lost_journal_records,
      position_mismatches: totals.position_mismatches,
      unhandled_errors: totals.unhandled_errors,
      recovery_ms: {
        max: rec.length === 0 ? 0 : Math.max(...rec),
        mean: rec.length === 0 ? 0 : Math.round(rec.reduce((a, b) => a + b, 0) / rec.length)
      },
      double_starts: totals.double_starts,
      double_start_failures: totals.double_start_failures,
      double_start_ms: { max: totals.doubleStartMs.length === 0 ? 0 : Math.max(...totals.doubleStartMs) },
      long_outages: totals.long_outages,
      outage_records: totals.outage_records,
      ...(timedOut ? { timed_out: true } : {}),
      ok
    })
  }
}

/** One problem line per verification detail, each followed by the emulator's order and the journal lines it names. */
export const detailProblems = (tag: string, details: ReadonlyArray<string>, orders: ReadonlyArray<EmulatorOrder>, journalText: string): Array<string> => {
  const problems: Array<string> = []
  const lines = journalText.split("\n")
  for (const d of details) {
    problems.push(`${tag}: ${d}`)
    const id = /chaos-[A-Z]+-\d{8}T\d{4}Z-[a-z]/.exec(d)?.[0]
    if (id !== undefined) {
      const order = orders.find((o) => o.client_order_id === id)
      if (order !== undefined) problems.push(`    emulator: ${JSON.stringify(order)}`)
      for (const l of lines.filter((x) => x.includes(id)).slice(0, 8)) problems.push(`    journal: ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`)
    }
  }
  return problems
}
