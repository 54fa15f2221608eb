/**
 * The emulated brokerage account: orders, positions, cash and the fill engine.
 *
 * ## Fill rule
 *
 * Market orders follow the fill model the simulator also uses (core/fill-model.ts), so a backtest
 * and a paper session against this emulator fill the same order on the same bars at the same price:
 *
 * - **Market**: an order submitted at market time T fills completely at the
 *   OPEN of the first bar of its symbol whose END is after T — the bar in
 *   progress at T (then it fills at once, at T), else the next bar (at its
 *   START; if the market is closed that is the next session's first bar) —
 *   adjusted by `slippageBps` (buys pay open × (1 + bps/10⁴), sells receive
 *   open × (1 − bps/10⁴)). Alpaca fills a market order at the current quote
 *   on arrival; with bars, the best estimate of that price is the open of the
 *   bar in progress, never a price from a bar that has not started.
 * - **Limit**: matched against the bars whose start ≥ T, in order. At a bar's
 *   START, if the open is already at or better than the limit (buy: open ≤
 *   limit, sell: open ≥ limit) it fills at the OPEN. Otherwise, at the bar's
 *   END (when it is published), if the bar's range crossed the limit (buy:
 *   low ≤ limit, sell: high ≥ limit) it fills at the LIMIT price; if not, the
 *   next bar is tried. No slippage on limit orders.
 * - `ioc` / `fok` orders get exactly one bar: if not filled by it they are
 *   canceled. `day` limit orders expire at the close of the session they were
 *   submitted in (or the next session, if submitted while closed). `day`
 *   market orders always have a bar to fill at: submitted while closed they
 *   queue and fill at the next session's first bar (they would only expire,
 *   at that session's close, if middleware vetoed every fill). `gtc` orders
 *   never expire.
 * - Fees (`fees`, default none: Alpaca charges no commission on US equities):
 *   cash −= price·qty·(1 + buyPct) on a buy, += price·qty·(1 − sellPct) on a
 *   sell, as the simulator books them. A buy whose cost at fill time, fee
 *   included, exceeds the account's cash is rejected (cash account, no margin).
 *
 * Buying power: `cash` minus the estimated cost, fee included, of open buy
 * orders (limit price, or the latest published close plus slippage for market
 * orders). An order that does not fit gets 403 "insufficient buying power".
 * Selling more than the position minus shares held for open sell orders gets
 * 403 (shorting is disabled).
 */
import { randomUUID } from "node:crypto"
import { decimal, decimalOrNull, parseNumeric } from "./format.js"
import type { Market } from "./market.js"
import type { FillProposal } from "./middleware.js"
import { buyCost, type Fees, fillTime, findFillBar, settleFill, slippedPrice } from "../core/fill-model.js"
import { formatUtc, nyDate } from "../core/nytime.js"

export type Side = "buy" | "sell"
export type OrderType = "market" | "limit"
export type TimeInForce = "day" | "gtc" | "ioc" | "fok"
export type OrderStatus = "new" | "partially_filled" | "filled" | "canceled" | "expired" | "rejected"
export type TradeEvent = "new" | "fill" | "partial_fill" | "canceled" | "expired" | "rejected"

const OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set(["new", "partially_filled"])

export interface Order {
  readonly seq: number
  readonly id: string
  readonly clientOrderId: string
  readonly symbol: string
  readonly assetId: string
  readonly side: Side
  readonly type: OrderType
  readonly tif: TimeInForce
  readonly qty: number
  readonly limitPrice: number | null
  /** Price used to reserve buying power for a buy (the fee comes on top). */
  readonly reservePrice: number
  readonly createdAt: number
  readonly expiresAt: number | null
  status: OrderStatus
  filledQty: number
  filledAvgPrice: number | null
  updatedAt: number
  filledAt: number | null
  canceledAt: number | null
  expiredAt: number | null
  failedAt: number | null
  /** Index of the candidate bar in the symbol's series. */
  cursor: number
  /** Whether the candidate bar is next evaluated at its start or its end. */
  phase: "start" | "end"
  /** Bars tried so far (ioc/fok get one). */
  barsTried: number
}

export interface Position {
  readonly symbol: string
  readonly assetId: string
  qty: number
  avgEntryPrice: number
  /** Session index for which `intradayCost` is valid. */
  intradaySession: number
  /** Cost basis of the position measured from the previous close (shares held overnight) or fill price. */
  intradayCost: number
}

export interface TradeUpdate {
  readonly event: TradeEvent
  readonly order: Order
  readonly at: number
  readonly price?: number
  readonly qty?: number
  readonly positionQty?: number
  readonly executionId?: string
}

export type ApiFailure = { readonly ok: false; readonly status: number; readonly body: Record<string, unknown> }
export type ApiResult<A> = { readonly ok: true; readonly value: A } | ApiFailure

const fail = (status: number, code: number, message: string, extra: Record<string, unknown> = {}): ApiFailure => ({
  ok: false,
  status,
  body: { code, message, ...extra }
})

export interface BrokerOptions {
  readonly initialCash: number
  readonly slippageBps: number
  /** Fees booked on every fill, as fractions of notional. */
  readonly fees: Fees
  readonly createdAt: number
  readonly accountId: string
  readonly accountNumber: string
  /** Lets middleware reshape or veto a fill (partial / slow fills). */
  readonly fillHook: (proposal: FillProposal) => FillProposal | null
}

export class Broker {
  cash: number
  private readonly orders: Order[] = []
  /** Open orders in submission order (a Set keeps insertion order). */
  private readonly open = new Set<Order>()
  private readonly byId = new Map<string, Order>()
  private readonly byClientId = new Map<string, Order>()
  private readonly positions = new Map<string, Position>()
  private seq = 0

  constructor(
    private readonly market: Market,
    private readonly opts: BrokerOptions,
    private readonly emit: (update: TradeUpdate) => void
  ) {
    this.cash = opts.initialCash
  }

  // ---------------------------------------------------------------- queries

  getOrder(id: string): Order | undefined {
    return this.byId.get(id)
  }

  getOrderByClientId(clientOrderId: string): Order | undefined {
    return this.byClientId.get(clientOrderId)
  }

  listOrders(): ReadonlyArray<Order> {
    return this.orders
  }

  openOrders(): Order[] {
    return [...this.open]
  }

  getPosition(symbol: string): Position | undefined {
    return this.positions.get(symbol)
  }

  listPositions(): Position[] {
    return [...this.positions.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0))
  }

  isOpen(order: Order): boolean {
    return OPEN_STATUSES.has(order.status)
  }

  /** Estimated cost, fee included, still reserved by open buy orders. */
  reservedForBuys(): number {
    let sum = 0
    for (const o of this.open) {
      if (o.side === "buy") sum += buyCost(o.qty - o.filledQty, o.reservePrice, this.opts.fees)
    }
    return sum
  }

  heldForSells(symbol: string): number {
    let sum = 0
    for (const o of this.open) {
      if (o.symbol === symbol && o.side === "sell") sum += o.qty - o.filledQty
    }
    return sum
  }

  buyingPower(): number {
    return Math.max(0, this.cash - this.reservedForBuys())
  }

  /** Mark price: latest published close, else the average entry price. */
  markPrice(symbol: string, t: number): number {
    return this.market.lastCloseAt(symbol, t) ?? this.positions.get(symbol)?.avgEntryPrice ?? 0
  }

  longMarketValue(t: number): number {
    let sum = 0
    for (const p of this.positions.values()) sum += p.qty * this.markPrice(p.symbol, t)
    return sum
  }

  equity(t: number): number {
    return this.cash + this.longMarketValue(t)
  }

  // ---------------------------------------------------------------- commands

  /** Validates and accepts a `POST /v2/orders` body at market time `now`. */
  submit(body: unknown, now: number): ApiResult<Order> {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return fail(400, 40010000, "request body format is invalid")
    }
    const b = body as Record<string, unknown>
    const symbol = typeof b.symbol === "string" ? b.symbol.trim() : ""
    if (symbol === "") return fail(422, 40010001, "symbol is required")
    const series = this.market.series.get(symbol)
    if (series === undefined) return fail(422, 40010001, `asset "${symbol}" not found`)

    const side = b.side
    if (side !== "buy" && side !== "sell") return fail(422, 40010001, "side must be buy or sell")
    const type = b.type ?? b.order_type
    if (typeof type !== "string" || type === "") return fail(422, 40010001, "type is required")
    if (type !== "market" && type !== "limit") {
      if (["stop", "stop_limit", "trailing_stop"].includes(type)) {
        return fail(422, 40010001, `order type ${type} is not supported by the emulator`)
      }
      return fail(422, 40010001, "invalid order type")
    }
    const tif = b.time_in_force
    if (typeof tif !== "string" || tif === "") return fail(422, 40010001, "time_in_force is required")
    if (tif !== "day" && tif !== "gtc" && tif !== "ioc" && tif !== "fok") {
      if (tif === "opg" || tif === "cls") return fail(422, 40010001, `time_in_force ${tif} is not supported by the emulator`)
      return fail(422, 40010001, "invalid time_in_force")
    }
    const orderClass = b.order_class
    if (orderClass !== undefined && orderClass !== null && orderClass !== "" && orderClass !== "simple") {
      return fail(422, 40010001, `order_class ${String(orderClass)} is not supported by the emulator`)
    }
    if (b.extended_hours === true) return fail(422, 40010001, "extended hours orders are not supported by the emulator")
    if (b.notional !== undefined && b.notional !== null) {
      return fail(422, 40010001, "notional orders are not supported by the emulator")
    }
    if (b.qty === undefined || b.qty === null) return fail(422, 40010001, "qty is required")
    const qty = parseNumeric(b.qty)
    if (qty === undefined) return fail(422, 40010001, "invalid qty")
    if (!(qty > 0)) return fail(422, 40010001, "qty must be > 0")
    if (!Number.isInteger(qty)) return fail(422, 40010001, "fractional orders are not supported by the emulator")

    let limitPrice: number | null = null
    if (type === "limit") {
      if (b.limit_price === undefined || b.limit_price === null) return fail(422, 40010001, "limit_price is required")
      const lp = parseNumeric(b.limit_price)
      if (lp === undefined || !(lp > 0)) return fail(422, 40010001, "invalid limit_price")
      limitPrice = lp
    }

    let clientOrderId: string
    if (b.client_order_id === undefined || b.client_order_id === null || b.client_order_id === "") {
      clientOrderId = randomUUID()
    } else if (typeof b.client_order_id !== "string") {
      return fail(422, 40010001, "invalid client_order_id")
    } else {
      clientOrderId = b.client_order_id
      if (clientOrderId.length > 48) return fail(422, 40010001, "client_order_id must be no more than 48 characters")
      if (this.byClientId.has(clientOrderId)) return fail(422, 40010001, "client_order_id must be unique")
    }

    // market orders take the bar in progress (the shared fill model); limit orders the bars starting at or after T
    const cursor = type === "market" ? findFillBar(series.times, this.market.barMs, now) : this.market.firstBarAtOrAfter(symbol, now)
    const nextBar = series.bars[cursor]
    const lastClose = this.market.lastCloseAt(symbol, now)
    const refPrice = lastClose ?? nextBar?.open ?? series.bars[series.bars.length - 1]?.close ?? 0
    const reservePrice = side === "buy" ? (limitPrice ?? slippedPrice("buy", refPrice, this.opts.slippageBps)) : 0

    if (side === "buy") {
      const cost = buyCost(qty, reservePrice, this.opts.fees)
      const bp = this.buyingPower()
      if (cost > bp + 1e-9) {
        return fail(403, 40310000, "insufficient buying power", { buying_power: decimal(bp), cost_basis: decimal(cost) })
      }
    } else {
      const existing = this.positions.get(symbol)?.qty ?? 0
      const held = this.heldForSells(symbol)
      const available = existing - held
      if (qty > available + 1e-9) {
        return fail(
          403,
          40310000,
          `insufficient qty available for order (requested: ${decimal(qty)}, available: ${decimal(Math.max(0, available))})`,
          {
            symbol,
            requested: decimal(qty),
            available: decimal(Math.max(0, available)),
            existing_qty: decimal(existing),
            held_for_orders: decimal(held)
          }
        )
      }
    }

    let expiresAt: number | null = null
    if (tif === "day") {
      if (type === "limit") {
        const session = this.market.sessionAt(now) ?? this.market.nextSessionAfter(now)
        expiresAt = session?.close ?? null
      } else if (nextBar !== undefined) {
        expiresAt = this.market.sessionOn(nyDate(nextBar.time))?.close ?? null
      }
    }

    const order: Order = {
      seq: this.seq++,
      id: randomUUID(),
      clientOrderId,
      symbol,
      assetId: series.assetId,
      side,
      type,
      tif,
      qty,
      limitPrice,
      reservePrice,
      createdAt: now,
      expiresAt,
      status: "new",
      filledQty: 0,
      filledAvgPrice: null,
      updatedAt: now,
      filledAt: null,
      canceledAt: null,
      expiredAt: null,
      failedAt: null,
      cursor,
      phase: "start",
      barsTried: 0
    }
    this.orders.push(order)
    this.open.add(order)
    this.byId.set(order.id, order)
    this.byClientId.set(clientOrderId, order)
    this.emit({ event: "new", order, at: now })
    return { ok: true, value: order }
  }

  /** `DELETE /v2/orders/{id}` semantics. */
  cancel(id: string, now: number): ApiResult<Order> {
    const order = this.byId.get(id)
    if (order === undefined) return fail(404, 40410000, "order not found")
    if (!OPEN_STATUSES.has(order.status)) {
      return fail(422, 42210000, `order is already in "${order.status}" state`)
    }
    this.finish(order, "canceled", now)
    return { ok: true, value: order }
  }

  // ------------------------------------------------------------- fill engine

  /** Earliest market time at which some open order needs attention. */
  nextEventTime(): number | undefined {
    let best: number | undefined
    for (const o of this.open) {
      const t = this.opportunityTime(o)
      if (t !== undefined && (best === undefined || t < best)) best = t
      if (o.expiresAt !== null && (best === undefined || o.expiresAt < best)) best = o.expiresAt
    }
    return best
  }

  /** A bar in progress when the order arrived is tried at once (at submission), later ones at their start. */
  private opportunityTime(o: Order): number | undefined {
    const bar = this.market.series.get(o.symbol)?.bars[o.cursor]
    if (bar === undefined) return undefined
    return o.phase === "start" ? fillTime(bar.time, o.createdAt) : bar.time + this.market.barMs
  }

  /** Runs every order step due at or before `t` (in time, then submission, order), then expiries. */
  processOrders(t: number): void {
    for (;;) {
      let due: Order | undefined
      let dueAt = Number.POSITIVE_INFINITY
      for (const o of this.open) {
        const at = this.opportunityTime(o)
        if (at === undefined || at > t) continue
        if (o.expiresAt !== null && o.expiresAt < at) continue
        if (at < dueAt) {
          due = o
          dueAt = at
        }
      }
      if (due === undefined) break
      this.step(due, dueAt)
    }
    for (const o of [...this.open]) {
      if (o.expiresAt !== null && o.expiresAt <= t) this.finish(o, "expired", o.expiresAt)
    }
  }

  private step(o: Order, at: number): void {
    const bar = this.market.series.get(o.symbol)!.bars[o.cursor]
    const oneBarOnly = o.tif === "ioc" || o.tif === "fok"
    const advance = (): void => {
      o.cursor += 1
      o.phase = "start"
      o.barsTried += 1
      if (oneBarOnly) this.finish(o, "canceled", at)
    }
    if (o.type === "market") {
      if (!this.tryFill(o, slippedPrice(o.side, bar.open, this.opts.slippageBps), at)) advance()
      return
    }
    const limit = o.limitPrice!
    if (o.phase === "start") {
      const marketable = o.side === "buy" ? bar.open <= limit : bar.open >= limit
      if (marketable) {
        if (!this.tryFill(o, bar.open, at)) advance()
      } else {
        o.phase = "end"
      }
      return
    }
    const crossed = o.side === "buy" ? bar.low <= limit : bar.high >= limit
    if (crossed && this.tryFill(o, limit, at)) return
    advance()
  }

  /** Returns true if the order is done with the current bar (filled, partially filled or rejected). */
  private tryFill(o: Order, price: number, at: number): boolean {
    const remaining = o.qty - o.filledQty
    const proposal = this.opts.fillHook({
      orderId: o.id,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      timeInForce: o.tif,
      orderQty: o.qty,
      filledQty: o.filledQty,
      qty: remaining,
      price,
      at
    })
    if (proposal === null) return false
    const qty = Math.min(remaining, Math.max(0, proposal.qty))
    if (qty <= 0) return false
    if (o.tif === "fok" && qty < remaining - 1e-9) return false
    const fillPrice = proposal.price
    if (o.side === "buy" && buyCost(qty, fillPrice, this.opts.fees) > this.cash + 1e-9) {
      o.failedAt = at
      this.finish(o, "rejected", at)
      return true
    }
    if (o.side === "sell") {
      const held = this.positions.get(o.symbol)?.qty ?? 0
      if (qty > held + 1e-9) {
        o.failedAt = at
        this.finish(o, "rejected", at)
        return true
      }
    }
    const positionQty = this.applyFill(o.symbol, o.side, qty, fillPrice, at)
    const prevValue = (o.filledAvgPrice ?? 0) * o.filledQty
    o.filledQty += qty
    o.filledAvgPrice = (prevValue + qty * fillPrice) / o.filledQty
    o.updatedAt = at
    const complete = o.filledQty >= o.qty - 1e-9
    if (complete) {
      o.status = "filled"
      o.filledAt = at
      this.open.delete(o)
    } else {
      o.status = "partially_filled"
      o.cursor += 1
      o.phase = "start"
      o.barsTried += 1
    }
    this.emit({
      event: complete ? "fill" : "partial_fill",
      order: o,
      at,
      price: fillPrice,
      qty,
      positionQty,
      executionId: randomUUID()
    })
    if (!complete && (o.tif === "ioc" || o.tif === "fok")) this.finish(o, "canceled", at)
    return true
  }

  private applyFill(symbol: string, side: Side, qty: number, price: number, at: number): number {
    const session = this.market.latestStartedSession(at)
    const sessionIndex = session?.index ?? -1
    let p = this.positions.get(symbol)
    if (p !== undefined && p.intradaySession !== sessionIndex) {
      const lastday = session === undefined ? undefined : this.market.lastCloseAt(symbol, session.open)
      p.intradayCost = p.qty * (lastday ?? p.avgEntryPrice)
      p.intradaySession = sessionIndex
    }
    if (side === "buy") {
      this.cash += settleFill("buy", qty, price, this.opts.fees).cashDelta
      if (p === undefined) {
        p = {
          symbol,
          assetId: this.market.series.get(symbol)!.assetId,
          qty: 0,
          avgEntryPrice: 0,
          intradaySession: sessionIndex,
          intradayCost: 0
        }
        this.positions.set(symbol, p)
      }
      p.avgEntryPrice = (p.avgEntryPrice * p.qty + price * qty) / (p.qty + qty)
      p.qty += qty
      p.intradayCost += qty * price
    } else if (p !== undefined) {
      this.cash += settleFill("sell", qty, price, this.opts.fees).cashDelta
      const fraction = qty / p.qty
      p.intradayCost -= p.intradayCost * fraction
      p.qty -= qty
      if (p.qty <= 1e-9) {
        this.positions.delete(symbol)
        return 0
      }
    }
    return p?.qty ?? 0
  }

  private finish(o: Order, status: "canceled" | "expired" | "rejected", at: number): void {
    this.open.delete(o)
    o.status = status
    o.updatedAt = at
    if (status === "canceled") o.canceledAt = at
    if (status === "expired") o.expiredAt = at
    this.emit({ event: status, order: o, at })
  }

  // -------------------------------------------------------------------- JSON

  orderJson(o: Order): Record<string, unknown> {
    const ts = (t: number | null): string | null => (t === null ? null : formatUtc(t))
    return {
      id: o.id,
      client_order_id: o.clientOrderId,
      created_at: formatUtc(o.createdAt),
      updated_at: formatUtc(o.updatedAt),
      submitted_at: formatUtc(o.createdAt),
      filled_at: ts(o.filledAt),
      expired_at: ts(o.expiredAt),
      canceled_at: ts(o.canceledAt),
      failed_at: ts(o.failedAt),
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: o.assetId,
      symbol: o.symbol,
      asset_class: "us_equity",
      notional: null,
      qty: decimal(o.qty),
      filled_qty: decimal(o.filledQty),
      filled_avg_price: decimalOrNull(o.filledAvgPrice),
      order_class: "",
      order_type: o.type,
      type: o.type,
      side: o.side,
      position_intent: o.side === "buy" ? "buy_to_open" : "sell_to_close",
      time_in_force: o.tif,
      limit_price: decimalOrNull(o.limitPrice),
      stop_price: null,
      status: o.status,
      extended_hours: false,
      legs: null,
      trail_percent: null,
      trail_price: null,
      hwm: null,
      subtag: null,
      source: null,
      expires_at: ts(o.expiresAt)
    }
  }

  positionJson(p: Position, t: number): Record<string, unknown> {
    const current = this.markPrice(p.symbol, t)
    const today = this.market.latestStartedSession(t)
    const lastday = (today === undefined ? undefined : this.market.lastCloseAt(p.symbol, today.open)) ?? current
    const costBasis = p.qty * p.avgEntryPrice
    const marketValue = p.qty * current
    const intradayCost =
      today !== undefined && p.intradaySession === today.index ? p.intradayCost : p.qty * lastday
    const heldForSells = this.heldForSells(p.symbol)
    return {
      asset_id: p.assetId,
      symbol: p.symbol,
      exchange: "NASDAQ",
      asset_class: "us_equity",
      asset_marginable: true,
      avg_entry_price: decimal(p.avgEntryPrice),
      qty: decimal(p.qty),
      qty_available: decimal(Math.max(0, p.qty - heldForSells)),
      side: "long",
      market_value: decimal(marketValue),
      cost_basis: decimal(costBasis),
      unrealized_pl: decimal(marketValue - costBasis),
      unrealized_plpc: decimal(costBasis === 0 ? 0 : (marketValue - costBasis) / costBasis),
      unrealized_intraday_pl: decimal(marketValue - intradayCost),
      unrealized_intraday_plpc: decimal(intradayCost === 0 ? 0 : (marketValue - intradayCost) / intradayCost),
      current_price: decimal(current),
      lastday_price: decimal(lastday),
      change_today: decimal(lastday === 0 ? 0 : (current - lastday) / lastday)
    }
  }

  accountJson(t: number, lastEquity: number, balanceAsOf: string): Record<string, unknown> {
    const longValue = this.longMarketValue(t)
    const equity = this.cash + longValue
    const bp = decimal(this.buyingPower())
    return {
      id: this.opts.accountId,
      admin_configurations: {},
      user_configurations: null,
      account_number: this.opts.accountNumber,
      status: "ACTIVE",
      crypto_status: "INACTIVE",
      options_approved_level: 0,
      options_trading_level: 0,
      currency: "USD",
      buying_power: bp,
      regt_buying_power: bp,
      daytrading_buying_power: "0",
      effective_buying_power: bp,
      non_marginable_buying_power: bp,
      options_buying_power: bp,
      bod_dtbp: "0",
      cash: decimal(this.cash),
      accrued_fees: "0",
      pending_transfer_in: "0",
      pending_transfer_out: "0",
      portfolio_value: decimal(equity),
      pattern_day_trader: false,
      trading_blocked: false,
      transfers_blocked: false,
      account_blocked: false,
      created_at: formatUtc(this.opts.createdAt),
      trade_suspended_by_user: false,
      multiplier: "1",
      shorting_enabled: false,
      equity: decimal(equity),
      last_equity: decimal(lastEquity),
      long_market_value: decimal(longValue),
      short_market_value: "0",
      position_market_value: decimal(longValue),
      initial_margin: decimal(longValue),
      maintenance_margin: "0",
      last_maintenance_margin: "0",
      sma: "0",
      daytrade_count: 0,
      balance_asof: balanceAsOf,
      crypto_tier: 0,
      intraday_adjustments: "0",
      pending_reg_taf_fees: "0"
    }
  }
}
