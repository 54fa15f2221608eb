import { type Interval, intervalMillis } from "../domain/Config.js"
import type { JournalRecord, RecordOf } from "../domain/Journal.js"
import { compareJournals } from "./compare.js"
import {
  annualizedVolatility,
  cagr,
  calmarRatio,
  maxDrawdown,
  MINIMUM_SAMPLE,
  type PerformanceReport,
  performanceReport,
  periodReturns,
  periodsPerYear,
  sampleStd,
  sortinoRatio,
  underwater,
  winRate
} from "./metrics.js"
import { nyDate } from "./nytime.js"

/**
 * Everything a run's report shows, built from its journal alone, so a backtest, a rehearsal and a
 * paper session get the same report. Units: fractions (0.1 = 10 %), account currency, shares,
 * basis points where named `_bps`; times are the journal's ISO-8601 UTC strings.
 *
 * The equity curve is the `portfolio` records (one per step: the ledger before the step's decision,
 * marked at its bar's closes; journals before them: the decision's `state`), plus a closing point
 * when fills came after the last step. Per-ticker P&L is by average cost from the first point's
 * holdings (valued at its marks) and every later fill, marked at the last point's prices, so the
 * tickers' P&L adds up to the equity change; what it does not explain (a reconciliation that adopted
 * the broker's cash or position) is reported as `unexplained`.
 */

export interface ReportPeriod {
  readonly first_bar: string | null
  readonly last_bar: string | null
  /** Decisions taken (`decision` and `policy_error` records), as `steps`. */
  readonly steps: number
  readonly interval: string | null
  /** Steps per year used to annualise: 252 sessions of 6.5 hours (see `periodsPerYear`). */
  readonly periods_per_year: number
  /** New York trading days the equity curve spans (distinct dates of its points). */
  readonly trading_days: number
}

export interface PositionSeries {
  readonly ticker: string
  readonly shares: ReadonlyArray<number>
  /** Shares × the point's mark. */
  readonly value: ReadonlyArray<number>
}

export interface ReportSeries {
  /** Each point's bar time. */
  readonly time: ReadonlyArray<string>
  readonly equity: ReadonlyArray<number>
  /** Equal-weight buy & hold of the tickers from the first decision's prices, starting at the first equity; null without prices. */
  readonly buy_and_hold: ReadonlyArray<number | null>
  /** The account's cash. */
  readonly cash: ReadonlyArray<number>
  /** Underwater: equity / running peak − 1 (≤ 0). */
  readonly drawdown: ReadonlyArray<number>
  readonly positions: ReadonlyArray<PositionSeries>
}

export interface PeriodReturn {
  /** `YYYY-MM-DD` (New York date) or `YYYY-MM`. */
  readonly period: string
  /** Last equity of the period / last equity of the period before (the first: the first equity) − 1. */
  readonly return: number
  readonly equity: number
}

export interface TickerFigures {
  readonly ticker: string
  readonly fills: number
  readonly bought: number
  readonly sold: number
  /** Σ qty × price of its fills. */
  readonly traded_notional: number
  /** Shares held at the end. */
  readonly position: number
  readonly last_price: number | null
  /** P&L of the shares sold (or bought back), against their average cost, at fill prices (before fees). */
  readonly realized_pnl: number
  /** P&L of the shares held at the end: (last price − average cost) × shares. */
  readonly unrealized_pnl: number
  readonly fees: number
  /** Σ slippage against the decision's price (currency; positive costs the account). */
  readonly slippage: number
  /** realized + unrealized − fees: what the ticker added to equity. */
  readonly pnl: number
}

export interface Costs {
  readonly fees: number
  readonly slippage: number
  readonly total: number
}

export interface PnlCheck {
  readonly equity_change: number
  /** Σ of the tickers' `pnl`. */
  readonly pnl: number
  /** equity_change − pnl: what fills do not explain (a reconciliation, say); 0 up to rounding otherwise. */
  readonly unexplained: number
}

export interface Trade {
  readonly time: string
  /** The bar whose decision (or flatten) sent the order; null for an order the journal did not send. */
  readonly bar_time: string | null
  readonly ticker: string
  readonly side: "buy" | "sell"
  readonly qty: number
  readonly price: number | null
  readonly fee: number
  /** The close the decision priced the ticker at. */
  readonly decision_price: number | null
  /** (price / decision price − 1) × 10⁴, negated for a sell: positive costs the account. */
  readonly slippage_bps: number | null
  /** (price − decision price) × qty, negated for a sell. */
  readonly slippage: number | null
  readonly client_order_id: string
  readonly partial: boolean
}

export type RiskEventKind =
  | "kill_switch"
  | "circuit_open"
  | "circuit_closed"
  | "outage"
  | "outage_end"
  | "drift"
  | "drift_end"
  | "rejection"
  | "cancel"
  | "expiry"
  | "intent_unsent"
  | "order_error"
  | "policy_error"
  | "reconcile"
  | "unfilled_at_close"
  | "flatten"
  | "bad_bar"
  | "no_history"
  | "actor_failure"
  | "session_error"
  | "journal_repaired"

export const RISK_EVENT_KINDS: ReadonlyArray<RiskEventKind> = [
  "kill_switch",
  "circuit_open",
  "circuit_closed",
  "outage",
  "outage_end",
  "drift",
  "drift_end",
  "rejection",
  "cancel",
  "expiry",
  "intent_unsent",
  "order_error",
  "policy_error",
  "reconcile",
  "unfilled_at_close",
  "flatten",
  "bad_bar",
  "no_history",
  "actor_failure",
  "session_error",
  "journal_repaired"
]

export interface RiskEvent {
  readonly time: string | null
  readonly kind: RiskEventKind
  readonly ticker: string | null
  readonly detail: string
}

export interface HoldSummary {
  readonly reason: string
  /** Ticker-steps held for this reason. */
  readonly count: number
  readonly tickers: ReadonlyArray<string>
  readonly first_bar: string
  readonly last_bar: string
}

export interface RiskCutSummary {
  readonly rule: string
  readonly count: number
  /** Shares the policy asked for, and what the rule let through. */
  readonly requested: number
  readonly allowed: number
  readonly tickers: ReadonlyArray<string>
}

/** The model card's details beyond what `session_start` names (read from the model's folder). */
export interface ModelDetails {
  readonly layout?: string | undefined
  readonly observation_size?: number | undefined
  readonly action_size?: number | undefined
  readonly hmax?: number | undefined
  readonly description?: string | undefined
  readonly normalization?: boolean | undefined
}

export interface ReportModel extends ModelDetails {
  readonly name: string
  readonly version: string
  readonly sha256: string
  /** The observation's features: the indicators, per ticker, after cash, closes and holdings. */
  readonly features: ReadonlyArray<string>
  readonly tickers: ReadonlyArray<string>
}

export type MetricKey =
  | "total_return"
  | "cagr"
  | "annualized_volatility"
  | "sharpe"
  | "sortino"
  | "calmar"
  | "max_drawdown"
  | "win_rate"
  | "round_trip_win_rate"
  | "exposure"
  | "turnover"

export interface Metric {
  readonly key: MetricKey
  readonly label: string
  /** null when it cannot be computed (no variation, no drawdown, no sample). */
  readonly value: number | null
  readonly unit: "fraction" | "ratio"
  readonly meaningful: boolean
  /** Why it is not meaningful (the sample it had against the minimum). */
  readonly why?: string | undefined
  readonly definition: string
  readonly minimum: string
}

const ANNUALISED = `≥ ${MINIMUM_SAMPLE.tradingDays} trading days`
const RETURNS = `≥ ${MINIMUM_SAMPLE.returns} per-step returns`

/** Every metric's label, definition and minimum sample, in the report's order. */
export const METRIC_DEFINITIONS: ReadonlyArray<{ readonly key: MetricKey; readonly label: string; readonly unit: Metric["unit"]; readonly definition: string; readonly minimum: string }> = [
  { key: "total_return", label: "Total return", unit: "fraction", definition: "final equity / initial equity − 1 (initial: the first step's portfolio, at its bar's close)", minimum: "1 step" },
  { key: "cagr", label: "CAGR", unit: "fraction", definition: "compound annual growth: (final / initial)^(1 / years) − 1, years = per-step returns / steps per year", minimum: ANNUALISED },
  { key: "annualized_volatility", label: "Volatility (annualised)", unit: "fraction", definition: "sample standard deviation of per-step returns × √(steps per year)", minimum: `${RETURNS} and ${ANNUALISED}` },
  { key: "sharpe", label: "Sharpe", unit: "ratio", definition: "mean per-step return / its sample standard deviation × √(steps per year); risk-free rate 0", minimum: `${RETURNS} and ${ANNUALISED}` },
  {
    key: "sortino",
    label: "Sortino",
    unit: "ratio",
    definition: "mean per-step return / downside deviation × √(steps per year); downside deviation √(mean of min(r, 0)²) over all returns (target 0)",
    minimum: `${RETURNS}, ≥ ${MINIMUM_SAMPLE.negativeReturns} negative ones, and ${ANNUALISED}`
  },
  { key: "calmar", label: "Calmar", unit: "ratio", definition: "CAGR / maximum drawdown", minimum: `${ANNUALISED} and a drawdown` },
  { key: "max_drawdown", label: "Max drawdown", unit: "fraction", definition: "largest fall of equity from its running peak, as a fraction of that peak", minimum: "1 step" },
  { key: "win_rate", label: "Win rate (steps)", unit: "fraction", definition: "of steps: per-step returns above 0 / per-step returns that are not 0", minimum: `≥ ${MINIMUM_SAMPLE.returns} non-zero per-step returns` },
  {
    key: "round_trip_win_rate",
    label: "Win rate (round trips)",
    unit: "fraction",
    definition: "of round trips: closed round trips (a ticker's position from flat back to flat) whose P&L after fees is above 0 / closed round trips",
    minimum: `≥ ${MINIMUM_SAMPLE.roundTrips} closed round trips`
  },
  { key: "exposure", label: "Exposure", unit: "fraction", definition: "steps that start holding a position in any ticker / steps", minimum: "1 step" },
  { key: "turnover", label: "Turnover", unit: "ratio", definition: "traded notional (Σ fill qty × price) / mean equity, over the whole period (not annualised)", minimum: "1 step" }
]

/** The comparison of two sessions as compare.json holds it (the part a report shows); compare.ts's `SessionComparison` is one. */
export interface ComparisonInput {
  readonly decisions: { readonly common: number }
  /** A percentage, as compare.json writes it. */
  readonly identical_orders_pct: number
  readonly divergences: ReadonlyArray<{ readonly bar_time: string; readonly cause: string; readonly detail: string }>
  readonly unexplained: number
  /** JSON writes a non-finite number as null. */
  readonly equity?: { readonly returns_correlation: number | null; readonly dtw_annualized: number | null; readonly final_diff_pct: number | null } | undefined
}

export interface ReportComparison {
  readonly labels: { readonly primary: string; readonly vs: string }
  /** The second journal's equity curve. */
  readonly vs: { readonly time: ReadonlyArray<string>; readonly equity: ReadonlyArray<number> }
  /** Where the divergences and the scores come from: a compare.json, or computed here from the two journals. */
  readonly source: "compare.json" | "computed"
  readonly common_decisions: number
  /** Common decisions with the same orders / common decisions. */
  readonly identical_orders: number | null
  readonly returns_correlation: number | null
  readonly dtw_annualized: number | null
  /** Final equity of the first against the second's − 1. */
  readonly final_equity_diff: number | null
  readonly divergences: ReadonlyArray<{ readonly bar_time: string; readonly cause: string; readonly detail: string }>
  readonly causes: Readonly<Record<string, number>>
  readonly unexplained: number
}

/** report.json's first fields, as the backtest always wrote them. */
export interface SummaryFigures extends PerformanceReport {
  readonly rejections: number
  /** Equal-weight buy & hold over the same bars, from the first decision's prices to the last step's. */
  readonly buy_and_hold_return: number
}

export interface ReportData {
  readonly deployment: string | null
  /** `session_start.mode`: `backtest` or `trade`. */
  readonly mode: string | null
  readonly tickers: ReadonlyArray<string>
  readonly period: ReportPeriod
  readonly series: ReportSeries
  readonly daily_returns: ReadonlyArray<PeriodReturn>
  readonly monthly_returns: ReadonlyArray<PeriodReturn>
  readonly per_ticker: ReadonlyArray<TickerFigures>
  readonly costs: Costs
  readonly pnl_check: PnlCheck
  readonly trades: ReadonlyArray<Trade>
  readonly round_trips: number
  readonly risk_events: ReadonlyArray<RiskEvent>
  readonly holds: ReadonlyArray<HoldSummary>
  readonly risk_cuts: ReadonlyArray<RiskCutSummary>
  readonly model: ReportModel | null
  readonly metrics: ReadonlyArray<Metric>
  readonly summary: SummaryFigures
  readonly comparison: ReportComparison | null
  /** What the reader should know about the data (no portfolio records, unreadable lines, …). */
  readonly notes: ReadonlyArray<string>
}

export interface ReportInput {
  readonly records: ReadonlyArray<JournalRecord>
  /** A second journal to overlay (a backtest of the same bars). */
  readonly vs?: ReadonlyArray<JournalRecord> | undefined
  /** compare.json of the two; computed from them when absent. */
  readonly comparison?: ComparisonInput | undefined
  readonly model?: ModelDetails | undefined
  readonly notes?: ReadonlyArray<string> | undefined
}

const EPS = 1e-9

interface Point {
  readonly time: string
  readonly ms: number
  readonly equity: number
  readonly cash: number
  readonly positions: Readonly<Record<string, number>>
  readonly prices: Readonly<Record<string, number>>
}

/** The equity curve's points and the journal index each was read at (fills after it are not in it). */
const equityPoints = (records: ReadonlyArray<JournalRecord>, tickers: ReadonlyArray<string>): { readonly points: Array<Point>; readonly at: Array<number>; readonly source: "portfolio" | "decision" | "none" } => {
  const byBar = new Map<string, { point: Point; at: number }>()
  const hasPortfolio = records.some((r) => r.type === "portfolio")
  records.forEach((r, at) => {
    if (hasPortfolio && r.type === "portfolio") {
      byBar.set(r.bar_time, { point: { time: r.bar_time, ms: Date.parse(r.bar_time), equity: r.equity, cash: r.cash, positions: r.positions, prices: r.prices }, at })
    } else if (!hasPortfolio && r.type === "decision" && r.state !== undefined) {
      const state = r.state
      const positions: Record<string, number> = {}
      const prices: Record<string, number> = {}
      tickers.forEach((t, i) => {
        if ((state.holdings[i] ?? 0) !== 0) positions[t] = state.holdings[i]
        if (Number.isFinite(state.prices[i])) prices[t] = state.prices[i]
      })
      const equity = state.cash + tickers.reduce((s, t) => s + (positions[t] ?? 0) * (prices[t] ?? 0), 0)
      byBar.set(r.bar_time, { point: { time: r.bar_time, ms: Date.parse(r.bar_time), equity, cash: state.cash, positions, prices }, at })
    }
  })
  const entries = [...byBar.values()].sort((a, b) => a.point.ms - b.point.ms)
  const points = entries.map((e) => e.point)
  const at = entries.map((e) => e.at)
  if (points.length === 0) return { points, at, source: "none" }
  // fills after the last step: the account at the end, marked at the last prices
  const last = points[points.length - 1]
  const lastAt = at[at.length - 1]
  let cash = last.cash
  const positions: Record<string, number> = { ...last.positions }
  const prices: Record<string, number> = { ...last.prices }
  let end: string | undefined
  for (let i = lastAt + 1; i < records.length; i++) {
    const r = records[i]
    if ((r.type !== "fill" && r.type !== "partial_fill") || r.price === null) continue
    const signed = r.side === "buy" ? r.qty : -r.qty
    cash -= signed * r.price + (r.fee ?? 0)
    positions[r.ticker] = (positions[r.ticker] ?? 0) + signed
    if (!(r.ticker in prices)) prices[r.ticker] = r.price
    end = r.time
  }
  if (end !== undefined) {
    const equity = cash + Object.entries(positions).reduce((s, [t, q]) => s + q * (prices[t] ?? 0), 0)
    points.push({ time: end, ms: Date.parse(end), equity, cash, positions, prices })
    at.push(records.length)
  }
  return { points, at, source: hasPortfolio ? "portfolio" : "decision" }
}

/** Per-period returns of the last equity of each period (keyed by `key`), the first against the first point. */
const returnsBy = (points: ReadonlyArray<Point>, key: (p: Point) => string): Array<PeriodReturn> => {
  const lastOf = new Map<string, number>()
  for (const p of points) lastOf.set(key(p), p.equity)
  const out: Array<PeriodReturn> = []
  let before = points[0]?.equity
  for (const [period, equity] of lastOf) {
    out.push({ period, return: before === undefined || before === 0 ? 0 : equity / before - 1, equity })
    before = equity
  }
  return out
}

interface TickerBook {
  position: number
  /** Signed cost of the open position (position × average cost). */
  basis: number
  realized: number
  fees: number
  slippage: number
  fills: number
  bought: number
  sold: number
  notional: number
  /** P&L (realized − fees) of the round trip in progress, undefined when flat. */
  trip: number | undefined
}

const newBook = (): TickerBook => ({ position: 0, basis: 0, realized: 0, fees: 0, slippage: 0, fills: 0, bought: 0, sold: 0, notional: 0, trip: undefined })

/** Books one fill at average cost; returns the P&L of a round trip it closed, if any. */
const bookFill = (b: TickerBook, side: "buy" | "sell", qty: number, price: number, fee: number): number | undefined => {
  const signed = side === "buy" ? qty : -qty
  const before = b.position
  let realized = 0
  if (Math.abs(b.position) <= EPS || Math.sign(b.position) === Math.sign(signed)) {
    b.position += signed
    b.basis += signed * price
  } else {
    const closing = Math.min(Math.abs(signed), Math.abs(b.position)) * Math.sign(signed)
    const average = b.basis / b.position
    realized = -closing * (price - average)
    b.basis += closing * average
    b.position += closing
    const rest = signed - closing
    if (Math.abs(rest) > EPS) {
      b.position += rest
      b.basis += rest * price
    }
  }
  if (Math.abs(b.position) <= EPS) {
    b.position = 0
    b.basis = 0
  }
  b.realized += realized
  b.fees += fee
  b.fills++
  b.notional += qty * price
  if (side === "buy") b.bought += qty
  else b.sold += qty
  if (Math.abs(before) <= EPS) b.trip = 0
  b.trip = (b.trip ?? 0) + realized - fee
  const crossed = Math.abs(before) > EPS && (b.position === 0 || Math.sign(b.position) !== Math.sign(before))
  if (!crossed) return undefined
  const closed = b.trip
  b.trip = b.position === 0 ? undefined : 0
  return closed
}

const money = (x: number) => (Math.round(x * 100) / 100).toFixed(2)
const short = (x: number | null) => (x === null || !Number.isFinite(x) ? "n/a" : String(Math.round(x * 1e4) / 1e4))

const riskEventOf = (r: JournalRecord): RiskEvent | undefined => {
  const event = (kind: RiskEventKind, detail: string, ticker: string | null = null): RiskEvent => ({ time: "time" in r ? r.time : null, kind, ticker, detail })
  switch (r.type) {
    case "kill_switch":
      return event("kill_switch", `daily loss ${money(r.loss)} reached the limit ${money(r.limit)} (day start equity ${money(r.dayStartEquity)}): no new positions today, open orders canceled`)
    case "circuit_open":
      return event("circuit_open", `${r.rejections} rejections in a row: no orders until step ${r.untilStep}`)
    case "circuit_closed":
      return event("circuit_closed", "the circuit breaker closed: orders resume")
    case "outage":
      return event("outage", `${r.service === "broker" ? "the broker" : "the market data"} stopped answering: ${r.cause}`)
    case "outage_end":
      return event("outage_end", `${r.service === "broker" ? "the broker" : "the market data"} answers again after ${Math.round(r.seconds)} s (since ${r.since})`)
    case "drift":
      return event(
        "drift",
        `bar ${r.bar_time}: ${r.features
          .map((f) => `${f.feature} ${f.reason === "psi" ? `PSI ${short(f.psi ?? null)}` : `${short(f.value)} outside [${short(f.min)}, ${short(f.max)}]`}`)
          .join("; ")}`
      )
    case "drift_end":
      return event("drift_end", `bar ${r.bar_time}: every feature is back within its training statistics (drift since ${r.since})`)
    case "rejection":
    case "cancel":
    case "expiry":
      return event(r.type, `${r.side} ${r.qty} ${r.ticker} (${r.client_order_id})${r.reason === undefined ? "" : `: ${r.reason}`}`, r.ticker)
    case "intent_unsent":
      return event("intent_unsent", `${r.side} ${r.qty} ${r.ticker} (${r.client_order_id}) not sent: ${r.reason}`, r.ticker)
    case "order_error":
      return event("order_error", `${r.client_order_id}: ${r.error}`, r.ticker)
    case "policy_error":
      return event("policy_error", `bar ${r.bar_time}: ${r.problem}`)
    case "reconcile":
      return event(
        "reconcile",
        `the broker's account adopted: ${r.differences.map((d) => `${d.what}${d.ticker === undefined ? "" : ` ${d.ticker}`} ${short(d.ledger)} → ${short(d.broker)}`).join(", ")}`
      )
    case "unfilled_at_close":
      return event(
        "unfilled_at_close",
        `held overnight: ${Object.entries(r.positions).map(([t, q]) => `${q} ${t}`).join(", ") || "no position"}; open orders ${r.open_orders.map((o) => `${o.side} ${o.qty} ${o.ticker}`).join(", ") || "none"}`
      )
    case "flatten":
      return event("flatten", `bar ${r.bar_time}: flatten before the close: ${r.orders.map((o) => `${o.side} ${o.qty} ${o.ticker}`).join(", ") || "nothing left to sell"}`)
    case "bad_bar":
      return event("bad_bar", `bar ${r.bar_time} from ${r.source}: ${r.reason}`, r.ticker)
    case "no_history":
      return event("no_history", r.reason, r.ticker)
    case "actor_failure":
      return event("actor_failure", r.error, r.ticker)
    case "session_error":
      return event("session_error", r.error)
    case "journal_repaired":
      return event("journal_repaired", `a torn last line was cut (${r.dropped_bytes} bytes); ${r.kept_records} records kept`)
    default:
      return undefined
  }
}

/** A label for a journal in a comparison: a `trade` session is the paper one. */
const modeLabel = (records: ReadonlyArray<JournalRecord>): string => {
  const mode = records.find((r): r is RecordOf<"session_start"> => r.type === "session_start")?.mode
  return mode === "trade" ? "paper" : mode ?? "journal"
}

const finiteOrNull = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x)

export interface MetricSample {
  /** The equity curve: one point per step (and a closing point). */
  readonly equity: ReadonlyArray<number>
  readonly tradingDays: number
  /** P&L after fees of each closed round trip. */
  readonly roundTrips: ReadonlyArray<number>
  /** Fraction of steps that start with a position (NaN without steps). */
  readonly exposure: number
  readonly turnover: number
  readonly periodsPerYear: number
}

/** Every metric with its value and whether its sample reaches the documented minimum. */
export const computeMetrics = (s: MetricSample): ReadonlyArray<Metric> => {
  const stepReturns = periodReturns(s.equity)
  const n = stepReturns.length
  const negatives = stepReturns.filter((r) => r < 0).length
  const moved = stepReturns.filter((r) => r !== 0).length
  const firstEquity = s.equity[0] ?? 0
  const lastEquity = s.equity[s.equity.length - 1] ?? firstEquity
  const drawdown = maxDrawdown(s.equity)
  const growth = cagr(firstEquity, lastEquity, n / s.periodsPerYear)
  const std = sampleStd(stepReturns)
  const meanReturn = n === 0 ? NaN : stepReturns.reduce((a, r) => a + r, 0) / n
  const steps = s.equity.length >= 2 ? undefined : "no step to measure (needs ≥ 1)"
  const days = s.tradingDays >= MINIMUM_SAMPLE.tradingDays ? undefined : `annualised over ${s.tradingDays} trading day${s.tradingDays === 1 ? "" : "s"} (needs ≥ ${MINIMUM_SAMPLE.tradingDays})`
  const fewReturns = n >= MINIMUM_SAMPLE.returns ? undefined : `${n} per-step returns (needs ≥ ${MINIMUM_SAMPLE.returns})`
  const firstOf = (...whys: Array<string | undefined>) => whys.find((w) => w !== undefined)
  const values: Record<MetricKey, { readonly value: number; readonly why: string | undefined }> = {
    total_return: { value: firstEquity > 0 ? lastEquity / firstEquity - 1 : NaN, why: steps },
    cagr: { value: growth, why: firstOf(steps, days) },
    annualized_volatility: { value: annualizedVolatility(stepReturns, s.periodsPerYear), why: firstOf(fewReturns, days) },
    sharpe: { value: std > 0 ? (meanReturn / std) * Math.sqrt(s.periodsPerYear) : NaN, why: firstOf(fewReturns, days) },
    sortino: {
      value: sortinoRatio(stepReturns, s.periodsPerYear),
      why: firstOf(fewReturns, negatives >= MINIMUM_SAMPLE.negativeReturns ? undefined : `${negatives} negative per-step returns (needs ≥ ${MINIMUM_SAMPLE.negativeReturns})`, days)
    },
    calmar: { value: calmarRatio(growth, drawdown), why: firstOf(steps, days, drawdown > 0 ? undefined : "no drawdown") },
    max_drawdown: { value: drawdown, why: steps },
    win_rate: { value: winRate(stepReturns), why: moved >= MINIMUM_SAMPLE.returns ? undefined : `${moved} non-zero per-step returns (needs ≥ ${MINIMUM_SAMPLE.returns})` },
    round_trip_win_rate: {
      value: s.roundTrips.length === 0 ? NaN : s.roundTrips.filter((p) => p > 0).length / s.roundTrips.length,
      why: s.roundTrips.length >= MINIMUM_SAMPLE.roundTrips ? undefined : `${s.roundTrips.length} closed round trips (needs ≥ ${MINIMUM_SAMPLE.roundTrips})`
    },
    exposure: { value: s.exposure, why: Number.isFinite(s.exposure) ? undefined : "no step" },
    turnover: { value: s.turnover, why: steps }
  }
  return METRIC_DEFINITIONS.map((d) => {
    const { value, why } = values[d.key]
    const shown = finiteOrNull(value)
    const reason = why ?? (shown === null ? "cannot be computed (no variation)" : undefined)
    return { ...d, value: shown, meaningful: reason === undefined, ...(reason === undefined ? {} : { why: reason }) }
  })
}

/** The report's data from a journal's records (and optionally a second journal, their comparison, the model card's details). */
export const buildReportData = (input: ReportInput): ReportData => {
  const records = input.records
  const start = records.find((r): r is RecordOf<"session_start"> => r.type === "session_start")
  const tickers = start?.tickers ?? [...new Set(records.flatMap((r) => (r.type === "portfolio" ? Object.keys(r.prices) : "ticker" in r ? [r.ticker] : [])))].sort()
  const interval = start?.interval ?? null
  const perYear = interval !== null && interval in intervalMillis ? periodsPerYear(intervalMillis[interval as Interval]) : 252
  const notes: Array<string> = [...(input.notes ?? [])]

  const { points, at, source } = equityPoints(records, tickers)
  if (source === "decision") notes.push("the journal has no portfolio records (written before journal version 2): the equity curve is the ledger each decision read")
  if (source === "none") notes.push("the journal has no step yet: no equity curve")
  const equity = points.map((p) => p.equity)
  const first = equity[0] ?? 0
  const last = equity[equity.length - 1] ?? first

  // the deciding bar and price of every order the journal sent
  const portfolioPrices = new Map<string, Readonly<Record<string, number>>>()
  for (const r of records) if (r.type === "portfolio") portfolioPrices.set(r.bar_time, r.prices)
  const sentBy = new Map<string, { readonly barTime: string; readonly price: number | null }>()
  for (const r of records) {
    if (r.type !== "decision" && r.type !== "flatten") continue
    for (const o of r.orders) {
      if (sentBy.has(o.client_order_id)) continue
      const i = tickers.indexOf(o.ticker)
      const fromState = r.type === "decision" && r.state !== undefined && i >= 0 ? r.state.prices[i] : undefined
      const price = fromState ?? portfolioPrices.get(r.bar_time)?.[o.ticker]
      sentBy.set(o.client_order_id, { barTime: r.bar_time, price: finiteOrNull(price) })
    }
  }

  // per-ticker books from the first point on
  const books = new Map<string, TickerBook>()
  const book = (t: string) => books.get(t) ?? (books.set(t, newBook()), books.get(t)!)
  for (const t of tickers) book(t)
  const startAt = at[0] ?? records.length
  if (points.length > 0) {
    for (const [t, q] of Object.entries(points[0].positions)) {
      if (q === 0) continue
      const b = book(t)
      b.position = q
      b.basis = q * (points[0].prices[t] ?? 0)
      b.trip = 0
    }
  }
  const roundTrips: Array<number> = []
  const trades: Array<Trade> = []
  records.forEach((r, index) => {
    if (r.type !== "fill" && r.type !== "partial_fill") return
    const sent = sentBy.get(r.client_order_id)
    const decisionPrice = sent?.price ?? null
    const sign = r.side === "buy" ? 1 : -1
    const slippage = r.price === null || decisionPrice === null ? null : sign * (r.price - decisionPrice) * r.qty
    const slippageBps = r.price === null || decisionPrice === null || decisionPrice === 0 ? null : sign * (r.price / decisionPrice - 1) * 10_000
    trades.push({
      time: r.time,
      bar_time: sent?.barTime ?? null,
      ticker: r.ticker,
      side: r.side,
      qty: r.qty,
      price: r.price,
      fee: r.fee ?? 0,
      decision_price: decisionPrice,
      slippage_bps: slippageBps,
      slippage,
      client_order_id: r.client_order_id,
      partial: r.type === "partial_fill"
    })
    if (index < startAt || r.price === null) return
    const b = book(r.ticker)
    b.slippage += slippage ?? 0
    const closed = bookFill(b, r.side, r.qty, r.price, r.fee ?? 0)
    if (closed !== undefined) roundTrips.push(closed)
  })
  if (records.some((r) => (r.type === "fill" || r.type === "partial_fill") && r.price === null)) notes.push("some fills have no price: they are listed but left out of the P&L")

  const lastPrices = points[points.length - 1]?.prices ?? {}
  const perTicker: Array<TickerFigures> = [...books].map(([ticker, b]) => {
    const mark = finiteOrNull(lastPrices[ticker])
    const unrealized = b.position === 0 ? 0 : b.position * (mark ?? 0) - b.basis
    return {
      ticker,
      fills: b.fills,
      bought: b.bought,
      sold: b.sold,
      traded_notional: b.notional,
      position: b.position,
      last_price: mark,
      realized_pnl: b.realized,
      unrealized_pnl: unrealized,
      fees: b.fees,
      slippage: b.slippage,
      pnl: b.realized + unrealized - b.fees
    }
  })
  const fees = perTicker.reduce((s, t) => s + t.fees, 0)
  const slippage = perTicker.reduce((s, t) => s + t.slippage, 0)
  const pnl = perTicker.reduce((s, t) => s + t.pnl, 0)

  // equal-weight buy & hold from the first decision's prices
  const firstDecision = records.find((r): r is RecordOf<"decision"> => r.type === "decision" && r.state !== undefined)
  const basePrices: Record<string, number> = {}
  tickers.forEach((t, i) => {
    const p = firstDecision?.state?.prices[i] ?? points[0]?.prices[t]
    if (p !== undefined && Number.isFinite(p) && p > 0) basePrices[t] = p
  })
  const held = Object.keys(basePrices)
  const buyAndHold = points.map((p) => {
    if (held.length === 0) return null
    const growth = held.reduce((s, t) => s + (p.prices[t] ?? basePrices[t]) / basePrices[t], 0) / held.length
    return first * growth
  })
  const lastBuyAndHold = buyAndHold[buyAndHold.length - 1]
  const buyAndHoldReturn = lastBuyAndHold === null || lastBuyAndHold === undefined || first === 0 ? 0 : lastBuyAndHold / first - 1

  const stepsTaken = records.filter((r) => r.type === "decision" || r.type === "policy_error").length
  const tradingDays = new Set(points.map((p) => nyDate(p.ms))).size
  const tradedNotional = perTicker.reduce((s, t) => s + t.traded_notional, 0)
  // the closing point is no step
  const stepPoints = points.filter((_, i) => at[i] < records.length)
  const exposure = stepPoints.length === 0 ? NaN : stepPoints.filter((p) => Object.values(p.positions).some((q) => Math.abs(q) > EPS)).length / stepPoints.length

  const sent = new Set(sentBy.keys())
  const failed = new Set(records.flatMap((r) => ((r.type === "rejection" || r.type === "order_error" || r.type === "intent_unsent") && sent.has(r.client_order_id) ? [r.client_order_id] : [])))
  const legacy = performanceReport({
    equity,
    orders: sent.size - failed.size,
    fills: records.filter((r) => r.type === "fill" || r.type === "partial_fill").length,
    tradedNotional,
    periodsPerYear: perYear
  })
  const summary: SummaryFigures = {
    ...legacy,
    steps: stepsTaken,
    rejections: records.filter((r) => r.type === "rejection").length,
    buy_and_hold_return: buyAndHoldReturn
  }

  const metrics = computeMetrics({ equity, tradingDays, roundTrips, exposure, turnover: summary.turnover, periodsPerYear: perYear })

  // holds and risk cuts, by reason and rule
  const holds = new Map<string, { count: number; tickers: Set<string>; first: string; last: string }>()
  const cuts = new Map<string, { count: number; requested: number; allowed: number; tickers: Set<string> }>()
  for (const r of records) {
    if (r.type !== "decision") continue
    for (const h of r.holds ?? []) {
      const entry = holds.get(h.reason) ?? { count: 0, tickers: new Set<string>(), first: r.bar_time, last: r.bar_time }
      entry.count++
      entry.tickers.add(h.ticker)
      entry.last = r.bar_time
      holds.set(h.reason, entry)
    }
    for (const c of r.risk ?? []) {
      const entry = cuts.get(c.rule) ?? { count: 0, requested: 0, allowed: 0, tickers: new Set<string>() }
      entry.count++
      entry.requested += c.requested
      entry.allowed += c.allowed
      entry.tickers.add(c.ticker)
      cuts.set(c.rule, entry)
    }
  }

  const model: ReportModel | null =
    start === undefined
      ? null
      : {
          name: start.model.name,
          version: start.model.version,
          sha256: start.model.sha256,
          features: start.indicators,
          tickers: start.tickers,
          ...input.model
        }

  const comparison = input.vs === undefined && input.comparison === undefined ? null : compareSection(records, input.vs ?? [], input.comparison)

  return {
    deployment: start?.deployment ?? null,
    mode: start?.mode ?? null,
    tickers,
    period: {
      first_bar: points[0]?.time ?? null,
      last_bar: stepPoints[stepPoints.length - 1]?.time ?? null,
      steps: stepsTaken,
      interval,
      periods_per_year: perYear,
      trading_days: tradingDays
    },
    series: {
      time: points.map((p) => p.time),
      equity,
      buy_and_hold: buyAndHold,
      cash: points.map((p) => p.cash),
      drawdown: underwater(equity),
      positions: tickers.map((t) => ({
        ticker: t,
        shares: points.map((p) => p.positions[t] ?? 0),
        value: points.map((p) => (p.positions[t] ?? 0) * (p.prices[t] ?? 0))
      }))
    },
    daily_returns: returnsBy(points, (p) => nyDate(p.ms)),
    monthly_returns: returnsBy(points, (p) => nyDate(p.ms).slice(0, 7)),
    per_ticker: perTicker,
    costs: { fees, slippage, total: fees + slippage },
    pnl_check: { equity_change: last - first, pnl, unexplained: last - first - pnl },
    trades,
    round_trips: roundTrips.length,
    risk_events: records.flatMap((r) => riskEventOf(r) ?? []),
    holds: [...holds].map(([reason, h]) => ({ reason, count: h.count, tickers: [...h.tickers].sort(), first_bar: h.first, last_bar: h.last })),
    risk_cuts: [...cuts].map(([rule, c]) => ({ rule, count: c.count, requested: c.requested, allowed: c.allowed, tickers: [...c.tickers].sort() })),
    model,
    metrics,
    summary,
    comparison,
    notes
  }
}

const compareSection = (records: ReadonlyArray<JournalRecord>, vs: ReadonlyArray<JournalRecord>, given: ComparisonInput | undefined): ReportComparison => {
  const c: ComparisonInput = given ?? compareJournals(records, vs)
  const vsStart = vs.find((r): r is RecordOf<"session_start"> => r.type === "session_start")
  const vsPoints = equityPoints(vs, vsStart?.tickers ?? []).points
  const primary = modeLabel(records)
  const other = vs.length === 0 ? "backtest" : modeLabel(vs)
  const causes: Record<string, number> = {}
  for (const d of c.divergences) causes[d.cause] = (causes[d.cause] ?? 0) + 1
  return {
    labels: { primary, vs: other === primary ? `${other} (vs)` : other },
    vs: { time: vsPoints.map((p) => p.time), equity: vsPoints.map((p) => p.equity) },
    source: given === undefined ? "computed" : "compare.json",
    common_decisions: c.decisions.common,
    identical_orders: c.decisions.common === 0 ? null : c.identical_orders_pct / 100,
    returns_correlation: finiteOrNull(c.equity?.returns_correlation),
    dtw_annualized: finiteOrNull(c.equity?.dtw_annualized),
    final_equity_diff: c.equity === undefined || c.equity.final_diff_pct === null ? null : finiteOrNull(c.equity.final_diff_pct / 100),
    divergences: c.divergences.map((d) => ({ bar_time: d.bar_time, cause: d.cause, detail: d.detail })),
    causes,
    unexplained: c.unexplained
  }
}

/** A metric as report.json holds it. */
export interface MetricJson {
  readonly value: number | null
  readonly meaningful: boolean
  readonly why?: string | undefined
}

/**
 * report.json: the summary figures the backtest always wrote (same names, same meaning), then the
 * period, the metrics with their meaningfulness, costs, per-ticker figures, daily and monthly
 * returns, counts of risk events, and the comparison when there is one. Fractions throughout.
 */
export const reportJson = (data: ReportData) => {
  const metrics: Record<string, MetricJson> = {}
  for (const m of data.metrics) metrics[m.key] = { value: m.value, meaningful: m.meaningful, ...(m.why === undefined ? {} : { why: m.why }) }
  const events: Record<string, number> = {}
  for (const kind of RISK_EVENT_KINDS) events[kind] = 0
  for (const e of data.risk_events) events[e.kind]++
  return {
    ...data.summary,
    period: data.period,
    metrics,
    costs: data.costs,
    pnl_check: data.pnl_check,
    per_ticker: data.per_ticker,
    round_trips: data.round_trips,
    daily_returns: data.daily_returns.map((d) => ({ date: d.period, return: d.return, equity: d.equity })),
    monthly_returns: data.monthly_returns.map((m) => ({ month: m.period, return: m.return, equity: m.equity })),
    risk_events: { ...events, holds: data.holds.reduce((s, h) => s + h.count, 0), risk_cuts: data.risk_cuts.reduce((s, c) => s + c.count, 0) },
    ...(data.comparison === null
      ? {}
      : {
          comparison: {
            common_decisions: data.comparison.common_decisions,
            identical_orders: data.comparison.identical_orders,
            returns_correlation: data.comparison.returns_correlation,
            dtw_annualized: data.comparison.dtw_annualized,
            final_equity_diff: data.comparison.final_equity_diff,
            divergences: data.comparison.divergences.length,
            causes: data.comparison.causes,
            unexplained: data.comparison.unexplained
          }
        })
  }
}
export type ReportJson = ReturnType<typeof reportJson>
