import { Effect } from "effect"
import { formatUtc as iso } from "../core/nytime.js"
import { planRecovery } from "../core/recovery.js"
import { Broker } from "../services/Broker.js"
import { Journal } from "../services/Journal.js"
import type { Outages } from "./outage.js"

/** What the journal holds of one order's fills. */
export interface JournaledFills {
  qty: number
  notional: number
}

/**
 * A restart's first job: read what the journal already holds (when it held anything), ask the
 * broker about every order the journal meant to send but has no outcome for, and journal what
 * happened — fills it missed, cancels, `intent_unsent` for an order that never got there (not
 * resent: its decision is past). Orders still open are handed to the broker to follow. Then the
 * broker's positions are compared with the journal's fills (`position_check`).
 * Returns the journal's fills per client order id, so no fill is ever journaled twice. A broker
 * outage is waited out (`outages`): a restart never guesses.
 */
export const recoverFromJournal = (tickers: ReadonlyArray<string>, start: number, outages: Outages) =>
  Effect.gen(function* () {
    const broker = yield* Broker
    const journal = yield* Journal
    const recovery = planRecovery(journal.recovered)
    const journaled = new Map<string, JournaledFills>()
    const addFill = (id: string, qty: number, price: number) => {
      const j = journaled.get(id) ?? { qty: 0, notional: 0 }
      j.qty += qty
      j.notional += qty * (Number.isFinite(price) ? price : 0)
      journaled.set(id, j)
    }
    for (const r of journal.recovered) {
      if ((r.type === "fill" || r.type === "partial_fill") && typeof r.client_order_id === "string") addFill(r.client_order_id, Number(r.qty), Number(r.price))
    }
    if (journal.recovered.length > 0) {
      yield* journal.append({
        type: "recovery",
        time: iso(start),
        last_decision_bar_time: recovery.lastDecisionBarTime === undefined ? null : iso(recovery.lastDecisionBarTime),
        unresolved_orders: recovery.unresolved.length
      })
      const recoveredShares = new Map<string, number>()
      for (const intent of recovery.unresolved) {
        const order = yield* outages.untilAnswered("broker", broker.orderByClientId(intent.clientOrderId))
        const base = { time: iso(start), ticker: intent.ticker, side: intent.side, client_order_id: intent.clientOrderId, recovered: true }
        if (order === undefined) {
          yield* journal.append({ type: "intent_unsent", ...base, qty: intent.qty, reason: "the broker has no such order: it was never sent, and is not resent (its decision is past)" })
          continue
        }
        const before = journaled.get(intent.clientOrderId) ?? { qty: 0, notional: 0 }
        const missed = order.filledQty - before.qty
        if (missed > 0) {
          recoveredShares.set(intent.ticker, (recoveredShares.get(intent.ticker) ?? 0) + (intent.side === "buy" ? missed : -missed))
          const price = order.filledAvgPrice === undefined ? NaN : (order.filledAvgPrice * order.filledQty - before.notional) / missed
          yield* journal.append({ type: order.status === "filled" ? "fill" : "partial_fill", ...base, qty: missed, price: Number.isFinite(price) ? price : null })
          addFill(intent.clientOrderId, missed, price)
        }
        if (order.status === "canceled" || order.status === "expired" || order.status === "rejected") {
          yield* journal.append({ type: order.status === "canceled" ? "cancel" : order.status === "expired" ? "expiry" : "rejection", ...base, qty: order.qty })
        } else if (order.status !== "filled") {
          // still open: the broker follows it from here, knowing what the journal already has
          const j = journaled.get(intent.clientOrderId) ?? { qty: 0, notional: 0 }
          yield* broker.adopt(intent.clientOrderId, j)
        }
      }
      const held = yield* outages.untilAnswered("broker", broker.positions)
      for (const ticker of tickers) {
        const ours = (recovery.positions.get(ticker) ?? 0) + (recoveredShares.get(ticker) ?? 0)
        const theirs = held.find((p) => p.ticker === ticker)?.qty ?? 0
        if (Math.abs(theirs - ours) > 1e-9) {
          yield* journal.append({ type: "position_check", time: iso(start), ticker, journal: ours, broker: theirs })
          yield* Effect.logWarning("broker position differs from the journal's fills; the broker's is used").pipe(Effect.annotateLogs({ ticker, journal: ours, broker: theirs }))
        }
      }
    }
    return { journaled, addFill, lastDecisionBarTime: recovery.lastDecisionBarTime }
  })
