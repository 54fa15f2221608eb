import type { JournalRecord } from "../domain/Journal.js"

export interface OrderIntent {
  readonly clientOrderId: string
  readonly ticker: string
  readonly side: "buy" | "sell"
  readonly qty: number
  /** Shares the journal already records as filled. */
  readonly filled: number
}

export interface RecoveryPlan {
  /** The last bar a decision was journaled for (epoch ms): a restart never decides it again. */
  readonly lastDecisionBarTime: number | undefined
  /** Orders the journal meant to send whose outcome it does not record. */
  readonly unresolved: ReadonlyArray<OrderIntent>
  /** Net shares per ticker by the journal's fills. */
  readonly positions: ReadonlyMap<string, number>
}

/**
 * Records that end an order for good. Not `order_error`: the session gave up sending it, but a
 * send that got no answer may have reached the broker, so a restart asks the broker about it.
 */
const TERMINAL = new Set(["rejection", "cancel", "expiry", "intent_unsent"])

/** Reads a journal's past: where to resume, which order intents are still open, what the fills add up to. */
export const planRecovery = (records: ReadonlyArray<JournalRecord>): RecoveryPlan => {
  let lastDecisionBarTime: number | undefined
  const intents = new Map<string, { ticker: string; side: "buy" | "sell"; qty: number; filled: number; done: boolean }>()
  const positions = new Map<string, number>()
  for (const r of records) {
    if (r.type === "decision" || r.type === "flatten") {
      const t = Date.parse(r.bar_time)
      if (r.type === "decision") lastDecisionBarTime = Math.max(lastDecisionBarTime ?? -Infinity, t)
      for (const o of r.orders) {
        if (!intents.has(o.client_order_id)) intents.set(o.client_order_id, { ticker: o.ticker, side: o.side, qty: o.qty, filled: 0, done: false })
      }
    } else if (r.type === "fill" || r.type === "partial_fill") {
      const qty = r.qty
      const signed = r.side === "sell" ? -qty : qty
      positions.set(r.ticker, (positions.get(r.ticker) ?? 0) + signed)
      const intent = intents.get(r.client_order_id)
      if (intent !== undefined) {
        intent.filled += qty
        if (intent.filled >= intent.qty) intent.done = true
      }
    } else if (TERMINAL.has(r.type) && "client_order_id" in r) {
      const intent = intents.get(r.client_order_id)
      if (intent !== undefined) intent.done = true
    }
  }
  const unresolved = [...intents].filter(([, i]) => !i.done).map(([clientOrderId, i]) => ({ clientOrderId, ticker: i.ticker, side: i.side, qty: i.qty, filled: i.filled }))
  return { lastDecisionBarTime, unresolved, positions }
}
