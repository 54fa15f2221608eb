import { costFor, type CostPct } from "./fill-model.js"
import { pyFloorDiv } from "./pyfloat.js"
import type { Side } from "../domain/Trading.js"

/** The domain's order side (src/domain/Trading.ts). */
export type { Side }

/** An order the agent wants, by ticker index in the model's order. */
export interface PlannedOrder {
  readonly index: number
  readonly side: Side
  readonly qty: number
}

export interface TradeRules {
  readonly hmax: number
  /** FinRL's costs: one for all tickers, or per ticker by symbol (its per-stock lists). */
  readonly buyCostPct: CostPct
  readonly sellCostPct: CostPct
  readonly turbulenceThreshold?: number | undefined
}

export interface BookState {
  readonly cash: number
  /** Decision prices (the bar's close), tickers in the model's order. */
  readonly prices: ReadonlyArray<number>
  readonly holdings: ReadonlyArray<number>
  /** The tickers, in the same order: whose costs apply when the rules' costs are per ticker. */
  readonly tickers?: ReadonlyArray<string> | undefined
}

export interface ActionPlan {
  /** Sells first (most negative action first), then buys (largest first); never a zero-share order. */
  readonly orders: ReadonlyArray<PlannedOrder>
  /** The book after the orders, as FinRL's env books them at the decision prices. */
  readonly cash: number
  readonly holdings: ReadonlyArray<number>
  /** Integer share counts after scaling, before the book limited them (FinRL's `actions * hmax` cast to int). */
  readonly shares: ReadonlyArray<number>
}

/**
 * FinRL StockTradingEnv's `step`, as orders: clip to [−1, 1], shares = trunc(float32(action · hmax));
 * with turbulence ≥ threshold sell whole positions and buy nothing; sells first, then buys sized by
 * `cash // (price · (1 + buy_cost_pct))` with Python float semantics, booking cash after each.
 * Differences, on purpose: FinRL also refuses a ticker whose first indicator equals exactly 1.0
 * (an artefact of its state indexing) and would sell at a zero or negative price; neither is
 * copied. Ties between equal share counts go by ticker index (numpy's argsort order for equal
 * values can vary with its version and CPU).
 */
export const actionsToOrders = (
  action: ArrayLike<number>,
  book: BookState,
  rules: TradeRules,
  turbulence = 0
): ActionPlan => {
  const n = book.prices.length
  if (action.length !== n) throw new RangeError(`action has ${action.length} values for ${n} tickers`)
  const turbulent = rules.turbulenceThreshold !== undefined && turbulence >= rules.turbulenceThreshold
  const shares = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const a = Number.isNaN(action[i]) ? 0 : Math.min(1, Math.max(-1, Math.fround(action[i])))
    shares[i] = turbulent ? -rules.hmax : Math.trunc(Math.fround(a * rules.hmax))
  }
  let cash = book.cash
  const holdings = Array.from(book.holdings)
  const orders: Array<PlannedOrder> = []

  // numpy's argsort (stable for small arrays): ascending value, ties by index; buys walk it backwards.
  const ranked = Array.from({ length: n }, (_, i) => i).sort((x, y) => shares[x] - shares[y] || x - y)
  for (const i of ranked) {
    if (shares[i] >= 0) break
    const price = book.prices[i]
    if (!(price > 0) || holdings[i] <= 0) continue
    const qty = turbulent ? holdings[i] : Math.min(-shares[i], holdings[i])
    cash += price * qty * (1 - costFor(rules.sellCostPct, book.tickers?.[i]))
    holdings[i] -= qty
    orders.push({ index: i, side: "sell", qty })
  }
  if (!turbulent) {
    for (let r = n - 1; r >= 0; r--) {
      const i = ranked[r]
      if (shares[i] <= 0) break
      const price = book.prices[i]
      if (!(price > 0)) continue
      const buyCostPct = costFor(rules.buyCostPct, book.tickers?.[i])
      const available = pyFloorDiv(cash, price * (1 + buyCostPct))
      const qty = Math.min(available, shares[i])
      if (qty <= 0) continue
      cash -= price * qty * (1 + buyCostPct)
      holdings[i] += qty
      orders.push({ index: i, side: "buy", qty })
    }
  }
  return { orders, cash, holdings, shares }
}
