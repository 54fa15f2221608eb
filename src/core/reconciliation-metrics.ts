/**
 * QuantConnect's two reconciliation scores of a live (here: paper) equity curve against the
 * out-of-sample backtest of the same period, with their definitions:
 * https://www.quantconnect.com/docs/v2/research-environment/meta-analysis/live-analysis (section
 * "Reconciliation"; the same text is in QuantConnect/Documentation, "04 Research Environment/10
 * Meta Analysis/04 Live Analysis/03 Reconciliation.html", and at
 * https://www.quantconnect.com/docs/key-concepts/reconciliation).
 *
 * - Returns correlation: "the simple Pearson correlation between the live and OOS returns",
 *   ρ = cov(X, Y) / (σ_X σ_Y).
 * - DTW distance: DTW(X, Y) = min over warping paths P of Σ_l (x_{m_l} − y_{n_l})², applied to the
 *   returns of the two curves, then annualised ("QuantConnect annualizes the daily DTW … A distance
 *   of 0.2 means the returns … deviated by 20 % over a year").
 *
 * The page does not spell out the annualisation. We take the page's DTW cost per return (the mean
 * squared difference along the best alignment), scale it to a year of periods and take the square
 * root, which puts it back "on the scale of percent returns" as the page says, the way a tracking
 * error is annualised: `sqrt(DTW · periodsPerYear / n)`. QuantConnect scores daily returns; we
 * score the per-step returns the journals hold, with the step's periods per year.
 */

/** Simple returns between consecutive equities: `e[i] / e[i-1] − 1` (0 when `e[i-1]` is 0). */
export const stepReturns = (equity: ReadonlyArray<number>): Array<number> => {
  const out: Array<number> = []
  for (let i = 1; i < equity.length; i++) out.push(equity[i - 1] === 0 ? 0 : equity[i] / equity[i - 1] - 1)
  return out
}

const sameSeries = (x: ReadonlyArray<number>, y: ReadonlyArray<number>) => x.length === y.length && x.every((v, i) => v === y[i])

/**
 * Pearson correlation of two equally long series. Where it is undefined (fewer than two points,
 * or a series with zero variance, e.g. a flat equity curve) it is 1 when the two series are
 * identical and `null` otherwise: identical curves are perfectly reconciled whatever their shape,
 * and a number would claim a co-movement nobody can measure.
 */
export const returnsCorrelation = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): number | null => {
  if (x.length !== y.length) throw new Error(`returnsCorrelation: series of ${x.length} and ${y.length} points`)
  if (sameSeries(x, y)) return 1
  const n = x.length
  if (n < 2) return null
  const mx = x.reduce((s, v) => s + v, 0) / n
  const my = y.reduce((s, v) => s + v, 0) / n
  let sxy = 0, sxx = 0, syy = 0
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my)
    sxx += (x[i] - mx) ** 2
    syy += (y[i] - my) ** 2
  }
  if (sxx === 0 || syy === 0) return null
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)))
}

/**
 * The page's DTW cost: the least Σ (x_i − y_j)² over warping paths from (0, 0) to (n−1, m−1)
 * with steps (1, 0), (0, 1), (1, 1). 0 for two empty series.
 */
export const dtwDistance = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): number => {
  if (x.length === 0 && y.length === 0) return 0
  if (x.length === 0 || y.length === 0) return Infinity
  let previous = new Float64Array(y.length + 1).fill(Infinity)
  let current = new Float64Array(y.length + 1)
  previous[0] = 0
  for (let i = 1; i <= x.length; i++) {
    current[0] = Infinity
    for (let j = 1; j <= y.length; j++) {
      current[j] = (x[i - 1] - y[j - 1]) ** 2 + Math.min(previous[j], current[j - 1], previous[j - 1])
    }
    const done = previous
    previous = current
    current = done
  }
  return previous[y.length]
}

/** `sqrt(DTW(x, y) · periodsPerYear / n)` with n the number of returns (see the module comment). */
export const annualizedDtw = (x: ReadonlyArray<number>, y: ReadonlyArray<number>, periodsPerYear: number): number => {
  const n = Math.max(x.length, y.length)
  return n === 0 ? 0 : Math.sqrt((dtwDistance(x, y) * periodsPerYear) / n)
}

export interface EquityReconciliation {
  /** Pearson correlation of the per-step returns; `null` where undefined and the curves differ. */
  readonly returns_correlation: number | null
  /** Annualised DTW distance of the per-step returns (0: identical returns). */
  readonly dtw_annualized: number
  /** Paper's final equity against the backtest's, in percent: `(paper / backtest − 1) · 100`. */
  readonly final_diff_pct: number
}

/** The scores of two equity curves sampled at the same times. */
export const reconcileEquity = (paper: ReadonlyArray<number>, backtest: ReadonlyArray<number>, periodsPerYear: number): EquityReconciliation => {
  const rp = stepReturns(paper)
  const rb = stepReturns(backtest)
  const last = paper.length - 1
  return {
    returns_correlation: returnsCorrelation(rp, rb),
    dtw_annualized: annualizedDtw(rp, rb, periodsPerYear),
    final_diff_pct: last < 0 || paper[last] === backtest[last] ? 0 : (paper[last] / backtest[last] - 1) * 100
  }
}
