import { describe, expect, it } from "vitest"
import { buildObservation, layouts, observationFeatureNames, observationSize, sigmoidSign, type PortfolioView } from "../../src/core/layouts.js"

const DF = "finrl-stock-trading-df" as const
const NP = "finrl-stock-trading-np" as const

// 2 tickers (A, B) × 2 indicators (i0, i1); values chosen so power-of-two scaling is exact.
const view = (over: Partial<PortfolioView> = {}): PortfolioView => ({
  cash: 12288,
  closes: [64, 128],
  holdings: [32, 0],
  indicators: [
    [128, 256], // A: i0, i1
    [-64, 12.8] // B: i0, i1
  ],
  turbulence: 50,
  turbulenceThreshold: 99,
  cooldown: [3, 7],
  ...over
})

describe("observationSize", () => {
  it("df layout: 1 + 2N + N·K", () => {
    expect(observationSize(DF, 2, 2)).toBe(9)
    expect(observationSize(DF, 3, 4)).toBe(19)
    expect(observationSize(DF, 30, 8)).toBe(301) // FinRL's Dow-30 tutorial state space
    expect(observationSize(DF, 1, 0)).toBe(3)
    expect(observationSize(DF, 0, 5)).toBe(1)
  })

  it("np layout: 3 + 3N + N·K", () => {
    expect(observationSize(NP, 2, 2)).toBe(13)
    expect(observationSize(NP, 3, 4)).toBe(24)
    expect(observationSize(NP, 30, 8)).toBe(333)
    expect(observationSize(NP, 1, 0)).toBe(6)
    expect(observationSize(NP, 0, 5)).toBe(3)
  })
})

describe("buildObservation", () => {
  it("df layout: [cash, closes, holdings, indicator by indicator], unscaled", () => {
    expect(Array.from(buildObservation(DF, view()))).toEqual([12288, 64, 128, 32, 0, 128, -64, 256, 12.8])
  })

  it("df layout ignores turbulence and cooldown", () => {
    const a = buildObservation(DF, view())
    const b = buildObservation(DF, view({ turbulence: 1e6, turbulenceThreshold: 1, cooldown: [99, 99] }))
    expect(Array.from(b)).toEqual(Array.from(a))
  })

  it("np layout: [cash·2^-12, sigmoid·2^-5, flag, closes·2^-6, holdings·2^-6, cooldown, indicators ticker by ticker ·2^-7]", () => {
    const obs = buildObservation(NP, view())
    expect(obs).toBeInstanceOf(Float64Array)
    expect(obs.length).toBe(13)
    expect(obs[0]).toBe(3)
    // FinRL sigmoid_sign(50, 99) · 2^-5, from numpy
    expect(obs[1]).toBeCloseTo(0.9214529774931394, 14)
    expect(obs[2]).toBe(0)
    expect(Array.from(obs.subarray(3))).toEqual([1, 2, 0.5, 0, 3, 7, 1, 2, -0.5, 0.1])
  })

  it("np layout turbulence flag: 1 at or above the threshold, 0 below or with no threshold", () => {
    expect(buildObservation(NP, view({ turbulence: 99 }))[2]).toBe(1)
    expect(buildObservation(NP, view({ turbulence: 250 }))[2]).toBe(1)
    expect(buildObservation(NP, view({ turbulence: 98.999 }))[2]).toBe(0)
    const none = buildObservation(NP, view({ turbulence: 1e9, turbulenceThreshold: undefined }))
    expect(none[1]).toBe(0)
    expect(none[2]).toBe(0)
  })

  it("np layout turbulence feature at the threshold and far above it", () => {
    expect(buildObservation(NP, view({ turbulence: 99 }))[1]).toBeCloseTo(1.355362075809864, 14)
    expect(buildObservation(NP, view({ turbulence: 1e6 }))[1]).toBeCloseTo(49.5 / 32, 14)
    expect(buildObservation(NP, view({ turbulence: 0 }))[1]).toBe(0)
  })

  it("a 3×1 example keeps ticker order in every segment", () => {
    const v: PortfolioView = {
      cash: 4096,
      closes: [64, 192, 320],
      holdings: [64, 128, 640],
      indicators: [[128], [384], [-1280]],
      turbulence: 0,
      turbulenceThreshold: 10,
      cooldown: [0, 1, 2]
    }
    expect(Array.from(buildObservation(NP, v))).toEqual([1, 0, 0, 1, 3, 5, 1, 2, 10, 0, 1, 2, 1, 3, -10])
    expect(Array.from(buildObservation(DF, v))).toEqual([4096, 64, 192, 320, 64, 128, 640, 128, 384, -1280])
  })
})

describe("sigmoidSign (FinRL sigmoid_sign)", () => {
  it("matches numpy values", () => {
    expect(sigmoidSign(99, 99)).toBeCloseTo(43.371586425915645, 12)
    expect(sigmoidSign(-99, 99)).toBeCloseTo(-43.37158642591564, 12)
    expect(sigmoidSign(50, 99)).toBeCloseTo(29.48649527978046, 12)
    expect(sigmoidSign(300, 120)).toBeCloseTo(59.86592162645612, 12)
    expect(sigmoidSign(10, 30)).toBeCloseTo(6.366005942702648, 12)
  })

  it("is 0 at 0, odd, and bounded by ±thresh/2", () => {
    expect(sigmoidSign(0, 7)).toBe(0)
    for (const x of [0.5, 3, 40, 1000]) expect(sigmoidSign(-x, 17)).toBeCloseTo(-sigmoidSign(x, 17), 12)
    expect(sigmoidSign(1e6, 99)).toBe(49.5)
    expect(sigmoidSign(-1e6, 99)).toBe(-49.5)
    expect(sigmoidSign(1e6, 20)).toBe(10)
  })
})

describe("observationFeatureNames", () => {
  it("names as many entries as the observation has, for both layouts", () => {
    for (const layout of [DF, NP]) {
      for (const [n, k] of [[1, 0], [2, 2], [3, 8], [30, 8]] as const) {
        const tickers = Array.from({ length: n }, (_, i) => `T${i}`)
        const names = observationFeatureNames(layout, tickers, Array.from({ length: k }, (_, j) => `i${j}`))
        expect(names).toHaveLength(observationSize(layout, n, k))
        expect(new Set(names).size).toBe(names.length)
      }
    }
  })

  it("each name sits where its value does (df: indicator by indicator; np: ticker by ticker, scaled)", () => {
    const v = view()
    const tickers = ["A", "B"]
    const valueOf = (name: string): number => {
      const m = name.match(/^(\w+)\[(\w)\]$/)
      const i = m === null ? -1 : tickers.indexOf(m[2])
      if (name === "cash") return v.cash
      if (name === "turbulence") return sigmoidSign(v.turbulence, v.turbulenceThreshold!)
      if (name === "turbulence_flag") return 0
      if (m![1] === "close") return v.closes[i]
      if (m![1] === "holding") return v.holdings[i]
      if (m![1] === "cooldown") return v.cooldown[i]
      return v.indicators[i][Number(m![1].slice(1))]
    }
    for (const layout of [DF, NP]) {
      const names = observationFeatureNames(layout, tickers, ["i0", "i1"])
      const observation = buildObservation(layout, v)
      const scaleOf = (name: string): number => {
        const source = name === "cash" ? "cash" : name === "turbulence" ? "turbulence-sigmoid" : name.startsWith("close") ? "close" : name.startsWith("holding") ? "holdings" : name.startsWith("cooldown") ? "cooldown" : "indicators"
        const segment = layouts[layout].find((s) => s.source === source)
        return segment !== undefined && "scale" in segment ? segment.scale : 1
      }
      names.forEach((name, at) => expect(observation[at], `${layout} ${name}`).toBeCloseTo(valueOf(name) * scaleOf(name), 12))
    }
    expect(observationFeatureNames(DF, tickers, ["i0", "i1"])).toEqual(["cash", "close[A]", "close[B]", "holding[A]", "holding[B]", "i0[A]", "i0[B]", "i1[A]", "i1[B]"])
    expect(observationFeatureNames(NP, tickers, ["i0", "i1"]).slice(0, 3)).toEqual(["cash", "turbulence", "turbulence_flag"])
  })
})
