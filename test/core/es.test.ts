import { describe, expect, it } from "vitest"
import { EvolutionStrategy, centeredRanks, type EsConfig } from "../../src/core/es.js"
import { Rng } from "../../src/core/rng.js"

const DIM = 10
const target = (() => {
  const r = new Rng(2024)
  return Float32Array.from({ length: DIM }, () => r.range(-1, 1))
})()
let calls = 0
const sphere = (th: Float32Array): number => {
  calls++
  let s = 0
  for (let i = 0; i < DIM; i++) s += (th[i] - target[i]) ** 2
  return -s
}
const dist = (th: Float32Array): number => Math.sqrt(-sphere(th))
const cfg = (seed: number, over: Partial<EsConfig> = {}): EsConfig => ({ pairs: 16, sigma: 0.05, learningRate: 0.03, seed, ...over })

describe("centeredRanks", () => {
  it("maps to [-0.5, 0.5] by rank, averages ties, puts non-finite lowest", () => {
    expect(Array.from(centeredRanks([10, -3, 7]))).toEqual([0.5, -0.5, 0])
    expect(Array.from(centeredRanks([1, 5, 5, 9, 0]))).toEqual([-0.25, 0.125, 0.125, 0.5, -0.5])
    const r = Array.from(centeredRanks([NaN, 2, -Infinity, 1]))
    ;[-1 / 3, 0.5, -1 / 3, 1 / 6].forEach((e, i) => expect(r[i]).toBeCloseTo(e, 12))
    expect(Array.from(centeredRanks([4]))).toEqual([0])
  })
})

describe("EvolutionStrategy", () => {
  it("solves the 10-d sphere: distance to target shrinks from ~1.8 to < 0.05 in 300 iterations", () => {
    const es = new EvolutionStrategy(new Float32Array(DIM), cfg(1))
    const d0 = dist(es.params())
    expect(d0).toBeGreaterThan(1)
    calls = 0
    const stats = es.run(sphere, 300)
    expect(calls).toBe(300 * 32)
    expect(stats.at(-1)!.evaluations).toBe(300 * 32)
    const d = dist(es.params())
    expect(d).toBeLessThan(0.05)
    expect(stats.at(-1)!.meanFitness).toBeGreaterThan(stats[0].meanFitness)
    expect(stats.at(-1)!.maxFitness).toBeGreaterThanOrEqual(stats.at(-1)!.meanFitness)
  })

  it("same seed → bit-identical θ and stats; different seed → different θ", () => {
    const runOnce = (seed: number) => {
      const es = new EvolutionStrategy(new Float32Array(DIM), cfg(seed))
      const stats = es.run(sphere, 50)
      return { theta: es.params(), stats }
    }
    const a = runOnce(5)
    const b = runOnce(5)
    const c = runOnce(6)
    expect(Array.from(b.theta)).toEqual(Array.from(a.theta))
    expect(b.stats).toEqual(a.stats)
    expect(Array.from(c.theta)).not.toEqual(Array.from(a.theta))
  })

  it("evaluates mirrored candidates θ ± σε", () => {
    const theta0 = Float32Array.from({ length: DIM }, (_, i) => i / 10)
    const seen: Float32Array[] = []
    const es = new EvolutionStrategy(theta0, cfg(9, { pairs: 3, sigma: 0.2 }))
    es.step((th) => {
      seen.push(th.slice())
      return sphere(th)
    })
    expect(seen.length).toBe(6)
    for (let k = 0; k < 3; k++) {
      const plus = seen[2 * k]
      const minus = seen[2 * k + 1]
      let diffSq = 0
      for (let i = 0; i < DIM; i++) {
        expect((plus[i] + minus[i]) / 2).toBeCloseTo(theta0[i], 6)
        diffSq += (plus[i] - minus[i]) ** 2
      }
      expect(diffSq).toBeGreaterThan(0)
    }
  })

  it("a fitness that ignores θ (all ties) leaves θ unchanged; NaN fitness is tolerated", () => {
    const theta0 = Float32Array.from({ length: DIM }, (_, i) => i - 4)
    const es = new EvolutionStrategy(theta0, cfg(3))
    const st = es.run(() => 1.5, 5)
    expect(Array.from(es.params())).toEqual(Array.from(theta0))
    expect(st.at(-1)!.gradNorm).toBe(0)
    const es2 = new EvolutionStrategy(new Float32Array(DIM), cfg(3))
    let n = 0
    const s2 = es2.step((th) => (n++ % 4 === 0 ? NaN : sphere(th)))
    expect(s2.nonFinite).toBe(8)
    expect(Number.isFinite(s2.meanFitness)).toBe(true)
    expect(es2.params().every(Number.isFinite)).toBe(true)
  })

  it("weight decay pulls θ toward 0", () => {
    const plain = new EvolutionStrategy(new Float32Array(DIM), cfg(4))
    const decayed = new EvolutionStrategy(new Float32Array(DIM), cfg(4, { weightDecay: 20 }))
    plain.run(sphere, 200)
    decayed.run(sphere, 200)
    const norm = (x: Float32Array) => Math.hypot(...x)
    expect(norm(decayed.params())).toBeLessThan(0.5 * norm(plain.params()))
  })

  it("resuming from getState() continues bit-identically", () => {
    const ref = new EvolutionStrategy(new Float32Array(DIM), cfg(11))
    ref.run(sphere, 40)
    const half = new EvolutionStrategy(new Float32Array(DIM), cfg(11))
    half.run(sphere, 20)
    const snap = structuredClone(half.getState())
    const resumed = EvolutionStrategy.fromState(snap, cfg(11))
    half.run(sphere, 3) // the original keeps going independently
    const st = resumed.run(sphere, 20)
    expect(resumed.iteration).toBe(40)
    expect(st.at(-1)!.evaluations).toBe(40 * 32)
    expect(Array.from(resumed.params())).toEqual(Array.from(ref.params()))
  })

  it("rejects bad configs", () => {
    expect(() => new EvolutionStrategy(new Float32Array(3), cfg(1, { pairs: 0 }))).toThrow(/pairs/)
    expect(() => new EvolutionStrategy(new Float32Array(3), cfg(1, { sigma: 0 }))).toThrow(/sigma/)
    expect(() => new EvolutionStrategy(new Float32Array(0), cfg(1))).toThrow(/empty/)
  })
})
