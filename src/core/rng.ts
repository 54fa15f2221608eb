/**
 * Seeded pseudo-random number generator: xoshiro128** (Blackman & Vigna),
 * 128 bits of state held as four uint32s, seeded through a splitmix32-style mixer.
 *
 * Deterministic across runs and machines: the integer core uses only `Math.imul`,
 * shifts and xors. `normal()` additionally uses `Math.log`/`Math.sqrt`/`Math.cos`/`Math.sin`;
 * V8 implements these with its own portable fdlibm port, so a given Node version
 * yields the same doubles on every platform.
 *
 * Not cryptographically secure.
 */

const TWO_POW_32 = 4294967296
const INV_TWO_POW_32 = 1 / TWO_POW_32
const TWO_PI = 2 * Math.PI

/** Serializable snapshot of an {@link Rng} (for checkpoints). */
export interface RngState {
  /** The four uint32 words of xoshiro128** state. */
  readonly s: readonly [number, number, number, number]
  /** Cached second Box–Muller variate, or null. */
  readonly spare: number | null
}

/** One step of a splitmix32-like mixer (murmur3 fmix32 on a Weyl sequence). */
const mix32 = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

export class Rng {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0
  private spare = 0
  private hasSpare = false

  /**
   * @param seed any finite number; integers in the safe range are used exactly
   *   (the low and high 32 bits both feed the state), others are truncated.
   * @param stream optional stream id: the same seed with different streams gives
   *   unrelated sequences (for per-worker / per-purpose generators).
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed) || !Number.isFinite(stream)) {
      throw new RangeError(`Rng: seed and stream must be finite numbers, got ${seed}, ${stream}`)
    }
    const seedT = Math.trunc(seed)
    const lo = seedT >>> 0
    const hi = Math.floor(seedT / TWO_POW_32) >>> 0
    const st = Math.trunc(stream) >>> 0
    let w = mix32(lo ^ 0x9e3779b9) ^ mix32(hi + 0x632be5ab) ^ mix32(st ^ 0x5bd1e995)
    const next = (): number => {
      w = (w + 0x9e3779b9) | 0
      return mix32(w ^ Math.imul(st, 0x27d4eb2f) ^ hi)
    }
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1 // all-zero state is a fixed point
  }

  /** Next raw 32-bit output as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const s0 = this.s0
    const s1 = this.s1
    const s2 = this.s2
    const s3 = this.s3
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    const n2 = s2 ^ s0
    const n3 = s3 ^ s1
    this.s1 = s1 ^ n2
    this.s0 = s0 ^ n3
    this.s2 = n2 ^ t
    this.s3 = rotl(n3, 11)
    return result
  }

  /** Uniform double in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() * INV_TWO_POW_32
  }

  /** Uniform double in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform()
  }

  /** Standard normal N(0, 1) via Box–Muller; the second variate is cached. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false
      return this.spare
    }
    const u1 = 1 - this.uniform() // (0, 1]: log is finite
    const u2 = this.uniform()
    const r = Math.sqrt(-2 * Math.log(u1))
    const a = TWO_PI * u2
    this.spare = r * Math.sin(a)
    this.hasSpare = true
    return r * Math.cos(a)
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`)
    }
    // Reject the top partial block so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** Fill `out` with independent N(mean, std²) draws (rounded to the array's precision). */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal()
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = xs[i]
      xs[i] = xs[j]
      xs[j] = tmp
    }
    return xs
  }

  /** An independent copy with identical state. */
  clone(): Rng {
    const r = new Rng(0)
    r.setState(this.getState())
    return r
  }

  getState(): RngState {
    return {
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spare: this.hasSpare ? this.spare : null
    }
  }

  setState(state: RngState): void {
    const [a, b, c, d] = state.s
    if ((a | b | c | d) === 0) throw new RangeError("Rng.setState: all-zero state is invalid")
    this.s0 = a | 0
    this.s1 = b | 0
    this.s2 = c | 0
    this.s3 = d | 0
    this.hasSpare = state.spare !== null
    this.spare = state.spare ?? 0
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0)
    r.setState(state)
    return r
  }
}
