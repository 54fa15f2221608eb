import { Either, Schema } from "effect"
import * as YAML from "yaml"
import { describe, expect, it } from "vitest"
import {
  binOf,
  DriftMonitor,
  PSI_FLOOR,
  populationStabilityIndex,
  quantileOf,
  statisticsFromNormalization,
  statisticsFromSample,
  TrainingStatisticsBuilder
} from "../../src/core/drift.js"
import { Rng } from "../../src/core/rng.js"
import { ModelCard, modelCardYaml, type ObservationStats, QUANTILES } from "../../src/domain/Model.js"
import { testCard } from "../support/fixtures.js"

/** `n` observations of [N(0,1), N(100, 5²), 7]: a normal, a shifted normal and a constant. */
const normalSample = (n: number, seed = 3): Array<Array<number>> => {
  const rng = new Rng(seed)
  return Array.from({ length: n }, () => [rng.normal(), 100 + 5 * rng.normal(), 7])
}
const NAMES = ["z", "price", "flag"]

const feed = (monitor: DriftMonitor, rows: ReadonlyArray<ArrayLike<number>>) => rows.map((r) => monitor.observe(r))

describe("training statistics from a sample", () => {
  it("quantiles interpolate linearly, as numpy's default", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(quantileOf(sorted, 0.5)).toBeCloseTo(50.5, 12)
    expect(quantileOf(sorted, 0.01)).toBeCloseTo(1.99, 12)
    expect(quantileOf(sorted, 0.99)).toBeCloseTo(99.01, 12)
    expect(quantileOf([4], 0.3)).toBe(4)
  })

  it("moments and range are exact; quantiles and deciles those of the sample; the constant gets no bins", () => {
    const rows = normalSample(5000)
    const stats = statisticsFromSample(rows, NAMES)!
    expect(stats.source).toBe("sample")
    expect(stats.observations).toBe(5000)
    const z = rows.map((r) => r[0])
    const mean = z.reduce((a, b) => a + b, 0) / z.length
    const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length)
    const [fz, fp, fc] = stats.features
    expect(fz.name).toBe("z")
    expect(fz.mean).toBeCloseTo(mean, 10)
    expect(fz.std).toBeCloseTo(std, 10)
    expect(fz.min).toBe(Math.min(...z))
    expect(fz.max).toBe(Math.max(...z))
    const sorted = [...z].sort((a, b) => a - b)
    expect(fz.p50).toBeCloseTo(quantileOf(sorted, 0.5), 12)
    expect(fz.p01).toBeCloseTo(quantileOf(sorted, 0.01), 12)
    // a normal's quantiles, to sampling error
    expect(fz.p05).toBeCloseTo(-1.645, 1)
    expect(fp.p95).toBeCloseTo(100 + 5 * 1.645, 0)
    expect(fz.edges).toHaveLength(9)
    expect(fz.edges[4]).toBeCloseTo(fz.p50, 12)
    for (const share of fz.shares) expect(share).toBeCloseTo(0.1, 3)
    expect(fc).toMatchObject({ name: "flag", mean: 7, std: 0, min: 7, max: 7, p01: 7, p99: 7, edges: [], shares: [1] })
    expect(fc.psi_baseline).toBeUndefined()
  })

  it("ties merge bin edges; each bin's share is what the sample puts there", () => {
    // 60 % zeros (an empty position), then 1..40
    const rows = [...Array.from({ length: 60 }, () => [0]), ...Array.from({ length: 40 }, (_, i) => [i + 1])]
    const [f] = statisticsFromSample(rows, ["holding"])!.features
    expect(f.edges[0]).toBe(0)
    expect(new Set(f.edges).size).toBe(f.edges.length)
    expect(f.shares[0]).toBeCloseTo(0.6, 12)
    expect(f.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(binOf(f.edges, 0)).toBe(0)
    expect(binOf(f.edges, 1e9)).toBe(f.edges.length)
    expect(binOf(f.edges, NaN)).toBe(f.edges.length)
  })

  it("a sample larger than the reservoir: moments exact, quantiles close, the same seed the same statistics", () => {
    const rows = normalSample(20_000, 5)
    const build = (seed: number) => {
      const b = new TrainingStatisticsBuilder(3, { capacity: 2000, seed })
      for (const r of rows) b.add(r)
      return b.build(NAMES)!
    }
    const whole = statisticsFromSample(rows, NAMES)!
    const a = build(1)
    expect(a).toEqual(build(1))
    expect(a.features[0].p25).not.toBe(build(2).features[0].p25)
    expect(a.features[0].mean).toBeCloseTo(whole.features[0].mean, 10)
    expect(a.features[0].max).toBe(whole.features[0].max)
    expect(Math.abs(a.features[0].p25 - whole.features[0].p25)).toBeLessThan(0.1)
  })

  it("skips observations with a value that is not finite, and says how many", () => {
    const b = new TrainingStatisticsBuilder(2)
    b.add([1, 2])
    b.add([NaN, 3])
    b.add([3, Infinity])
    b.add([5, 4])
    expect(b.count).toBe(2)
    expect(b.skipped).toBe(2)
    expect(b.build(["a", "b"])!.features[1]).toMatchObject({ min: 2, max: 4, mean: 3 })
    expect(new TrainingStatisticsBuilder(1).build(["a"])).toBeUndefined()
  })

  it("PSI baselines: a trending feature's own windows score high, an independent one's low; no window spans two sequences", () => {
    const rng = new Rng(9)
    let walk = 100
    const rows = Array.from({ length: 3000 }, () => [rng.normal(), (walk += rng.normal())])
    const stats = statisticsFromSample(rows, ["noise", "walk"], 300)!
    expect(stats.psi_window).toBe(300)
    const [noise, trend] = stats.features
    expect(noise.psi_baseline!).toBeLessThan(0.25)
    expect(trend.psi_baseline!).toBeGreaterThan(1)
    // the same rows as two sequences, the second one reversed: a window across the joint would see both ends at once
    const b = new TrainingStatisticsBuilder(2, { psiWindow: 300 })
    rows.slice(0, 1500).forEach((r) => b.add(r))
    b.endSequence()
    rows.slice(1500).forEach((r) => b.add(r))
    expect(b.build(["noise", "walk"])!.features[1].psi_baseline!).toBeLessThanOrEqual(trend.psi_baseline! + 1e-12)
    expect(statisticsFromSample(rows.slice(0, 500), ["noise", "walk"], 300)!.psi_window).toBeUndefined()
  })
})

describe("training statistics from VecNormalize's mean and variance", () => {
  it("a normal approximation: range mean ± 4σ, the normal's quantiles and deciles, a tenth in each bin", () => {
    const stats = statisticsFromNormalization({ mean: [10, 5], var: [4, 0] }, ["x", "constant"], 12_345)
    expect(stats).toMatchObject({ source: "vecnormalize", observations: 12_345 })
    expect(stats.psi_window).toBeUndefined()
    const [x, c] = stats.features
    expect(x).toMatchObject({ name: "x", mean: 10, std: 2, min: 2, max: 18, p50: 10 })
    expect(x.p05).toBeCloseTo(10 - 1.644853627 * 2, 9)
    expect(x.p99).toBeCloseTo(10 + 2.326347874 * 2, 9)
    expect(x.edges).toHaveLength(9)
    expect(x.edges[0]).toBeCloseTo(10 - 1.2815515655 * 2, 9)
    expect(x.shares).toEqual(new Array(10).fill(0.1))
    expect(c).toMatchObject({ std: 0, min: 5, max: 5, edges: [], shares: [1] })
  })
})

describe("population stability index", () => {
  it("is Σ (a − e)·ln(a / e), empty bins floored", () => {
    expect(populationStabilityIndex([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * Math.log(2) - 0.25 * Math.log(2 / 3), 12)
    expect(populationStabilityIndex([0.3, 0.7], [0.3, 0.7])).toBe(0)
    expect(populationStabilityIndex([0, 1], [0.5, 0.5])).toBeCloseTo((PSI_FLOOR - 0.5) * Math.log(PSI_FLOOR / 0.5) + 0.5 * Math.log(2), 12)
  })

  it("a window from the training distribution scores low; one shifted by a standard deviation scores past 0.25", () => {
    const stats = statisticsFromSample(normalSample(20_000, 1), NAMES)!
    const same = feed(new DriftMonitor(stats, { window: 1000 }), normalSample(1000, 2))
    const shifted = feed(new DriftMonitor(stats, { window: 1000 }), normalSample(1000, 2).map(([z, p, c]) => [z + 1, p, c]))
    expect(same[998].psi[0]).toBeUndefined() // the window is not full yet
    expect(same[999].psi[0]!).toBeLessThan(0.05)
    expect(shifted[999].psi[0]!).toBeGreaterThan(0.25)
    expect(shifted[999].psi[1]!).toBeLessThan(0.05)
    expect(same[999].drifting).toEqual([])
    expect(shifted[999].drifting.map((d) => [d.feature, d.reason])).toEqual([["z", "psi"]])
    expect(shifted[999].psi[2]).toBeUndefined() // the constant is only range-checked
  })

  it("with a baseline, PSI drift must also pass what the feature's own training windows scored", () => {
    const rng = new Rng(4)
    let walk = 100
    const rows = Array.from({ length: 4000 }, () => [(walk += rng.normal())])
    const stats = statisticsFromSample(rows, ["walk"], 200)!
    // a stretch of the training data itself: high PSI (it trends), but no more than training saw
    const replay = feed(new DriftMonitor(stats), rows.slice(1000, 1400))
    expect(Math.max(...replay.map((r) => r.psi[0] ?? 0))).toBeGreaterThan(0.25)
    expect(replay.flatMap((r) => r.drifting)).toEqual([])
    // without the baseline the same stretch raises PSI drift
    const plain: ObservationStats = { ...stats, features: stats.features.map(({ psi_baseline: _, ...f }) => f) }
    expect(feed(new DriftMonitor(plain), rows.slice(1000, 1400)).some((r) => r.drifting.some((d) => d.reason === "psi"))).toBe(true)
    // a baseline measured over another window does not apply
    expect(feed(new DriftMonitor(stats, { window: 300 }), rows.slice(1000, 1400)).some((r) => r.drifting.length > 0)).toBe(true)
  })
})

describe("the agent's own state", () => {
  it("cash and holdings are range-checked only: a shifted window scores PSI but is no drift", () => {
    const rng = new Rng(6)
    const rows = Array.from({ length: 2000 }, () => [1000 + 100 * rng.normal(), 50 + 10 * rng.normal()])
    const stats = statisticsFromSample(rows, ["cash", "holding[A]"])!
    const shifted = rows.slice(0, 500).map(([c, h]) => [c + 100, h + 10])
    const last = feed(new DriftMonitor(stats, { window: 500 }), shifted)[499]
    expect(last.psi[0]!).toBeGreaterThan(0.25)
    expect(last.psi[1]!).toBeGreaterThan(0.25)
    expect(last.drifting).toEqual([])
    const asMarket = feed(new DriftMonitor(stats, { window: 500, rangeOnly: () => false }), shifted)[499]
    expect(asMarket.drifting.map((d) => d.feature)).toEqual(["cash", "holding[A]"])
    expect(feed(new DriftMonitor(stats), [[1e9, 50]])[0].drifting.map((d) => d.reason)).toEqual(["out_of_range"])
  })
})

describe("DriftMonitor: ranges and episodes", () => {
  const stats = statisticsFromSample(normalSample(5000), NAMES)!
  const [fz] = stats.features
  const width = fz.max - fz.min

  it("a value past the training range by more than the tolerance drifts; within it does not; not finite does", () => {
    const monitor = new DriftMonitor(stats, { window: 10_000, tolerance: 0.1 })
    expect(monitor.observe([fz.max + 0.09 * width, 100, 7]).drifting).toEqual([])
    const out = monitor.observe([fz.max + 0.11 * width, 100, 7.5])
    expect(out.outOfRange).toEqual([0, 2])
    expect(out.drifting).toEqual([
      { feature: "z", index: 0, value: fz.max + 0.11 * width, min: fz.min, max: fz.max, reason: "out_of_range" },
      { feature: "flag", index: 2, value: 7.5, min: 7, max: 7, reason: "out_of_range" }
    ])
    expect(monitor.observe([NaN, 100, 7]).drifting).toMatchObject([{ feature: "z", value: null, reason: "out_of_range" }])
    expect(monitor.observe([fz.min - 0.11 * width, 100, 7]).outOfRange).toEqual([0])
  })

  it("a constant feature (std 0) is only range-checked, against its one value", () => {
    const monitor = new DriftMonitor(stats, { window: 5 })
    const rows = feed(monitor, Array.from({ length: 10 }, () => [0, 100, 7]))
    expect(rows.every((r) => r.psi[2] === undefined && !r.drifting.some((d) => d.feature === "flag"))).toBe(true)
    expect(rows[9].psi[0]).toBeGreaterThan(0) // the others are scored
    expect(monitor.observe([0, 100, 7.001]).outOfRange).toEqual([2])
  })

  it("one start for a persistent drift, nothing while it lasts, an end after the recovery, then a fresh start", () => {
    const monitor = new DriftMonitor(stats, { window: 10_000, recovery: 5 })
    const normal = [0, 100, 7]
    const far = [fz.max + width, 100, 7]
    const events = feed(monitor, [normal, far, far, far, normal, normal, far, normal, normal, normal, normal, normal, normal, far]).map((r) => r.event?.type)
    expect(events).toEqual([undefined, "start", undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, "end", undefined, "start"])
    expect(monitor.isActive).toBe(true)
  })

  it("a feature that starts drifting during an episode joins it once, without a new start", () => {
    const monitor = new DriftMonitor(stats, { window: 10_000, recovery: 3 })
    const both = [fz.max + width, 1000, 7]
    const results = feed(monitor, [[fz.max + width, 100, 7], both, both, [fz.max + width, 100, 7], both])
    expect(results[0].event).toMatchObject({ type: "start", features: [{ feature: "z" }] })
    expect(results[1].event).toMatchObject({ type: "joined", features: [{ feature: "price" }] })
    expect(results.slice(2).map((r) => r.event)).toEqual([undefined, undefined, undefined])
    expect(results.map((r) => r.active)).toEqual([true, true, true, true, true])
  })

  it("refuses settings that cannot work", () => {
    expect(() => new DriftMonitor(stats, { window: 0 })).toThrow(/window/)
    expect(() => new DriftMonitor(stats, { recovery: 0 })).toThrow(/recovery/)
    expect(() => new DriftMonitor(stats).observe([1, 2])).toThrow(/2 values, expected 3/)
  })
})

describe("model.yaml observation_stats", () => {
  const card = testCard(["A"], ["rsi_30"])
  const names = ["cash", "close[A]", "holding[A]", "rsi_30[A]"]
  const rng = new Rng(2)
  const stats = statisticsFromSample(Array.from({ length: 900 }, () => [1000 + rng.normal(), 50 + rng.normal(), 0, 50 + 10 * rng.normal()]), names)!
  const decode = (value: unknown) => Schema.decodeUnknownEither(ModelCard)(value)
  const problem = (value: unknown) => {
    const r = decode(value)
    return Either.isLeft(r) ? r.left.message : "decoded"
  }

  it("round-trips through the YAML the registry writes, one line per feature", () => {
    const text = modelCardYaml({ ...card, observation_stats: stats })
    expect(text.split("\n").filter((l) => l.trimStart().startsWith("- { name:"))).toHaveLength(4)
    const back = decode(YAML.parse(text))
    expect(Either.isRight(back) && back.right.observation_stats).toEqual(stats)
  })

  it("a card without statistics is still valid", () => {
    expect(Either.isRight(decode(card))).toBe(true)
  })

  it("refuses a feature count other than the observation's, min above max, quantiles out of order, bad bins", () => {
    expect(problem({ ...card, observation_stats: { ...stats, features: stats.features.slice(1) } })).toMatch(/has 3 features, the observation has 4 values/)
    const broken = (over: object) => ({ ...card, observation_stats: { ...stats, features: [{ ...stats.features[0], ...over }, ...stats.features.slice(1)] } })
    expect(problem(broken({ min: 2000 }))).toMatch(/cash: p01 .* is below min 2000/)
    expect(problem(broken({ p75: stats.features[0].p25 - 1 }))).toMatch(/cash: p75 .* is below p50/)
    expect(problem(broken({ edges: [2, 1] }))).toMatch(/cash: the bin edges must increase/)
    expect(problem(broken({ shares: [0.5, 0.5] }))).toMatch(/cash: 2 shares for 10 bins/)
    expect(QUANTILES).toEqual(["p01", "p05", "p25", "p50", "p75", "p95", "p99"])
  })
})
