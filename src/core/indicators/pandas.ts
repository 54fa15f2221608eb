/**
 * Incremental re-implementations of the pandas window primitives stockstats is built on,
 * following pandas' own online algorithms (pandas/_libs/window/aggregations.pyx) so the
 * floating-point results agree with pandas to the last bit or close to it:
 *
 * - `EwmMean`: `Series.ewm(com|span|alpha, adjust=True, ignore_na=False, min_periods).mean()`
 * - `RollingMean`: `Series.rolling(window, min_periods).mean()` (Kahan add/remove)
 * - `RollingVar`: `Series.rolling(window, min_periods).var(ddof)` (Welford add/remove with Kahan
 *   compensation); `std()` is its square root with negatives clamped to 0.
 *
 * Every `next` is O(1). Inputs are assumed finite (bars are validated upstream); NaN inputs are
 * skipped the way pandas skips them.
 */

/** Exponentially weighted mean, pandas `adjust=True, ignore_na=False` semantics. */
export class EwmMean {
  private readonly oldWtFactor: number
  private weighted = Number.NaN
  private oldWt = 1
  private nobs = 0
  private started = false

  private constructor(com: number, private readonly minPeriods: number) {
    const alpha = 1 / (1 + com)
    this.oldWtFactor = 1 - alpha
  }

  /** pandas `ewm(span=N)`: com = (span - 1) / 2. */
  static span(span: number, minPeriods: number): EwmMean {
    return new EwmMean((span - 1) / 2, minPeriods)
  }

  /** pandas `ewm(alpha=a)`: com = 1 / a - 1 (stockstats' SMMA uses a = 1 / N). */
  static alpha(alpha: number, minPeriods: number): EwmMean {
    return new EwmMean(1 / alpha - 1, minPeriods)
  }

  next(x: number): number {
    const isObservation = !Number.isNaN(x)
    if (!this.started) {
      this.started = true
      this.weighted = x
      this.nobs = isObservation ? 1 : 0
      this.oldWt = 1
    } else {
      if (isObservation) this.nobs++
      if (!Number.isNaN(this.weighted)) {
        this.oldWt *= this.oldWtFactor
        if (isObservation) {
          // pandas skips the update when equal, to keep constant series exact
          if (this.weighted !== x) {
            this.weighted = (this.oldWt * this.weighted + x) / (this.oldWt + 1)
          }
          this.oldWt += 1
        }
      } else if (isObservation) {
        this.weighted = x
      }
    }
    return this.nobs >= this.minPeriods ? this.weighted : Number.NaN
  }
}

/** Fixed-size ring buffer of the last `size` values. */
export class Ring {
  private readonly buf: Float64Array
  private start = 0
  private count = 0

  constructor(readonly size: number) {
    this.buf = new Float64Array(size)
  }

  get length(): number {
    return this.count
  }

  /** Appends `x`; returns the value evicted to make room, or undefined while not full. */
  push(x: number): number | undefined {
    if (this.count < this.size) {
      this.buf[(this.start + this.count) % this.size] = x
      this.count++
      return undefined
    }
    const evicted = this.buf[this.start]
    this.buf[this.start] = x
    this.start = (this.start + 1) % this.size
    return evicted
  }

  /** The i-th oldest value held (0 = oldest). */
  at(i: number): number {
    return this.buf[(this.start + i) % this.size]
  }
}

const signbit = (x: number): boolean => x < 0 || Object.is(x, -0)

/** pandas `rolling(window, min_periods).mean()`. */
export class RollingMean {
  private readonly ring: Ring
  private nobs = 0
  private sum = 0
  private negCount = 0
  private compAdd = 0
  private compRemove = 0
  private sameRun = 0
  private prev = Number.NaN

  constructor(
    readonly window: number,
    private readonly minPeriods = 1
  ) {
    this.ring = new Ring(window)
  }

  next(x: number): number {
    const evicted = this.ring.push(x)
    if (evicted !== undefined) this.remove(evicted)
    this.add(x)
    if (this.nobs >= this.minPeriods && this.nobs > 0) {
      if (this.sameRun >= this.nobs) return this.prev
      const result = this.sum / this.nobs
      if (this.negCount === 0 && result < 0) return 0
      if (this.negCount === this.nobs && result > 0) return 0
      return result
    }
    return Number.NaN
  }

  private add(x: number): void {
    if (Number.isNaN(x)) return
    this.nobs++
    const y = x - this.compAdd
    const t = this.sum + y
    this.compAdd = t - this.sum - y
    this.sum = t
    if (signbit(x)) this.negCount++
    this.sameRun = x === this.prev ? this.sameRun + 1 : 1
    this.prev = x
  }

  private remove(x: number): void {
    if (Number.isNaN(x)) return
    this.nobs--
    const y = -x - this.compRemove
    const t = this.sum + y
    this.compRemove = t - this.sum - y
    this.sum = t
    if (signbit(x)) this.negCount--
  }
}

/** pandas `rolling(window, min_periods).var(ddof)`, Welford-style add/remove. */
export class RollingVar {
  private readonly ring: Ring
  private nobs = 0
  private mean = 0
  private ssqdm = 0
  private compAdd = 0
  private compRemove = 0
  private sameRun = 0
  private prev = Number.NaN
  private readonly minPeriods: number

  constructor(
    readonly window: number,
    minPeriods = 1,
    private readonly ddof = 1
  ) {
    this.ring = new Ring(window)
    this.minPeriods = Math.max(minPeriods, 1)
  }

  next(x: number): number {
    const evicted = this.ring.push(x)
    if (evicted !== undefined) this.remove(evicted)
    this.add(x)
    if (this.nobs >= this.minPeriods && this.nobs > this.ddof) {
      if (this.nobs === 1 || this.sameRun >= this.nobs) return 0
      return this.ssqdm / (this.nobs - this.ddof)
    }
    return Number.NaN
  }

  private add(x: number): void {
    if (Number.isNaN(x)) return
    this.nobs++
    this.sameRun = x === this.prev ? this.sameRun + 1 : 1
    this.prev = x
    const prevMean = this.mean - this.compAdd
    const y = x - this.compAdd
    const t = y - this.mean
    this.compAdd = t + this.mean - y
    this.mean = this.nobs !== 0 ? this.mean + t / this.nobs : 0
    this.ssqdm += (x - prevMean) * (x - this.mean)
  }

  private remove(x: number): void {
    if (Number.isNaN(x)) return
    this.nobs--
    if (this.nobs !== 0) {
      const prevMean = this.mean - this.compRemove
      const y = x - this.compRemove
      const t = y - this.mean
      this.compRemove = t + this.mean - y
      this.mean = this.mean - t / this.nobs
      this.ssqdm -= (x - prevMean) * (x - this.mean)
    } else {
      this.mean = 0
      this.ssqdm = 0
    }
  }
}

/** pandas `rolling(...).std()`: square root of the rolling variance, negatives clamped to 0. */
export class RollingStd {
  private readonly variance: RollingVar

  constructor(window: number, minPeriods = 1, ddof = 1) {
    this.variance = new RollingVar(window, minPeriods, ddof)
  }

  next(x: number): number {
    const v = this.variance.next(x)
    return v < 0 ? 0 : Math.sqrt(v)
  }
}

/**
 * numpy's pairwise summation (`np.add.reduce` on a contiguous float64 axis), used so that
 * means over a window add up in the same order numpy does.
 */
export const numpySum = (a: ArrayLike<number>, offset = 0, n = a.length - offset): number => {
  if (n < 8) {
    let s = 0
    for (let i = 0; i < n; i++) s += a[offset + i]
    return s
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0]
    for (let j = 0; j < 8; j++) r[j] = a[offset + j]
    let i = 8
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[offset + i + j]
    }
    let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]))
    for (; i < n; i++) s += a[offset + i]
    return s
  }
  let n2 = Math.floor(n / 2)
  n2 -= n2 % 8
  return numpySum(a, offset, n2) + numpySum(a, offset + n2, n - n2)
}
