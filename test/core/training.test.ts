import { describe, expect, it } from "vitest"
import { resolveIndicator } from "../../src/core/indicators/index.js"
import { makeTrainingTape, ObservationStats, runEpisode } from "../../src/core/training.js"
import { randomBars } from "../support/fixtures.js"

const sma = (() => {
  const r = resolveIndicator("close_3_sma")
  if (!r.ok) throw new Error(r.error)
  return r.value
})()

describe("training episodes", () => {
  const bars = randomBars(["A", "B"], 50, 5)

  it("aligns the tickers' bars and marks indicator warm-up", () => {
    const gappy = new Map(bars)
    gappy.set("B", bars.get("B")!.filter((_, i) => i !== 10))
    const tape = makeTrainingTape(["A", "B"], gappy, [sma])
    expect(tape.bars).toHaveLength(49)
    expect(tape.bars.every((row) => row[0].time === row[1].time)).toBe(true)
    expect(tape.warm.slice(0, 3)).toEqual([false, false, true])
  })

  it("books what a buy-and-hold policy earns, as the simulated broker fills it", () => {
    const tape = makeTrainingTape(["A", "B"], bars, [sma])
    const settings = {
      layout: "finrl-stock-trading-df" as const,
      rules: { hmax: 10, buyCostPct: 0, sellCostPct: 0 },
      initialCash: 1_000,
      fillPrice: "close" as const,
      slippageBps: 0
    }
    const buyA = runEpisode(tape, 0, tape.bars.length, () => [1, 0], settings)
    expect(buyA[0]).toBe(1_000)
    // every step buys 10 A at the close while cash lasts; equity ends as cash + shares at the last close
    const closeA = tape.bars.map((row) => row[0].close)
    let cash = 1_000
    let shares = 0
    for (let t = 2; t < tape.bars.length; t++) {
      const q = Math.min(10, Math.floor(cash / closeA[t]))
      cash -= q * closeA[t]
      shares += q
    }
    expect(buyA[buyA.length - 1]).toBeCloseTo(cash + shares * closeA[closeA.length - 1], 6)
    const idle = runEpisode(tape, 0, tape.bars.length, () => [0, 0], settings)
    expect(idle.every((e) => e === 1_000)).toBe(true)
  })

  it("collects VecNormalize statistics", () => {
    const stats = new ObservationStats(2)
    for (const x of [[1, 10], [3, 10], [5, 10]]) stats.add(Float64Array.from(x))
    const n = stats.normalization()
    expect(n.mean).toEqual([3, 10])
    expect(n.var[0]).toBeCloseTo(8 / 3, 12)
    expect(n.var[1]).toBe(0)
  })
})
