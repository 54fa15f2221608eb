/**
 * Drift alarms, pure: the training statistics of every observation feature (from a sample of
 * training observations, or a normal approximation from VecNormalize's mean and variance) and a
 * monitor that checks each live or simulated observation against them — a value outside the
 * training range, and a rolling population stability index (PSI) per feature over a window.
 */
import { type FeatureStats, type ObservationStats, QUANTILES, type QuantileName } from "../domain/Model.js"
import { Rng } from "./rng.js"

const LEVELS: Readonly<Record<QuantileName, number>> = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 }
const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

/** The standard normal's quantiles at the levels above (to 10 digits). */
const Z: Readonly<Record<number, number>> = {
  0.01: -2.326347874,
  0.05: -1.644853627,
  0.1: -1.2815515655,
  0.2: -0.8416212336,
  0.25: -0.6744897502,
  0.3: -0.5244005127,
  0.4: -0.2533471031,
  0.5: 0,
  0.6: 0.2533471031,
  0.7: 0.5244005127,
  0.75: 0.6744897502,
  0.8: 0.8416212336,
  0.9: 1.2815515655,
  0.95: 1.644853627,
  0.99: 2.326347874
}

/** The normal approximation's range: mean ± 4σ (a normal leaves it once in 16 000 draws). */
export const NORMAL_RANGE_SIGMAS = 4

/** The q-quantile of ascending `sorted`, linearly interpolated (numpy's default). */
export const quantileOf = (sorted: ArrayLike<number>, q: number): number => {
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.min(lo + 1, sorted.length - 1)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo)
}

/** The bin of a value: the number of edges below it, so bin i is (edges[i−1], edges[i]]; NaN counts as above every edge. */
export const binOf = (edges: ReadonlyArray<number>, value: number): number => {
  if (Number.isNaN(value)) return edges.length
  let lo = 0
  let hi = edges.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (edges[mid] < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** One feature's statistics from its (unsorted) training values, with the exact moments and range given. */
const featureFromSample = (name: string, values: Float64Array, moments: { mean: number; std: number; min: number; max: number }): FeatureStats => {
  const sorted = Float64Array.from(values).sort()
  const quantiles = Object.fromEntries(QUANTILES.map((q) => [q, Math.min(moments.max, Math.max(moments.min, quantileOf(sorted, LEVELS[q])))])) as Record<QuantileName, number>
  if (moments.std === 0) return { name, ...moments, ...quantiles, edges: [], shares: [1] }
  const edges = [...new Set(DECILES.map((d) => quantileOf(sorted, d)))]
  const counts = new Array<number>(edges.length + 1).fill(0)
  for (const v of sorted) counts[binOf(edges, v)]++
  return { name, ...moments, ...quantiles, edges, shares: counts.map((c) => c / sorted.length) }
}

export interface StatisticsBuilderOptions {
  /** Observations kept for the quantiles, bins and PSI baselines (default 20 000); beyond it a uniform reservoir sample. */
  readonly capacity?: number | undefined
  /** The reservoir's seed (default 1): the same observations give the same statistics. */
  readonly seed?: number | undefined
  /** The rolling window the PSI baselines are measured over (default {@link DEFAULT_DRIFT_SETTINGS}' 390). */
  readonly psiWindow?: number | undefined
}

/**
 * Each feature's largest rolling PSI over `window` consecutive observations of the sample itself:
 * what a window of training data scores against the whole of it. A trending feature (a price, a
 * moving average, holdings) scores high over any window shorter than the training period; its
 * alarm starts above that. Needs at least two windows of observations.
 */
const withBaselines = (stats: ObservationStats, sequences: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>, window: number): ObservationStats => {
  if (!sequences.some((rows) => rows.length >= 2 * window)) return stats
  const highest = new Float64Array(stats.features.length)
  for (const rows of sequences) {
    // a window never spans two sequences (two rollouts are not one stretch of time)
    const monitor = new DriftMonitor(stats, { window })
    for (const row of rows) monitor.observe(row).psi.forEach((p, i) => (highest[i] = Math.max(highest[i], p ?? 0)))
  }
  return { source: stats.source, observations: stats.observations, psi_window: window, features: stats.features.map((f, i) => (f.std > 0 ? { ...f, psi_baseline: highest[i] } : f)) }
}

/**
 * Training statistics, one observation at a time: mean, std, min and max are exact over every
 * observation; quantiles and PSI bins come from all of them up to `capacity`, then from a seeded
 * reservoir sample of that size (Vitter's algorithm R). Observations with a non-finite value are
 * skipped (a warm training observation has none) and counted.
 */
export class TrainingStatisticsBuilder {
  private seen = 0
  private skippedCount = 0
  private readonly mean: Float64Array
  private readonly m2: Float64Array
  private readonly min: Float64Array
  private readonly max: Float64Array
  /** Kept observations with their arrival number and sequence, so the baselines see them in order. */
  private readonly reservoir: Array<{ readonly at: number; readonly sequence: number; readonly row: Float64Array }> = []
  private sequence = 0
  private readonly capacity: number
  private readonly psiWindow: number
  private readonly rng: Rng
  constructor(readonly size: number, options: StatisticsBuilderOptions = {}) {
    this.mean = new Float64Array(size)
    this.m2 = new Float64Array(size)
    this.min = new Float64Array(size).fill(Infinity)
    this.max = new Float64Array(size).fill(-Infinity)
    this.capacity = options.capacity ?? 20_000
    this.psiWindow = options.psiWindow ?? DEFAULT_DRIFT_SETTINGS.window
    this.rng = new Rng(options.seed ?? 1)
  }

  get count(): number {
    return this.seen
  }

  get skipped(): number {
    return this.skippedCount
  }

  /** The observations added from now on are another stretch of time (another rollout): no PSI window spans the two. */
  endSequence(): void {
    if (this.reservoir.some((r) => r.sequence === this.sequence)) this.sequence++
  }

  add(observation: ArrayLike<number>): void {
    if (observation.length !== this.size) throw new RangeError(`an observation of ${observation.length} values, expected ${this.size}`)
    for (let i = 0; i < observation.length; i++) {
      if (!Number.isFinite(observation[i])) {
        this.skippedCount++
        return
      }
    }
    this.seen++
    for (let i = 0; i < this.size; i++) {
      const x = observation[i]
      const d = x - this.mean[i]
      this.mean[i] += d / this.seen
      this.m2[i] += d * (x - this.mean[i])
      if (x < this.min[i]) this.min[i] = x
      if (x > this.max[i]) this.max[i] = x
    }
    if (this.reservoir.length < this.capacity) this.reservoir.push({ at: this.seen, sequence: this.sequence, row: Float64Array.from(observation) })
    else {
      const j = this.rng.int(this.seen)
      if (j < this.capacity) this.reservoir[j] = { at: this.seen, sequence: this.sequence, row: Float64Array.from(observation) }
    }
  }

  /** The statistics, features named in the observation's order; undefined before the first observation. */
  build(names: ReadonlyArray<string>): ObservationStats | undefined {
    if (names.length !== this.size) throw new RangeError(`${names.length} names for ${this.size} features`)
    if (this.seen === 0) return undefined
    const ordered = [...this.reservoir].sort((a, b) => a.at - b.at)
    const rows = ordered.map((r) => r.row)
    const sequences = Array.from({ length: this.sequence + 1 }, (_, q) => ordered.filter((r) => r.sequence === q).map((r) => r.row))
    const column = new Float64Array(rows.length)
    const features = names.map((name, i) => {
      for (let r = 0; r < rows.length; r++) column[r] = rows[r][i]
      const std = Math.sqrt(Math.max(0, this.m2[i] / this.seen))
      // a spread below rounding noise of the values is a constant
      const constant = this.max[i] === this.min[i] || std <= 1e-12 * Math.max(1, Math.abs(this.mean[i]))
      return featureFromSample(name, column, { mean: this.mean[i], std: constant ? 0 : std, min: this.min[i], max: this.max[i] })
    })
    // beyond capacity the rows are a thinned sample, whose windows span more time: the baselines then understate
    return withBaselines({ source: "sample", observations: this.seen, features }, sequences, this.psiWindow)
  }
}

/** Statistics from a sample held whole (rows of one observation each, in the order they were observed). */
export const statisticsFromSample = (rows: ReadonlyArray<ArrayLike<number>>, names: ReadonlyArray<string>, psiWindow?: number): ObservationStats | undefined => {
  const builder = new TrainingStatisticsBuilder(names.length, { capacity: Math.max(1, rows.length), psiWindow })
  for (const row of rows) builder.add(row)
  return builder.build(names)
}

/**
 * Statistics from VecNormalize's mean and variance alone, as a normal approximation: range
 * mean ± 4σ, quantiles and PSI deciles (a tenth each) of the normal. A zero variance is a constant.
 */
export const statisticsFromNormalization = (
  normalization: { readonly mean: ReadonlyArray<number>; readonly var: ReadonlyArray<number> },
  names: ReadonlyArray<string>,
  observations = 0
): ObservationStats => {
  if (normalization.mean.length !== names.length || normalization.var.length !== names.length) {
    throw new RangeError(`mean/var of ${normalization.mean.length}/${normalization.var.length} values for ${names.length} features`)
  }
  const features = names.map((name, i): FeatureStats => {
    const mean = normalization.mean[i]
    const std = Math.sqrt(normalization.var[i])
    const at = (p: number) => mean + Z[p] * std
    const quantiles = Object.fromEntries(QUANTILES.map((q) => [q, at(LEVELS[q])])) as Record<QuantileName, number>
    const bins = std === 0 ? { edges: [], shares: [1] } : { edges: DECILES.map(at), shares: new Array<number>(10).fill(0.1) }
    return { name, mean, std, min: mean - NORMAL_RANGE_SIGMAS * std, max: mean + NORMAL_RANGE_SIGMAS * std, ...quantiles, ...bins }
  })
  return { source: "vecnormalize", observations: Math.max(0, Math.round(observations)), features }
}

/** A share below this counts as this in the PSI, so an empty bin scores high rather than infinite. */
export const PSI_FLOOR = 1e-4

/** Population stability index: Σ (actual − expected) · ln(actual / expected) over the bins, shares floored at {@link PSI_FLOOR}. */
export const populationStabilityIndex = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>): number => {
  let psi = 0
  for (let b = 0; b < expected.length; b++) {
    const a = Math.max(actual[b], PSI_FLOOR)
    const e = Math.max(expected[b], PSI_FLOOR)
    psi += (a - e) * Math.log(a / e)
  }
  return psi
}

/**
 * The agent's own state — cash, holdings, cooldowns — which its orders set, not the market: a window
 * of it shows the agent's recent positions, which training rollouts of other policies do not share.
 * Range-checked only (its PSI is still scored).
 */
export const isAgentState = (feature: string): boolean => feature === "cash" || feature.startsWith("holding[") || feature.startsWith("cooldown[")

export interface DriftSettings {
  /**
   * Observations in the rolling PSI window; no PSI is scored until it is full (default: the window
   * the statistics' baselines were measured over, else 390 — a day of minute bars).
   */
  readonly window: number
  /**
   * A rolling PSI this far above the feature's `psi_baseline` (when that was measured over the same
   * window; else above 0) is drift (default 0.25, the usual "significant shift").
   */
  readonly psiThreshold: number
  /** Features whose PSI is not drift, only their range (default {@link isAgentState}). */
  readonly rangeOnly: (feature: string) => boolean
  /** How far beyond the training range a value may go, as a fraction of the range's width (default 0.1). */
  readonly tolerance: number
  /**
   * Observations in a row with every feature back before an episode ends (default: the window, so
   * the observations that drifted have left the window its PSI is scored over).
   */
  readonly recovery: number
}

/** The defaults; `recovery` defaults to the window. */
export const DEFAULT_DRIFT_SETTINGS: Omit<DriftSettings, "recovery"> = { window: 390, psiThreshold: 0.25, tolerance: 0.1, rangeOnly: isAgentState }

/** One feature drifting at one observation: the shape of a journal `drift` line. */
export interface FeatureDrift {
  readonly feature: string
  readonly index: number
  /** null when the value is not finite. */
  readonly value: number | null
  /** The training range. */
  readonly min: number
  readonly max: number
  readonly psi?: number | undefined
  /** `out_of_range` wins when both hold. */
  readonly reason: "out_of_range" | "psi"
}

export type DriftEvent =
  /** Drift began: the features drifting now. */
  | { readonly type: "start"; readonly features: ReadonlyArray<FeatureDrift> }
  /** Features not named at the episode's start drift too (no new episode). */
  | { readonly type: "joined"; readonly features: ReadonlyArray<FeatureDrift> }
  /** Every feature was back for `recovery` observations; `observations` is how long the episode lasted. */
  | { readonly type: "end"; readonly observations: number }

export interface DriftObservation {
  /** Every feature drifting at this observation. */
  readonly drifting: ReadonlyArray<FeatureDrift>
  /** The rolling PSI per feature; undefined until the window is full, and for constant features. */
  readonly psi: ReadonlyArray<number | undefined>
  /** Indices of the features outside their training range (with the tolerance) at this observation. */
  readonly outOfRange: ReadonlyArray<number>
  readonly active: boolean
  readonly event: DriftEvent | undefined
}

/**
 * Checks observations (raw, before any normalisation) against training statistics, one at a time.
 *
 * A feature drifts when its value is outside [min − tolerance·(max − min), max + tolerance·(max − min)],
 * or when its PSI over the last `window` observations against the training's bin shares reaches
 * `psi_baseline + psiThreshold` — the baseline being the most any window of its own training data
 * scored (0 when the statistics have none for this window): a trending feature's windows always
 * score high, only more than training ever saw is drift. A feature with training std 0, and the
 * agent's own state (`rangeOnly`), are only range-checked (a constant against its one value, to a
 * relative 1e-9, rounding). An episode starts at the first drifting observation (event `start`, the
 * features named) and ends after `recovery` observations in a row with no feature drifting (event
 * `end`); while it lasts nothing more is reported except features that were not drifting before
 * (event `joined`, once per feature per episode).
 */
export class DriftMonitor {
  readonly settings: DriftSettings
  private readonly features: ReadonlyArray<FeatureStats>
  private readonly low: Float64Array
  private readonly high: Float64Array
  /** Per feature: the PSI at which it drifts (its baseline plus the threshold; never for a range-only one). */
  private readonly psiLimit: Float64Array
  /** Per feature: the bin of each observation in the window (a ring), and the window's counts per bin. */
  private readonly ring: ReadonlyArray<Uint16Array>
  private readonly counts: ReadonlyArray<Float64Array>
  private filled = 0
  private next = 0
  private active = false
  /** The features the episode has reported (at its start, or joined since). */
  private named = new Set<number>()
  /** Observations in a row with nothing drifting, within an episode. */
  private calm = 0
  /** Observations since the episode started. */
  private length = 0

  constructor(stats: ObservationStats, settings: Partial<DriftSettings> = {}) {
    const chosen = { ...DEFAULT_DRIFT_SETTINGS, ...(stats.psi_window === undefined ? {} : { window: stats.psi_window }), ...settings }
    this.settings = { ...chosen, recovery: settings.recovery ?? chosen.window }
    const { window, psiThreshold, tolerance, recovery } = this.settings
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a whole number ≥ 1, got ${window}`)
    if (!(psiThreshold > 0)) throw new RangeError(`psiThreshold must be > 0, got ${psiThreshold}`)
    if (!(tolerance >= 0)) throw new RangeError(`tolerance must be ≥ 0, got ${tolerance}`)
    if (!Number.isInteger(recovery) || recovery < 1) throw new RangeError(`recovery must be a whole number ≥ 1, got ${recovery}`)
    this.features = stats.features
    this.low = Float64Array.from(stats.features, (f) => f.min - this.margin(f))
    this.high = Float64Array.from(stats.features, (f) => f.max + this.margin(f))
    const baselines = stats.psi_window === window
    this.psiLimit = Float64Array.from(stats.features, (f) => (this.settings.rangeOnly(f.name) ? Infinity : psiThreshold + (baselines ? (f.psi_baseline ?? 0) : 0)))
    this.ring = stats.features.map(() => new Uint16Array(window))
    this.counts = stats.features.map((f) => new Float64Array(f.shares.length))
  }

  private margin(f: FeatureStats): number {
    return Math.max(this.settings.tolerance * (f.max - f.min), 1e-9 * Math.max(1, Math.abs(f.min), Math.abs(f.max)))
  }

  get size(): number {
    return this.features.length
  }

  get isActive(): boolean {
    return this.active
  }

  observe(observation: ArrayLike<number>): DriftObservation {
    if (observation.length !== this.features.length) throw new RangeError(`an observation of ${observation.length} values, expected ${this.features.length}`)
    const { window } = this.settings
    const full = this.filled + 1 >= window
    const psi: Array<number | undefined> = []
    const outOfRange: Array<number> = []
    const drifting: Array<FeatureDrift> = []
    for (let i = 0; i < this.features.length; i++) {
      const f = this.features[i]
      const x = observation[i]
      let score: number | undefined
      if (f.std > 0) {
        const ring = this.ring[i]
        const counts = this.counts[i]
        if (this.filled === window) counts[ring[this.next]]--
        const bin = x === Infinity ? f.edges.length : x === -Infinity ? 0 : binOf(f.edges, x)
        ring[this.next] = bin
        counts[bin]++
        if (full) score = populationStabilityIndex(Array.from(counts, (c) => c / window), f.shares)
      }
      psi.push(score)
      const outside = !(x >= this.low[i] && x <= this.high[i])
      if (outside) outOfRange.push(i)
      const shifted = score !== undefined && score >= this.psiLimit[i]
      if (outside || shifted) {
        drifting.push({ feature: f.name, index: i, value: Number.isFinite(x) ? x : null, min: f.min, max: f.max, ...(score === undefined ? {} : { psi: score }), reason: outside ? "out_of_range" : "psi" })
      }
    }
    this.next = (this.next + 1) % window
    this.filled = Math.min(window, this.filled + 1)
    const event = this.episode(drifting)
    return { drifting, psi, outOfRange, active: this.active, event }
  }

  /** Advances the episode state machine by one observation. */
  private episode(drifting: ReadonlyArray<FeatureDrift>): DriftEvent | undefined {
    if (!this.active) {
      if (drifting.length === 0) return undefined
      this.active = true
      this.named = new Set(drifting.map((d) => d.index))
      this.calm = 0
      this.length = 1
      return { type: "start", features: drifting }
    }
    this.length++
    if (drifting.length > 0) {
      this.calm = 0
      const joined = drifting.filter((d) => !this.named.has(d.index))
      for (const d of joined) this.named.add(d.index)
      return joined.length > 0 ? { type: "joined", features: joined } : undefined
    }
    this.calm++
    if (this.calm < this.settings.recovery) return undefined
    this.active = false
    return { type: "end", observations: this.length }
  }
}
