import { actionsToOrders, type Side, type TradeRules } from "./actions.js"
import { buildObservation } from "./layouts.js"
import type { LedgerSnapshot } from "./ledger.js"
import { formatUtc } from "./nytime.js"
import { applyRiskLimits, type RiskLimits } from "./risk.js"
import type { GuardMode } from "./risk-guard.js"
import type { LayoutName } from "../domain/Model.js"

/**
 * The decision kernel: ledger snapshot + features → observation → (policy) → action → orders.
 * Pure; the backtest and live trading call exactly these two functions around the policy.
 */
export interface KernelConfig {
  readonly deploymentId: string
  readonly tickers: ReadonlyArray<string>
  readonly layout: LayoutName
  readonly rules: TradeRules
  readonly risk: RiskLimits
  /** The turbulence threshold the observation shows (FinRL's numpy env sees 99 when none is set). */
  readonly observedThreshold: number | undefined
}

/** What one step knows besides the ledger: every ticker's latest features, in the model's order. */
export interface StepInput {
  readonly barTime: number
  readonly ledger: LedgerSnapshot
  /** Decision prices (each ticker's latest close). */
  readonly closes: ReadonlyArray<number>
  readonly indicators: ReadonlyArray<ReadonlyArray<number>>
  /** Whether each ticker has its bar for this step (a ticker without one holds). */
  readonly present: ReadonlyArray<boolean>
  readonly turbulence: number
  /** Steps since each ticker last traded (FinRL's numpy env `stocks_cd`). */
  readonly cooldown: ReadonlyArray<number>
  readonly guardMode: GuardMode
  /** In the closing window: no new positions. */
  readonly noNewPositions: boolean
}

export interface OrderIntent {
  readonly ticker: string
  readonly side: Side
  readonly qty: number
  readonly clientOrderId: string
}

export interface RuleCut {
  readonly ticker: string
  readonly side: Side
  readonly requested: number
  readonly allowed: number
  readonly rule: string
}

export interface StepPlan {
  readonly orders: ReadonlyArray<OrderIntent>
  /** What a risk limit or rule cut, from how many shares to how many. */
  readonly cuts: ReadonlyArray<RuleCut>
}

/** `<deployment>-<TICKER>-<yyyymmddThhmmZ>-<leg>`: the same decision always gets the same id. */
export const clientOrderId = (deploymentId: string, ticker: string, barTime: number, leg: string): string =>
  `${deploymentId}-${ticker}-${formatUtc(barTime).replace(/[-:]/g, "").slice(0, 13)}Z-${leg}`

/**
 * The observation the agent sees. What open orders hold is treated as gone, as FinRL's env books an
 * order at once: the cash is what open buys have not committed, the holdings what open sells are not
 * already selling.
 */
export const observe = (config: KernelConfig, input: StepInput): Float64Array =>
  buildObservation(config.layout, {
    cash: input.ledger.availableCash,
    closes: input.closes,
    holdings: input.ledger.sellable,
    indicators: input.indicators,
    turbulence: input.turbulence,
    turbulenceThreshold: config.observedThreshold,
    cooldown: input.cooldown
  })

/**
 * What is not finite in an action — `NaN at [0]; +Inf at [2]` — or undefined when every value is.
 * The session refuses such an action before the kernel sees it.
 */
export const nonFiniteProblem = (action: ArrayLike<number>): string | undefined => {
  const byKind = new Map<string, Array<number>>()
  for (let i = 0; i < action.length; i++) {
    const a = action[i]
    if (Number.isFinite(a)) continue
    const kind = Number.isNaN(a) ? "NaN" : a > 0 ? "+Inf" : "-Inf"
    byKind.set(kind, [...(byKind.get(kind) ?? []), i])
  }
  return byKind.size === 0 ? undefined : [...byKind].map(([kind, at]) => `${kind} at [${at.join(", ")}]`).join("; ")
}

/**
 * The action as orders: FinRL's semantics (actionsToOrders) on the cash not committed and the
 * holdings not already being sold, then the risk limits, then the guard's and the market-hours
 * rules; a ticker without a bar this step sends nothing. A non-finite action is a defect (RangeError):
 * the caller refuses it first (see {@link nonFiniteProblem}).
 */
export const planStep = (config: KernelConfig, input: StepInput, action: ArrayLike<number>): StepPlan => {
  const { tickers } = config
  // FinRL's clip would make +Inf a full-size buy and NaN a hold: a caller that gets here skipped its check
  const problem = nonFiniteProblem(action)
  if (problem !== undefined) throw new RangeError(`planStep: the action is not finite (${problem})`)
  const plan = actionsToOrders(action, { cash: input.ledger.availableCash, prices: input.closes, holdings: input.ledger.sellable, tickers }, config.rules, input.turbulence)
  const risked = applyRiskLimits(plan.orders, { prices: input.closes, holdings: input.ledger.holdings }, config.risk)
  const cuts: Array<RuleCut> = risked.adjustments.map((a) => ({ ticker: tickers[a.index], side: a.side, requested: a.requested, allowed: a.allowed, rule: a.rule }))
  const blocked = (side: Side): string | undefined =>
    input.guardMode === "halted"
      ? "circuit_breaker_open"
      : side === "buy" && input.guardMode === "no_new_positions"
        ? "daily_loss_limit"
        : side === "buy" && input.noNewPositions
          ? "no_new_positions_before_close"
          : undefined
  const orders: Array<OrderIntent> = []
  for (const o of risked.orders) {
    const rule = blocked(o.side)
    if (rule !== undefined) {
      cuts.push({ ticker: tickers[o.index], side: o.side, requested: o.qty, allowed: 0, rule })
      continue
    }
    if (!input.present[o.index]) continue
    orders.push({ ticker: tickers[o.index], side: o.side, qty: o.qty, clientOrderId: clientOrderId(config.deploymentId, tickers[o.index], input.barTime, o.side === "buy" ? "b" : "s") })
  }
  return { orders, cuts }
}

/** Sells every position not already being sold: the closing rule's orders. */
export const flattenOrders = (config: KernelConfig, ledger: LedgerSnapshot, barTime: number): ReadonlyArray<OrderIntent> =>
  config.tickers.flatMap((ticker, i) =>
    ledger.sellable[i] > 0 ? [{ ticker, side: "sell" as const, qty: ledger.sellable[i], clientOrderId: clientOrderId(config.deploymentId, ticker, barTime, "f") }] : []
  )
