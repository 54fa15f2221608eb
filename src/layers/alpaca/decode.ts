/**
 * Alpaca answers → domain values. Alpaca sends money and quantities as decimal strings; a field
 * that is missing or not a number is a MalformedAnswer naming the wire field, never a crash.
 */
import { Effect } from "effect"
import type { Bar } from "../../core/bar.js"
import type { Account, Order, OrderStatus, Position, Side } from "../../domain/Trading.js"
import { MalformedAnswer } from "./errors.js"

class FieldProblem {
  constructor(
    readonly field: string,
    readonly detail: string
  ) {}
}

const problem = (field: string, detail: string): never => {
  throw new FieldProblem(field, detail)
}

/** Inside `decodeAnswer`: stops decoding with a problem at `field`. */
export const malformed = problem

/** Runs a decoder; its first problem becomes a MalformedAnswer of `operation`. */
export const decodeAnswer = <A>(operation: string, decode: () => A): Effect.Effect<A, MalformedAnswer> =>
  Effect.try({
    try: decode,
    catch: (e) =>
      e instanceof FieldProblem
        ? new MalformedAnswer({ operation, field: e.field, detail: e.detail })
        : new MalformedAnswer({ operation, field: "(answer)", detail: e instanceof Error ? e.message : String(e) })
  })

const shown = (value: unknown): string => {
  if (value === undefined) return "is missing"
  if (value === null) return "is null"
  const text = typeof value === "string" ? JSON.stringify(value) : typeof value
  return `is ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`
}

export const record = (value: unknown, field: string): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : problem(field, `${shown(value)}, expected an object`)

export const array = (value: unknown, field: string): ReadonlyArray<unknown> =>
  Array.isArray(value) ? value : problem(field, `${shown(value)}, expected a list`)

export const text = (value: unknown, field: string): string =>
  typeof value === "string" && value !== "" ? value : problem(field, `${shown(value)}, expected a non-empty string`)

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** A decimal string (Alpaca's money/quantity encoding) or a finite number. */
export const decimal = (value: unknown, field: string): number => {
  if (typeof value === "number" && Number.isFinite(value)) return value
  if (typeof value === "string" && DECIMAL.test(value.trim())) {
    const n = Number(value.trim())
    if (Number.isFinite(n)) return n
  }
  return problem(field, `${shown(value)}, expected a decimal number`)
}

export const optionalDecimal = (value: unknown, field: string): number | undefined =>
  value === undefined || value === null || value === "" ? undefined : decimal(value, field)

/** A `Date` (SDK-parsed), an RFC-3339 string, or epoch ms → epoch ms. */
export const epochMs = (value: unknown, field: string): number => {
  const ms =
    value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : typeof value === "number" ? value : Number.NaN
  return Number.isFinite(ms) ? ms : problem(field, `${shown(value)}, expected a timestamp`)
}

export const optionalEpochMs = (value: unknown, field: string): number | undefined =>
  value === undefined || value === null ? undefined : epochMs(value, field)

export const decodeAccount = (value: unknown): Account => {
  const a = record(value, "account")
  return { cash: decimal(a.cash, "cash"), equity: decimal(a.equity, "equity"), buyingPower: decimal(a.buyingPower, "buying_power") }
}

export const decodePositions = (value: unknown): ReadonlyArray<Position> =>
  array(value, "positions").map((item, i) => {
    const p = record(item, `positions[${i}]`)
    return {
      ticker: text(p.symbol, `positions[${i}].symbol`),
      qty: decimal(p.qty, `positions[${i}].qty`),
      avgEntryPrice: decimal(p.avgEntryPrice, `positions[${i}].avg_entry_price`)
    }
  })

/**
 * Alpaca's order statuses folded onto ours. Open-but-busy states (pending_cancel, pending_replace,
 * done_for_day, stopped, suspended, held, …) stay open; `replaced` is final for this order.
 */
export const orderStatus = (status: string, filledQty: number, qty: number, field: string): OrderStatus => {
  switch (status) {
    case "new":
    case "accepted":
    case "pending_new":
    case "partially_filled":
    case "filled":
    case "canceled":
    case "expired":
    case "rejected":
      return status
    case "replaced":
      return "canceled"
    case "calculated":
      return filledQty >= qty ? "filled" : filledQty > 0 ? "partially_filled" : "accepted"
    case "held":
      return "pending_new"
    case "pending_cancel":
    case "pending_replace":
    case "done_for_day":
    case "stopped":
    case "suspended":
    case "accepted_for_bidding":
      return filledQty > 0 ? "partially_filled" : "accepted"
    default:
      return problem(field, `is ${JSON.stringify(status)}, not an order status`)
  }
}

const side = (value: unknown, field: string): Side => (value === "buy" || value === "sell" ? value : problem(field, `${shown(value)}, expected buy or sell`))

/** The SDK's Order model (camelCase, decimal strings, Dates) → our Order. */
export const decodeOrder = (value: unknown, prefix = "order"): Order => {
  const o = record(value, prefix)
  const qty = decimal(o.qty, `${prefix}.qty`)
  const filledQty = optionalDecimal(o.filledQty, `${prefix}.filled_qty`) ?? 0
  return {
    id: text(o.id, `${prefix}.id`),
    clientOrderId: text(o.clientOrderId, `${prefix}.client_order_id`),
    ticker: text(o.symbol, `${prefix}.symbol`),
    side: side(o.side, `${prefix}.side`),
    qty,
    filledQty,
    filledAvgPrice: optionalDecimal(o.filledAvgPrice, `${prefix}.filled_avg_price`),
    status: orderStatus(text(o.status, `${prefix}.status`), filledQty, qty, `${prefix}.status`),
    submittedAt: optionalEpochMs(o.submittedAt, `${prefix}.submitted_at`) ?? epochMs(o.createdAt, `${prefix}.created_at`)
  }
}

/** When the order last changed, from the timestamps Alpaca keeps on it. */
export const orderEventTime = (value: unknown, prefix = "order"): number | undefined => {
  const o = record(value, prefix)
  for (const key of ["filledAt", "canceledAt", "expiredAt", "failedAt", "updatedAt"] as const) {
    const t = o[key]
    if (t instanceof Date && !Number.isNaN(t.getTime())) return t.getTime()
  }
  return undefined
}

/** A REST bar `{t,o,h,l,c,v}` (`t` a Date or an RFC-3339 string: the SDK leaves map values raw). */
export const decodeRestBar = (value: unknown, field: string): Bar => {
  const b = record(value, field)
  return {
    time: epochMs(b.t, `${field}.t`),
    open: decimal(b.o, `${field}.o`),
    high: decimal(b.h, `${field}.h`),
    low: decimal(b.l, `${field}.l`),
    close: decimal(b.c, `${field}.c`),
    volume: decimal(b.v, `${field}.v`)
  }
}

/** A stream bar (the SDK's camelCase StreamBar) → symbol and Bar. */
export const decodeStreamBar = (value: unknown): { readonly ticker: string; readonly bar: Bar } => {
  const b = record(value, "bar")
  return {
    ticker: text(b.symbol, "bar.S"),
    bar: {
      time: epochMs(b.timestamp, "bar.t"),
      open: decimal(b.open, "bar.o"),
      high: decimal(b.high, "bar.h"),
      low: decimal(b.low, "bar.l"),
      close: decimal(b.close, "bar.c"),
      volume: decimal(b.volume, "bar.v")
    }
  }
}
