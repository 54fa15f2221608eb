/**
 * What we have told the program about each order, so that the same order seen again — on the
 * stream, in a REST answer, in a reconciliation after a reconnect — only yields what is new: the
 * fill quantity beyond what was already reported, and a terminal event once.
 */
import type { Order, TradeUpdate } from "../../domain/Trading.js"

const EPSILON = 1e-9

interface Tracked {
  /** Submitted by this process (reconciled after reconnects while not final). */
  ours: boolean
  /** Confirmed by the broker (we have seen it with an id). */
  confirmed: boolean
  reportedQty: number
  reportedNotional: number
  final: boolean
}

/** One execution as the stream reported it. */
export interface Execution {
  readonly qty: number
  readonly price: number
}

export class OrderTracker {
  private readonly orders = new Map<string, Tracked>()

  /** Starts tracking an order we are about to submit. */
  track(clientOrderId: string): void {
    const t = this.orders.get(clientOrderId)
    if (t === undefined) this.orders.set(clientOrderId, { ours: true, confirmed: false, reportedQty: 0, reportedNotional: 0, final: false })
    else t.ours = true
  }

  /** Stops tracking an order the broker refused (it never existed). */
  /** An order of ours known from elsewhere (a restart's journal): reported fills so far are not reported again. */
  adopt(clientOrderId: string, reportedQty: number, reportedNotional: number): void {
    this.orders.set(clientOrderId, { ours: true, confirmed: true, reportedQty, reportedNotional, final: false })
  }

  forget(clientOrderId: string): void {
    const t = this.orders.get(clientOrderId)
    if (t !== undefined && !t.confirmed) this.orders.delete(clientOrderId)
  }

  /** Our orders that may still change: looked up after every reconnect. */
  pending(): ReadonlyArray<{ readonly clientOrderId: string; readonly confirmed: boolean }> {
    const out: Array<{ clientOrderId: string; confirmed: boolean }> = []
    for (const [clientOrderId, t] of this.orders) if (t.ours && !t.final) out.push({ clientOrderId, confirmed: t.confirmed })
    return out
  }

  /**
   * The updates `order` (a snapshot from the stream or REST, at `time`) adds to what was reported:
   * a Fill for the newly filled quantity (priced from `execution` when it is exactly that, else
   * from the average fill price), then Canceled/Expired/Rejected once.
   */
  observe(order: Order, time: number, execution?: Execution, reason?: string): ReadonlyArray<TradeUpdate> {
    let t = this.orders.get(order.clientOrderId)
    if (t === undefined) {
      t = { ours: false, confirmed: true, reportedQty: 0, reportedNotional: 0, final: false }
      this.orders.set(order.clientOrderId, t)
    }
    t.confirmed = true
    const out: Array<TradeUpdate> = []
    const delta = order.filledQty - t.reportedQty
    if (delta > EPSILON) {
      const price =
        execution !== undefined && Math.abs(execution.qty - delta) <= EPSILON
          ? execution.price
          : order.filledAvgPrice !== undefined
            ? (order.filledAvgPrice * order.filledQty - t.reportedNotional) / delta
            : execution?.price
      if (price !== undefined && Number.isFinite(price)) {
        out.push({
          _tag: "Fill",
          fill: { time, ticker: order.ticker, side: order.side, qty: delta, price, clientOrderId: order.clientOrderId, orderId: order.id },
          order,
          partial: order.filledQty + EPSILON < order.qty
        })
        t.reportedQty = order.filledQty
        t.reportedNotional += delta * price
      }
    }
    if (!t.final) {
      switch (order.status) {
        case "canceled":
          out.push({ _tag: "Canceled", order, time, reason })
          t.final = true
          break
        case "expired":
          out.push({ _tag: "Expired", order, time, reason })
          t.final = true
          break
        case "rejected":
          out.push({ _tag: "Rejected", order, time, reason })
          t.final = true
          break
        case "filled":
          t.final = t.reportedQty + EPSILON >= order.qty
          break
        default:
          break
      }
    }
    return out
  }
}
