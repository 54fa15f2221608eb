/**
 * OpenAI-style evolution strategies (Salimans et al. 2017), pure and seeded.
 *
 * Each iteration:
 *  1. draw `pairs` noise vectors ε_k ~ N(0, I) from the seeded Rng;
 *  2. evaluate fitness(θ + σε_k) and fitness(θ − σε_k) sequentially, k = 0..pairs-1
 *     (antithetic / mirrored sampling);
 *  3. centered-rank shaping over all 2·pairs fitnesses: rank / (N − 1) − 0.5 ∈ [−0.5, 0.5],
 *     ties share their average rank, non-finite fitness (NaN, ±∞) ranks below every finite value;
 *  4. g = Σ_k (u⁺_k − u⁻_k) ε_k / (2·pairs)   (ascent direction; as in the reference
 *     implementation the 1/σ factor is left out, Adam's scale invariance absorbs it);
 *  5. Adam on the loss gradient  −g + weightDecay · θ  (L2 through the optimizer, as in the
 *     reference implementation):  θ ← θ − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + eps).
 *
 * Everything (including the rank tie-break) is deterministic for a given seed, start point
 * and fitness function. θ is stored as float32; moments and arithmetic in float64.
 */

import { Rng, type RngState } from "./rng.js"

export interface EsConfig {
  /** Number of antithetic pairs per iteration (2·pairs fitness calls). */
  readonly pairs: number
  /** Noise standard deviation σ. */
  readonly sigma: number
  /** Adam learning rate. */
  readonly learningRate: number
  /** Adam β1, default 0.9 */
  readonly beta1?: number
  /** Adam β2, default 0.999 */
  readonly beta2?: number
  /** Adam ε, default 1e-8 */
  readonly epsilon?: number
  /** L2 coefficient added to the loss gradient, default 0 */
  readonly weightDecay?: number
  readonly seed: number
}

export interface EsIterationStats {
  /** 1-based iteration number just completed. */
  readonly iteration: number
  readonly meanFitness: number
  readonly maxFitness: number
  readonly minFitness: number
  /** Count of non-finite fitness values this iteration. */
  readonly nonFinite: number
  /** ‖g‖₂ of the shaped ascent direction. */
  readonly gradNorm: number
  /** ‖Δθ‖₂ of the applied update. */
  readonly stepNorm: number
  /** ‖θ‖₂ after the update. */
  readonly thetaNorm: number
  /** Total fitness evaluations so far. */
  readonly evaluations: number
}

/** Serializable optimizer state for checkpoint / resume. */
export interface EsState {
  readonly theta: Float32Array
  readonly m: Float64Array
  readonly v: Float64Array
  readonly t: number
  readonly evaluations: number
  readonly rng: RngState
}

/**
 * Fitness function: higher is better. Receives a scratch buffer that is overwritten by
 * the next call; copy it if it must be retained. Must not modify it.
 */
export type Fitness = (theta: Float32Array) => number

/**
 * Centered ranks of `values` written into `out`: (rank / (n − 1)) − 0.5, ties averaged,
 * non-finite values below all finite ones (all non-finite values tie with each other).
 * n = 1 gives 0.
 */
export const centeredRanks = (values: ArrayLike<number>, out: Float64Array = new Float64Array(values.length)): Float64Array => {
  const n = values.length
  if (n === 0) return out
  if (n === 1) {
    out[0] = 0
    return out
  }
  const key = (i: number): number => (Number.isFinite(values[i]) ? values[i] : -Infinity)
  const idx = Array.from({ length: n }, (_, i) => i)
  idx.sort((a, b) => key(a) - key(b) || a - b)
  let i = 0
  while (i < n) {
    let j = i
    while (j + 1 < n && key(idx[j + 1]) === key(idx[i])) j++
    const r = (i + j) / 2 / (n - 1) - 0.5
    for (let k = i; k <= j; k++) out[idx[k]] = r
    i = j + 1
  }
  return out
}

export class EvolutionStrategy {
  readonly dim: number
  private readonly cfg: Required<EsConfig>
  private readonly theta: Float32Array
  private readonly m: Float64Array
  private readonly v: Float64Array
  private t = 0
  private evals = 0
  private readonly rng: Rng
  // scratch
  private readonly noise: Float32Array
  private readonly candidate: Float32Array
  private readonly fitness: Float64Array
  private readonly shaped: Float64Array
  private readonly grad: Float64Array

  constructor(theta0: Float32Array, config: EsConfig) {
    const cfg: Required<EsConfig> = {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      ...config
    }
    if (!Number.isInteger(cfg.pairs) || cfg.pairs < 1) throw new RangeError(`EsConfig.pairs must be an integer >= 1, got ${cfg.pairs}`)
    if (!(cfg.sigma > 0)) throw new RangeError(`EsConfig.sigma must be > 0, got ${cfg.sigma}`)
    if (!(cfg.learningRate > 0)) throw new RangeError(`EsConfig.learningRate must be > 0, got ${cfg.learningRate}`)
    if (!(cfg.beta1 >= 0 && cfg.beta1 < 1) || !(cfg.beta2 >= 0 && cfg.beta2 < 1)) throw new RangeError("EsConfig: betas must be in [0, 1)")
    if (!(cfg.epsilon > 0) || !(cfg.weightDecay >= 0)) throw new RangeError("EsConfig: epsilon must be > 0 and weightDecay >= 0")
    if (theta0.length === 0) throw new RangeError("EvolutionStrategy: empty parameter vector")
    this.cfg = cfg
    this.dim = theta0.length
    this.theta = Float32Array.from(theta0)
    this.m = new Float64Array(this.dim)
    this.v = new Float64Array(this.dim)
    this.rng = new Rng(cfg.seed)
    this.noise = new Float32Array(cfg.pairs * this.dim)
    this.candidate = new Float32Array(this.dim)
    this.fitness = new Float64Array(2 * cfg.pairs)
    this.shaped = new Float64Array(2 * cfg.pairs)
    this.grad = new Float64Array(this.dim)
  }

  /** Copy of the current parameters. */
  params(): Float32Array {
    return this.theta.slice()
  }

  get iteration(): number {
    return this.t
  }

  get config(): Readonly<Required<EsConfig>> {
    return this.cfg
  }

  /** Run one iteration, calling `fitness` 2·pairs times sequentially. */
  step(fitness: Fitness): EsIterationStats {
    const { pairs, sigma, learningRate, beta1, beta2, epsilon, weightDecay } = this.cfg
    const n = this.dim
    const theta = this.theta
    const noise = this.noise
    const cand = this.candidate
    const fit = this.fitness

    this.rng.fillNormal(noise)

    let sum = 0
    let finite = 0
    let max = -Infinity
    let min = Infinity
    for (let k = 0; k < pairs; k++) {
      const base = k * n
      for (let sign = 0; sign < 2; sign++) {
        const s = sign === 0 ? sigma : -sigma
        for (let i = 0; i < n; i++) cand[i] = theta[i] + s * noise[base + i]
        const f = fitness(cand)
        fit[2 * k + sign] = f
        if (Number.isFinite(f)) {
          sum += f
          finite++
          if (f > max) max = f
          if (f < min) min = f
        }
      }
    }
    this.evals += 2 * pairs

    const u = centeredRanks(fit, this.shaped)
    const g = this.grad
    g.fill(0)
    const scale = 1 / (2 * pairs)
    for (let k = 0; k < pairs; k++) {
      const w = (u[2 * k] - u[2 * k + 1]) * scale
      if (w === 0) continue
      const base = k * n
      for (let i = 0; i < n; i++) g[i] += w * noise[base + i]
    }

    this.t++
    const t = this.t
    const a = (learningRate * Math.sqrt(1 - Math.pow(beta2, t))) / (1 - Math.pow(beta1, t))
    let gradSq = 0
    let stepSq = 0
    let thetaSq = 0
    for (let i = 0; i < n; i++) {
      gradSq += g[i] * g[i]
      const lossGrad = -g[i] + weightDecay * theta[i]
      this.m[i] = beta1 * this.m[i] + (1 - beta1) * lossGrad
      this.v[i] = beta2 * this.v[i] + (1 - beta2) * lossGrad * lossGrad
      const old = theta[i]
      theta[i] = old - (a * this.m[i]) / (Math.sqrt(this.v[i]) + epsilon)
      const d = theta[i] - old
      stepSq += d * d
      thetaSq += theta[i] * theta[i]
    }

    return {
      iteration: t,
      meanFitness: finite > 0 ? sum / finite : NaN,
      maxFitness: finite > 0 ? max : NaN,
      minFitness: finite > 0 ? min : NaN,
      nonFinite: 2 * pairs - finite,
      gradNorm: Math.sqrt(gradSq),
      stepNorm: Math.sqrt(stepSq),
      thetaNorm: Math.sqrt(thetaSq),
      evaluations: this.evals
    }
  }

  /** Run `iterations` steps; `onIteration` may return false to stop early. */
  run(fitness: Fitness, iterations: number, onIteration?: (stats: EsIterationStats) => boolean | void): EsIterationStats[] {
    const out: EsIterationStats[] = []
    for (let it = 0; it < iterations; it++) {
      const s = this.step(fitness)
      out.push(s)
      if (onIteration !== undefined && onIteration(s) === false) break
    }
    return out
  }

  /** Snapshot (copies) of the full optimizer state. */
  getState(): EsState {
    return {
      theta: this.theta.slice(),
      m: this.m.slice(),
      v: this.v.slice(),
      t: this.t,
      evaluations: this.evals,
      rng: this.rng.getState()
    }
  }

  /** Rebuild an optimizer from a snapshot; continuing is bit-identical to never stopping. */
  static fromState(state: EsState, config: EsConfig): EvolutionStrategy {
    const es = new EvolutionStrategy(state.theta, config)
    if (state.m.length !== es.dim || state.v.length !== es.dim) throw new RangeError("EsState: moment vectors have the wrong length")
    es.m.set(state.m)
    es.v.set(state.v)
    es.t = state.t
    es.evals = state.evaluations
    es.rng.setState(state.rng)
    return es
  }
}
