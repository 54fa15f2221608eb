import type { PlannedOrder } from "./actions.js"

export interface RiskLimits {
  /** Largest value of one ticker's position after a buy. */
  readonly maxPositionValue?: number | undefined
  /** Largest value of one order. */
  readonly maxOrderValue?: number | undefined
  /** Largest sum of |position values| after the step's buys. */
  readonly maxGrossExposure?: number | undefined
  /** Most orders in one step; sells are kept before buys. */
  readonly maxOrdersPerStep?: number | undefined
}

export interface RiskContext {
  readonly prices: ReadonlyArray<number>
  readonly holdings: ReadonlyArray<number>
}

export interface RiskAdjustment {
  readonly index: number
  readonly side: "buy" | "sell"
  readonly requested: number
  readonly allowed: number
  readonly rule: "max_position_value" | "max_order_value" | "max_gross_exposure" | "max_orders_per_step"
}

/**
 * Clips planned orders to the limits. Sells are only ever limited by order value and order count
 * (a limit must never keep a position open); buys are cut to whole shares that fit every limit.
 */
export const applyRiskLimits = (
  orders: ReadonlyArray<PlannedOrder>,
  ctx: RiskContext,
  limits: RiskLimits
): { readonly orders: ReadonlyArray<PlannedOrder>; readonly adjustments: ReadonlyArray<RiskAdjustment> } => {
  const adjustments: Array<RiskAdjustment> = []
  const holdings = Array.from(ctx.holdings)
  const kept: Array<PlannedOrder> = []
  const cap = (o: PlannedOrder, allowed: number, rule: RiskAdjustment["rule"]): number => {
    const a = Math.max(0, Math.floor(allowed))
    if (a < o.qty) adjustments.push({ index: o.index, side: o.side, requested: o.qty, allowed: a, rule })
    return Math.min(a, o.qty)
  }
  const gross = () => holdings.reduce((s, h, i) => s + Math.abs(h) * ctx.prices[i], 0)
  for (const order of orders) {
    const price = ctx.prices[order.index]
    let qty = order.qty
    if (limits.maxOrderValue !== undefined) qty = cap({ ...order, qty }, limits.maxOrderValue / price, "max_order_value")
    if (order.side === "buy") {
      if (limits.maxPositionValue !== undefined) {
        qty = cap({ ...order, qty }, limits.maxPositionValue / price - holdings[order.index], "max_position_value")
      }
      if (limits.maxGrossExposure !== undefined) {
        qty = cap({ ...order, qty }, (limits.maxGrossExposure - gross()) / price, "max_gross_exposure")
      }
    }
    if (qty <= 0) continue
    if (limits.maxOrdersPerStep !== undefined && kept.length >= limits.maxOrdersPerStep) {
      adjustments.push({ index: order.index, side: order.side, requested: qty, allowed: 0, rule: "max_orders_per_step" })
      continue
    }
    holdings[order.index] += order.side === "buy" ? qty : -qty
    kept.push({ ...order, qty })
  }
  return { orders: kept, adjustments }
}
