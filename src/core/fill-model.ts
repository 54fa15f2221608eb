/**
 * The one fill model of the simulated broker (core/sim-book.ts) and the local Alpaca emulator
 * (emulator/broker.ts), so the same order on the same bars fills at the same price, at the same
 * time, and books the same cash in both.
 *
 * A market order arriving at market time T fills at the OPEN of the first bar of its symbol whose
 * END is after T — the bar in progress at T, or the next one when T is at or after a bar's end (an
 * order sent exactly at a bar's close E takes the bar starting at E; one sent while the market is
 * closed, the next session's first bar) — at time max(T, bar start), with slippage against the order.
 * Cash moves by price·qty·(1 + buyPct) on a buy and price·qty·(1 − sellPct) on a sell.
 *
 * Bars may be of any length (the emulator has minute bars, the simulator interval bars aggregated
 * from them); an aggregated bar's open is its first minute's open, so an order at E gets the same
 * price from both.
 */

export type Side = "buy" | "sell"

/**
 * A trading cost as a fraction of notional: one for every ticker, or one per ticker by symbol
 * (FinRL's per-stock `buy_cost_pct` / `sell_cost_pct` lists when their values differ).
 */
export type CostPct = number | Readonly<Record<string, number>>

/**
 * The cost of `ticker`. A ticker a per-ticker cost does not list (a position outside the model)
 * pays the highest listed: an unknown cost is never assumed to be smaller.
 */
export const costFor = (cost: CostPct, ticker?: string): number => {
  if (typeof cost === "number") return cost
  return ticker !== undefined && Object.hasOwn(cost, ticker) ? cost[ticker] : Math.max(0, ...Object.values(cost))
}

/** Trading costs as fractions of a fill's notional (FinRL's `buy_cost_pct` / `sell_cost_pct`). */
export interface Fees {
  readonly buyPct: CostPct
  readonly sellPct: CostPct
}

/** Alpaca's: no commission on US equities. */
export const NO_FEES: Fees = { buyPct: 0, sellPct: 0 }

/**
 * Whether a bar starting at `barStart` and lasting `barMs` may fill a market order that arrived at
 * `at`: it must not have ended by then (`barStart + barMs > at`).
 */
export const barCanFill = (barStart: number, barMs: number, at: number): boolean => barStart + barMs > at

// Alpaca fills a market order at the current quote on arrival; with bars, the best estimate of the price at T is the open of the minute in progress (our orders arrive within seconds of a bar's close), never a price from a bar that has not started.
/**
 * Index of the bar a market order arriving at `at` fills in: the first of `starts` (bar start
 * times, ascending, epoch ms) whose end `start + barMs` is after `at`; `starts.length` when every
 * bar has ended by then.
 */
export const findFillBar = (starts: ArrayLike<number>, barMs: number, at: number): number => {
  let lo = 0
  let hi = starts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (barCanFill(starts[mid], barMs, at)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** When an order arriving at `at` fills in a bar starting at `barStart`: on arrival if the bar is in progress, else at the bar's start. */
export const fillTime = (barStart: number, at: number): number => Math.max(barStart, at)

/** `price` moved `slippageBps` against the order: buys pay more, sells receive less. */
export const slippedPrice = (side: Side, price: number, slippageBps: number): number => {
  const slip = slippageBps / 10_000
  return side === "buy" ? price * (1 + slip) : price * (1 - slip)
}

/** Cash a buy of `qty` of `ticker` at `price` takes, fee included: price·qty·(1 + buyPct). */
export const buyCost = (qty: number, price: number, fees: Fees, ticker?: string): number => price * qty * (1 + costFor(fees.buyPct, ticker))

/** What a fill of `qty` at `price` does to cash: the fee on its notional and the signed cash change. */
export interface Settlement {
  readonly fee: number
  readonly cashDelta: number
}

/** Books a fill of `ticker`: cash −= price·qty·(1 + buyPct) on a buy, += price·qty·(1 − sellPct) on a sell. */
export const settleFill = (side: Side, qty: number, price: number, fees: Fees, ticker?: string): Settlement => {
  if (side === "buy") return { fee: price * qty * costFor(fees.buyPct, ticker), cashDelta: -buyCost(qty, price, fees, ticker) }
  const sellPct = costFor(fees.sellPct, ticker)
  return { fee: price * qty * sellPct, cashDelta: price * qty * (1 - sellPct) }
}

export interface MarketFillInput {
  readonly side: Side
  readonly qty: number
  /** The open of the bar {@link findFillBar} chose (in the simulator's `close` mode, the decision bar's close). */
  readonly open: number
  readonly slippageBps: number
  readonly fees: Fees
  /** Whose costs apply, when they are per ticker. */
  readonly ticker?: string | undefined
}

export interface MarketFill extends Settlement {
  readonly price: number
}

/** A market order's fill at a bar's open: the price after slippage, its fee and the cash change. */
export const marketFill = (input: MarketFillInput): MarketFill => {
  const price = slippedPrice(input.side, input.open, input.slippageBps)
  return { price, ...settleFill(input.side, input.qty, price, input.fees, input.ticker) }
}
