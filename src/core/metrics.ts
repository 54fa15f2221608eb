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
