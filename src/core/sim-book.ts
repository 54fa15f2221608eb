import type { Account, Fill, Order, OrderRequest, Position, TradeUpdate } from "../domain/Trading.js"
import type { Bar } from "./bar.js"
import { barCanFill, buyCost, type CostPct, type Fees, fillTime, marketFill, slippedPrice } from "./fill-model.js"

export interface SimBookOptions {
  readonly initialCash: number
  /**
   * `next_open`: a market order fills by the shared fill model (core/fill-model.ts): at the open of
   * the ticker's first bar ending after its submission, at max(submission, bar start); an order
   * submitted at a bar's close fills at the next bar's open. `close`: at once, at the last close
   * (FinRL's booking; the simulator only).
   */
  readonly fillPrice: "next_open" | "close"
  /** Price impact against the order: buys fill `bps` above the rule's price, sells below. */
  readonly slippageBps: number
  /** Fees the book charges, as fractions of notional (0 for Alpaca; FinRL's costs to book as its environment does). */
  readonly buyCostPct: CostPct
  readonly sellCostPct: CostPct
  /** Shares held at the start (FinRL's `num_stock_shares`), by ticker; their cost basis is their first close. */
  readonly initialPositions?: ReadonlyMap<string, number> | undefined
  /**
   * The bars' length, ms. When given, a bar that had already ended when an order was submitted (one
   * delivered late) does not fill it. Default: every bar delivered after a submission may fill it,
   * as bars are delivered when they close.
   */
  readonly barMs?: number | undefined
  /**
   * The ticker's bar in progress at `at` (the first bar ending after it), from the tape. When given,
   * an order whose fill bar has started by its submission fills on arrival, as the emulator fills
   * it: a sell sent at a bar's close is cash before the buys sent after it.
   */
  readonly barInProgress?: ((ticker: string, at: number) => Bar | undefined) | undefined
}

type MutableOrder = { -readonly [K in keyof Order]: Order[K] }

/**
 * A deterministic paper book: cash, positions, market orders and their fills, by the fill model the
 * emulator also uses (core/fill-model.ts): fill price = rule price × (1 ± slippage), cash moves by
 * price·qty·(1 + buy cost) on a buy and price·qty·(1 − sell cost) on a sell.
 * Orders are checked against cash (buys, at the last close) and holdings (sells; no shorting) when
 * submitted; a next-open fill may then take cash slightly below zero, as a margin account allows.
 */
export class SimBook {
  private cash: number
  private readonly positions = new Map<string, { qty: number; cost: number }>()
  private readonly lastClose = new Map<string, number>()
  private readonly orders = new Map<string, MutableOrder>()
  private readonly pending: Array<MutableOrder> = []
  private updates: Array<TradeUpdate> = []
  private sequence = 0

  private readonly fees: Fees
  /** Initial positions whose cost basis waits for their first close. */
  private readonly unpriced = new Set<string>()

  constructor(private readonly options: SimBookOptions) {
    this.cash = options.initialCash
    this.fees = { buyPct: options.buyCostPct, sellPct: options.sellCostPct }
    for (const [ticker, qty] of options.initialPositions ?? []) {
      if (qty <= 0) continue
      this.positions.set(ticker, { qty, cost: 0 })
      this.unpriced.add(ticker)
    }
  }

  /** Accepts or refuses an order; `now` is the market time of submission. */
  submit(request: OrderRequest, now: number): { readonly ok: true; readonly order: Order } | { readonly ok: false; readonly reason: string } {
    if (this.orders.has(request.clientOrderId)) return { ok: false, reason: "client_order_id must be unique" }
    if (!(request.qty > 0) || !Number.isFinite(request.qty)) return { ok: false, reason: `qty must be > 0, got ${request.qty}` }
    if (request.type !== "market") return { ok: false, reason: "the simulated broker fills market orders only" }
    const price = this.lastClose.get(request.ticker)
    if (price === undefined) return { ok: false, reason: `no price yet for ${request.ticker}` }
    const reserved = this.pending.filter((o) => o.ticker === request.ticker && o.side === "sell").reduce((s, o) => s + o.qty, 0)
    if (request.side === "sell" && request.qty > (this.positions.get(request.ticker)?.qty ?? 0) - reserved) {
      return { ok: false, reason: "insufficient qty available for order" }
    }
    // buying power as the emulator reserves it: at the last close moved by the slippage, fee included
    if (request.side === "buy" && buyCost(request.qty, slippedPrice("buy", price, this.options.slippageBps), this.fees, request.ticker) > this.buyingPower() + 1e-9) {
      return { ok: false, reason: "insufficient buying power" }
    }
    const order: MutableOrder = {
      id: `sim-${++this.sequence}`,
      clientOrderId: request.clientOrderId,
      ticker: request.ticker,
      side: request.side,
      qty: request.qty,
      filledQty: 0,
      filledAvgPrice: undefined,
      status: "new",
      submittedAt: now
    }
    this.orders.set(order.clientOrderId, order)
    const arrived = this.options.fillPrice === "close" ? undefined : this.options.barInProgress?.(request.ticker, now)
    if (this.options.fillPrice === "close") this.fill(order, price, now)
    else if (arrived !== undefined && arrived.time <= now) this.fill(order, arrived.open, fillTime(arrived.time, now))
    else this.pending.push(order)
    return { ok: true, order: { ...order } }
  }

  /** A bar of `ticker` opened and closed: pending orders it may fill fill at its open, then it marks the book. */
  onBar(ticker: string, bar: Bar): void {
    const barMs = this.options.barMs ?? Number.POSITIVE_INFINITY
    for (let i = 0; i < this.pending.length; ) {
      const order = this.pending[i]
      if (order.ticker === ticker && barCanFill(bar.time, barMs, order.submittedAt)) {
        this.pending.splice(i, 1)
        this.fill(order, bar.open, fillTime(bar.time, order.submittedAt))
      } else i++
    }
    this.lastClose.set(ticker, bar.close)
    const held = this.positions.get(ticker)
    if (held !== undefined && this.unpriced.delete(ticker)) held.cost = held.qty * bar.close
  }

  cancel(orderId: string, now: number): boolean {
    const at = this.pending.findIndex((o) => o.id === orderId)
    if (at < 0) return false
    const [order] = this.pending.splice(at, 1)
    order.status = "canceled"
    this.updates.push({ _tag: "Canceled", order: { ...order }, time: now })
    return true
  }

  account(): Account {
    let equity = this.cash
    for (const [ticker, p] of this.positions) equity += p.qty * (this.lastClose.get(ticker) ?? 0)
    return { cash: this.cash, equity, buyingPower: this.buyingPower() }
  }

  positionList(): ReadonlyArray<Position> {
    return [...this.positions.entries()]
      .filter(([, p]) => p.qty !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([ticker, p]) => ({ ticker, qty: p.qty, avgEntryPrice: p.cost / p.qty }))
  }

  openOrders(): ReadonlyArray<Order> {
    return this.pending.map((o) => ({ ...o }))
  }

  orderByClientId(clientOrderId: string): Order | undefined {
    const order = this.orders.get(clientOrderId)
    return order === undefined ? undefined : { ...order }
  }

  takeUpdates(): ReadonlyArray<TradeUpdate> {
    const taken = this.updates
    this.updates = []
    return taken
  }

  private buyingPower(): number {
    const committed = this.pending
      .filter((o) => o.side === "buy")
      .reduce((s, o) => s + buyCost(o.qty, this.lastClose.get(o.ticker) ?? 0, this.fees, o.ticker), 0)
    return Math.max(0, this.cash - committed)
  }

  private fill(order: MutableOrder, rulePrice: number, time: number): void {
    const { price, cashDelta } = marketFill({ side: order.side, qty: order.qty, open: rulePrice, slippageBps: this.options.slippageBps, fees: this.fees, ticker: order.ticker })
    const position = this.positions.get(order.ticker) ?? { qty: 0, cost: 0 }
    this.cash += cashDelta
    if (order.side === "buy") {
      position.cost += price * order.qty
      position.qty += order.qty
    } else {
      position.cost -= position.qty === 0 ? 0 : (position.cost / position.qty) * order.qty
      position.qty -= order.qty
    }
    this.positions.set(order.ticker, position)
    order.filledQty = order.qty
    order.filledAvgPrice = price
    order.status = "filled"
    const fill: Fill = { time, ticker: order.ticker, side: order.side, qty: order.qty, price, clientOrderId: order.clientOrderId, orderId: order.id }
    this.updates.push({ _tag: "Fill", fill, order: { ...order }, partial: false })
  }
}
