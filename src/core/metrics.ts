export interface PerformanceReport {
  readonly steps: number
  readonly orders: number
  readonly fills: number
  readonly initial_equity: number
  readonly final_equity: number
  readonly total_return: number
  /** Annualised: mean / sample std of per-step returns × sqrt(steps per year); 0 when returns do not vary. */
  readonly sharpe: number
  /** Largest peak-to-trough fall of equity, as a fraction of the peak (0.1 = 10 %). */
  readonly max_drawdown: number
  /** Traded notional divided by mean equity. */
  readonly turnover: number
}

export interface PerformanceInput {
  /** Equity at the start, then after every step. */
  readonly equity: ReadonlyArray<number>
  readonly orders: number
  readonly fills: number
  readonly tradedNotional: number
  readonly periodsPerYear: number
}

export const sharpeRatio = (equity: ReadonlyArray<number>, periodsPerYear: number): number => {
  const returns: Array<number> = []
  for (let i = 1; i < equity.length; i++) if (equity[i - 1] !== 0) returns.push(equity[i] / equity[i - 1] - 1)
  if (returns.length < 2) return 0
  const mean = returns.reduce((s, r) => s + r, 0) / returns.length
  const variance = returns.reduce((s, r) => s + (r - mean) ** 2, 0) / (returns.length - 1)
  const std = Math.sqrt(variance)
  return std > 0 ? (mean / std) * Math.sqrt(periodsPerYear) : 0
}

export const maxDrawdown = (equity: ReadonlyArray<number>): number => {
  let peak = -Infinity
  let worst = 0
  for (const e of equity) {
    peak = Math.max(peak, e)
    if (peak > 0) worst = Math.max(worst, (peak - e) / peak)
  }
  return worst
}

export const performanceReport = (input: PerformanceInput): PerformanceReport => {
  const first = input.equity[0] ?? 0
  const last = input.equity[input.equity.length - 1] ?? first
  const meanEquity = input.equity.length === 0 ? 0 : input.equity.reduce((s, e) => s + e, 0) / input.equity.length
  return {
    steps: Math.max(0, input.equity.length - 1),
    orders: input.orders,
    fills: input.fills,
    initial_equity: first,
    final_equity: last,
    total_return: first === 0 ? 0 : last / first - 1,
    sharpe: sharpeRatio(input.equity, input.periodsPerYear),
    max_drawdown: maxDrawdown(input.equity),
    turnover: meanEquity > 0 ? input.tradedNotional / meanEquity : 0
  }
}

/** Bars per year for an interval, taking a US equity session as 6.5 hours and 252 sessions a year. */
export const periodsPerYear = (intervalMs: number): number =>
  intervalMs >= 86_400_000 ? 252 : Math.round((6.5 * 3_600_000) / intervalMs) * 252

/**
 * Simple returns `e[i] / e[i−1] − 1` between consecutive equities, skipping a step whose previous
 * equity is 0 (as {@link sharpeRatio} does).
 */
export const periodReturns = (equity: ReadonlyArray<number>): Array<number> => {
  const returns: Array<number> = []
  for (let i = 1; i < equity.length; i++) if (equity[i - 1] !== 0) returns.push(equity[i] / equity[i - 1] - 1)
  return returns
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((s, x) => s + x, 0) / xs.length

/** Sample (n − 1) standard deviation; NaN below two values. */
export const sampleStd = (xs: ReadonlyArray<number>): number => {
  if (xs.length < 2) return NaN
  const m = mean(xs)
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1))
}

/** Sample std of per-period returns × √(periods per year); NaN below two returns. */
export const annualizedVolatility = (returns: ReadonlyArray<number>, periodsPerYear: number): number => sampleStd(returns) * Math.sqrt(periodsPerYear)

/**
 * Sortino ratio with a 0 target: mean return / downside deviation × √(periods per year), the
 * downside deviation being √(Σ min(r, 0)² / n) over all n returns. NaN when no return is negative.
 */
export const sortinoRatio = (returns: ReadonlyArray<number>, periodsPerYear: number): number => {
  if (returns.length === 0) return NaN
  const downside = Math.sqrt(returns.reduce((s, r) => s + Math.min(r, 0) ** 2, 0) / returns.length)
  return downside > 0 ? (mean(returns) / downside) * Math.sqrt(periodsPerYear) : NaN
}

/** Compound annual growth: (last / first)^(1 / years) − 1; NaN for a non-positive start or span. */
export const cagr = (first: number, last: number, years: number): number =>
  first > 0 && last >= 0 && years > 0 ? (last / first) ** (1 / years) - 1 : NaN

/** CAGR over the maximum drawdown (a positive fraction); NaN without a drawdown. */
export const calmarRatio = (growth: number, drawdown: number): number => (drawdown > 0 ? growth / drawdown : NaN)

/** The underwater curve: equity / running peak − 1 at every point (0 at a new peak, −0.1 = 10 % below it). */
export const underwater = (equity: ReadonlyArray<number>): Array<number> => {
  let peak = -Infinity
  return equity.map((e) => {
    peak = Math.max(peak, e)
    return peak > 0 ? e / peak - 1 : 0
  })
}

/** Fraction of the non-zero returns that are positive; NaN when every return is 0. */
export const winRate = (returns: ReadonlyArray<number>): number => {
  const moved = returns.filter((r) => r !== 0)
  return moved.length === 0 ? NaN : moved.filter((r) => r > 0).length / moved.length
}

/**
 * The smallest samples below which a report marks a metric "not meaningful": a sample std (and
 * Sharpe, Sortino, volatility, the win rate of steps) over fewer than 30 returns is mostly noise,
 * and annualising less than a week of trading (CAGR, volatility, Sharpe, Sortino, Calmar)
 * extrapolates a few days' luck to a year.
 */
export const MINIMUM_SAMPLE = {
  /** Per-step returns for volatility, Sharpe, Sortino and the win rate of steps. */
  returns: 30,
  /** New York trading days the equity curve spans, for every annualised figure. */
  tradingDays: 5,
  /** Negative per-step returns for Sortino's downside deviation. */
  negativeReturns: 5,
  /** Closed round trips for their win rate. */
  roundTrips: 10
} as const
