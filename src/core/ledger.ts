import type { JournalRecord } from "../domain/Journal.js"
import type { Side } from "./actions.js"

import { buyCost, type Fees, NO_FEES, settleFill } from "./fill-model.js"

export { type Fees, NO_FEES } from "./fill-model.js"

/** An order the ledger holds open: what it reserves until it is filled, canceled, expired or rejected. */
export interface LedgerOrder {
  readonly clientOrderId: string
  readonly ticker: string
  readonly side: Side
  readonly qty: number
  readonly filledQty: number
  /** The price a buy's reservation is estimated at (the decision's close). */
  readonly reservePrice: number
}

/** The broker's side of a reconciliation: its account cash, positions and open orders. */
export interface BrokerView {
  readonly cash: number
  readonly positions: ReadonlyMap<string, number>
  /** Open orders by client order id, with what of each is filled. */
  readonly openOrders: ReadonlyArray<{ readonly clientOrderId: string; readonly ticker: string; readonly side: Side; readonly qty: number; readonly filledQty: number }>
}

export interface LedgerDifference {
  readonly what: "cash" | "position" | "open_order"
  readonly ticker?: string | undefined
  readonly clientOrderId?: string | undefined
  readonly ledger: number | null
  readonly broker: number | null
}

/** One consistent view of the portfolio, tickers in the model's order: what every decision reads. */
export interface LedgerSnapshot {
  readonly cash: number
  readonly holdings: ReadonlyArray<number>
  /** Estimated cost of what open buys still have to fill (at their reserve price, with the buy fee). */
  readonly reservedCash: number
  /** Shares per ticker that open sells still have to sell. */
  readonly reservedShares: ReadonlyArray<number>
  /** Cash not committed to open buys. */
  readonly availableCash: number
  /** Holdings not already being sold. */
  readonly sellable: ReadonlyArray<number>
  /** The latest marks, NaN where none yet. */
  readonly prices: ReadonlyArray<number>
  /** Cash plus every position at its latest mark. */
  readonly equity: number
}

/**
 * A price as the wire carries it: Alpaca's JSON and the emulator write decimals with at most nine
 * places, so a live fill is booked at `Number(price.toFixed(9))`; booking simulated fills the same
 * way makes a backtest's cash and a paper session's cash the same doubles for the same fills.
 */
export const wirePrice = (price: number): number => (Number.isFinite(price) ? Number(price.toFixed(9)) : price)

/** Within a cent the ledger's cash and the broker's are the same (brokers round cash to cents). */
const CASH_TOLERANCE = 0.005

/**
 * Cash is held as a whole number of micro-dollars: integer sums are exact, so the fills of one bar
 * give the same cash in whatever order they arrive (the actors of a live session send them
 * concurrently; a backtest books them in ticker order). Exact up to 2^53 micro-dollars (≈ $9·10⁹).
 */
const MICROS = 1e6
const toMicros = (dollars: number): number => Math.round(dollars * MICROS)

/**
 * The portfolio ledger: cash, positions and open orders with what they reserve, changed only by
 * events — an order intent, fills and partial fills, its end (cancel, expiry, rejection, never
 * sent), marks — and by a reconciliation that adopts the broker's truth. Pure and deterministic:
 * the backtest and live trading feed it the same events and read the same snapshot.
 */
export class Ledger {
  private cashMicros: number
  private readonly positions = new Map<string, number>()
  private readonly open = new Map<string, { -readonly [K in keyof LedgerOrder]: LedgerOrder[K] }>()
  private readonly marks = new Map<string, number>()

  constructor(
    private readonly tickers: ReadonlyArray<string>,
    private readonly fees: Fees,
    initial: { readonly cash: number; readonly positions?: ReadonlyMap<string, number> | undefined }
  ) {
    this.cashMicros = toMicros(initial.cash)
    for (const [ticker, qty] of initial.positions ?? []) if (qty !== 0) this.positions.set(ticker, qty)
  }

  get cash(): number {
    return this.cashMicros / MICROS
  }

  position(ticker: string): number {
    return this.positions.get(ticker) ?? 0
  }

  openOrders(): ReadonlyArray<LedgerOrder> {
    return [...this.open.values()].map((o) => ({ ...o }))
  }

  hasOpenOrders(): boolean {
    return this.open.size > 0
  }

  /** The latest price of a ticker (a bar's close). */
  mark(ticker: string, price: number): void {
    if (Number.isFinite(price) && price > 0) this.marks.set(ticker, price)
  }

  /** An order the session is about to send: from now on it reserves its shares (sell) or cash (buy). */
  intend(order: { readonly clientOrderId: string; readonly ticker: string; readonly side: Side; readonly qty: number }, reservePrice: number, filledQty = 0): void {
    if (this.open.has(order.clientOrderId)) return
    this.open.set(order.clientOrderId, { clientOrderId: order.clientOrderId, ticker: order.ticker, side: order.side, qty: order.qty, filledQty, reservePrice })
  }

  /**
   * A fill of `qty` shares (an increment, not a cumulative quantity) at `price`. Books cash with the
   * fees and moves the position; the order's reservation shrinks, and it closes when fully filled.
   * Returns the fee paid. A fill of an order the ledger never held still moves cash and position.
   */
  fill(fill: { readonly clientOrderId: string; readonly ticker: string; readonly side: Side; readonly qty: number; readonly price: number }): number {
    const price = wirePrice(fill.price)
    const { fee, cashDelta } = settleFill(fill.side, fill.qty, price, this.fees, fill.ticker)
    this.cashMicros += toMicros(cashDelta)
    const qty = this.position(fill.ticker) + (fill.side === "buy" ? fill.qty : -fill.qty)
    if (qty === 0) this.positions.delete(fill.ticker)
    else this.positions.set(fill.ticker, qty)
    const order = this.open.get(fill.clientOrderId)
    if (order !== undefined) {
      order.filledQty += fill.qty
      if (order.filledQty >= order.qty - 1e-9) this.open.delete(fill.clientOrderId)
    }
    return fee
  }

  /** The fee a fill would pay (what {@link fill} books), without booking it. */
  feeOf(fill: { readonly ticker: string; readonly side: Side; readonly qty: number; readonly price: number }): number {
    return settleFill(fill.side, fill.qty, wirePrice(fill.price), this.fees, fill.ticker).fee
  }

  /** The order ended without (more) fills: canceled, expired, rejected, or never sent. Its reservation is released. */
  close(clientOrderId: string): void {
    this.open.delete(clientOrderId)
  }

  snapshot(): LedgerSnapshot {
    const n = this.tickers.length
    const reservedShares = new Array<number>(n).fill(0)
    let reservedCash = 0
    for (const o of this.open.values()) {
      const i = this.tickers.indexOf(o.ticker)
      const remaining = o.qty - o.filledQty
      if (o.side === "sell") {
        if (i >= 0) reservedShares[i] += remaining
      } else reservedCash += buyCost(remaining, o.reservePrice, this.fees, o.ticker)
    }
    const holdings = this.tickers.map((t) => this.position(t))
    const prices = this.tickers.map((t) => this.marks.get(t) ?? NaN)
    const cash = this.cash
    return {
      cash,
      holdings,
      reservedCash,
      reservedShares,
      availableCash: cash - reservedCash,
      sellable: holdings.map((h, i) => Math.max(0, h - reservedShares[i])),
      prices,
      equity: this.equity()
    }
  }

  /**
   * Cash plus every position at its latest mark (a position without a mark counts at 0), summed in
   * ticker order: the same positions give the same double whatever order their fills came in.
   */
  equity(): number {
    let equity = this.cash
    for (const ticker of [...this.positions.keys()].sort()) equity += this.positions.get(ticker)! * (this.marks.get(ticker) ?? 0)
    return equity
  }

  /** Positions by ticker (nonzero only), sorted by ticker. */
  positionMap(): Readonly<Record<string, number>> {
    return Object.fromEntries([...this.positions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  markMap(): Readonly<Record<string, number>> {
    return Object.fromEntries([...this.marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  /**
   * Compares the ledger with the broker's account, positions and open orders and adopts the
   * broker's truth wherever they differ (cash beyond a cent, any position, an open order's filled
   * quantity, an open order one side does not have). Returns the differences, both sides named.
   * Only call it when nothing is in flight: no order being sent and every trade update taken.
   */
  reconcile(broker: BrokerView): ReadonlyArray<LedgerDifference> {
    const differences: Array<LedgerDifference> = []
    if (Math.abs(broker.cash - this.cash) > CASH_TOLERANCE) {
      differences.push({ what: "cash", ledger: this.cash, broker: broker.cash })
      this.cashMicros = toMicros(broker.cash)
    }
    const tickers = new Set([...this.positions.keys(), ...broker.positions.keys()])
    for (const ticker of [...tickers].sort()) {
      const ours = this.position(ticker)
      const theirs = broker.positions.get(ticker) ?? 0
      if (Math.abs(ours - theirs) > 1e-9) {
        differences.push({ what: "position", ticker, ledger: ours, broker: theirs })
        if (theirs === 0) this.positions.delete(ticker)
        else this.positions.set(ticker, theirs)
      }
    }
    const theirOpen = new Map(broker.openOrders.map((o) => [o.clientOrderId, o]))
    for (const [id, o] of [...this.open]) {
      const theirs = theirOpen.get(id)
      if (theirs === undefined) {
        differences.push({ what: "open_order", ticker: o.ticker, clientOrderId: id, ledger: o.qty - o.filledQty, broker: null })
        this.open.delete(id)
      } else if (Math.abs(theirs.filledQty - o.filledQty) > 1e-9) {
        differences.push({ what: "open_order", ticker: o.ticker, clientOrderId: id, ledger: o.qty - o.filledQty, broker: theirs.qty - theirs.filledQty })
        o.filledQty = theirs.filledQty
      }
    }
    for (const [id, o] of theirOpen) {
      if (this.open.has(id)) continue
      differences.push({ what: "open_order", ticker: o.ticker, clientOrderId: id, ledger: null, broker: o.qty - o.filledQty })
      this.open.set(id, { clientOrderId: id, ticker: o.ticker, side: o.side, qty: o.qty, filledQty: o.filledQty, reservePrice: this.marks.get(o.ticker) ?? 0 })
    }
    return differences
  }
}

/**
 * The ledger as a journal left it: the last `portfolio` record, then every intent, fill and order
 * end journaled after it, in order. `undefined` when the journal has no portfolio record (a fresh
 * journal, or one written before version 2).
 */
export const ledgerFromJournal = (records: ReadonlyArray<JournalRecord>, tickers: ReadonlyArray<string>, fees: Fees): Ledger | undefined => {
  let last = -1
  records.forEach((r, i) => {
    if (r.type === "portfolio") last = i
  })
  if (last < 0) return undefined
  const p = records[last] as Extract<JournalRecord, { type: "portfolio" }>
  const ledger = new Ledger(tickers, fees, { cash: p.cash, positions: new Map(Object.entries(p.positions)) })
  for (const [ticker, price] of Object.entries(p.prices)) ledger.mark(ticker, price)
  for (const o of p.open_orders) ledger.intend({ clientOrderId: o.client_order_id, ticker: o.ticker, side: o.side, qty: o.qty }, p.prices[o.ticker] ?? 0, o.filled_qty)
  for (const r of records.slice(last + 1)) {
    switch (r.type) {
      case "decision":
      case "flatten":
        for (const o of r.orders) ledger.intend({ clientOrderId: o.client_order_id, ticker: o.ticker, side: o.side, qty: o.qty }, p.prices[o.ticker] ?? 0)
        break
      case "fill":
      case "partial_fill":
        if (r.price !== null) ledger.fill({ clientOrderId: r.client_order_id, ticker: r.ticker, side: r.side, qty: r.qty, price: r.price })
        break
      case "cancel":
      case "expiry":
      case "rejection":
      case "intent_unsent":
      case "order_error":
        ledger.close(r.client_order_id)
        break
    }
  }
  return ledger
}
