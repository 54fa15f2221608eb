import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { runBacktest } from "../../src/cli/commands.js"
import { statisticsFromSample } from "../../src/core/drift.js"
import { observationFeatureNames } from "../../src/core/layouts.js"
import { Rng } from "../../src/core/rng.js"
import { ofType, readJournal, type JournalRecord } from "../../src/domain/Journal.js"
import type { ModelCard } from "../../src/domain/Model.js"
import { makeMemoryJournal } from "../../src/layers/JsonlJournal.js"
import { readModelCard } from "../../src/layers/OnnxPolicy.js"
import { DriftMetrics, makeDriftWatch } from "../../src/programs/drift.js"
import { trainAgent } from "../../src/programs/train.js"
import { definitionsOf, randomBars, testCard } from "../support/fixtures.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const T0 = Date.parse("2026-03-02T14:30:00Z")
const STEP = 300_000

/** A one-ticker card whose features are named after `prefix` (metrics are global: each test its own names). */
const cardWithStats = (prefix: string): { card: ModelCard; names: ReadonlyArray<string> } => {
  const card = testCard([prefix], ["rsi_30"])
  const names = observationFeatureNames(card.observation.layout, card.tickers, ["rsi_30"])
  const rng = new Rng(11)
  const rows = Array.from({ length: 2000 }, () => [100_000, 50 + rng.normal(), 0, 50 + 10 * rng.normal()])
  // baselines over the watch's window: what windows of 50 independent draws score anyway is no drift
  return { card: { ...card, observation_stats: statisticsFromSample(rows, names, 50)! }, names }
}

const gauge = (metric: Metric.Metric.Gauge<number>) => Effect.map(Metric.value(metric), (s) => s.value)
const counter = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (s) => s.count)

describe("makeDriftWatch", () => {
  it.effect("journals drift once per episode, naming the features, drift_end after the recovery, and keeps the metrics", () =>
    Effect.gen(function* () {
      const { card, names } = cardWithStats("WTCH")
      const memory = makeMemoryJournal()
      const watch = yield* makeDriftWatch(card, names).pipe(Effect.provide(memory.layer))
      expect(watch.enabled).toBe(true)
      const rng = new Rng(12)
      const normal = () => [100_000, 50 + rng.normal(), 0, 50 + 10 * rng.normal()]
      const far = () => [100_000, 50 * 20 + rng.normal(), 0, 50 + 10 * rng.normal()]
      const plan = [...Array.from({ length: 60 }, normal), ...Array.from({ length: 20 }, far), ...Array.from({ length: 200 }, normal)]
      const activeAt: Array<number> = []
      for (const [k, observation] of plan.entries()) {
        yield* watch.check(observation, T0 + k * STEP, T0 + k * STEP + 1000)
        activeAt.push(yield* gauge(DriftMetrics.active))
      }
      const drift = memory.records.filter((r): r is Extract<JournalRecord, { type: "drift" }> => r.type === "drift")
      const ends = memory.records.filter((r): r is Extract<JournalRecord, { type: "drift_end" }> => r.type === "drift_end")
      expect(drift).toHaveLength(1)
      expect(drift[0].bar_time).toBe(new Date(T0 + 60 * STEP).toISOString())
      expect(drift[0].features.map((f) => [f.feature, f.reason])).toEqual([["close[WTCH]", "out_of_range"]])
      expect(drift[0].features[0]).toMatchObject({ index: 1, min: card.observation_stats!.features[1].min, max: card.observation_stats!.features[1].max })
      expect(drift[0].features[0].value).toBeGreaterThan(900)
      expect(ends).toHaveLength(1)
      expect(ends[0].since).toBe(drift[0].time)
      // the recovery is the window (50): the episode ends no sooner than 50 calm observations after the last far one
      const endAt = plan.findIndex((_, k) => ends[0].bar_time === new Date(T0 + k * STEP).toISOString())
      expect(endAt).toBeGreaterThanOrEqual(80 + 50 - 1)
      expect(activeAt[59]).toBe(0)
      expect(activeAt[60]).toBe(1)
      expect(activeAt[endAt - 1]).toBe(1)
      expect(activeAt[endAt]).toBe(0)
      expect(yield* counter(DriftMetrics.outOfRange.pipe(Metric.tagged("feature", "close[WTCH]")))).toBe(20)
      expect(yield* counter(DriftMetrics.outOfRange.pipe(Metric.tagged("feature", "rsi_30[WTCH]")))).toBe(0)
      // the last window is all normal closes again
      expect(yield* gauge(DriftMetrics.psi.pipe(Metric.tagged("feature", "close[WTCH]")))).toBeLessThan(0.25)
      expect(yield* gauge(DriftMetrics.psi.pipe(Metric.tagged("feature", "rsi_30[WTCH]")))).toBeGreaterThan(0)
    }))

  it.effect("a card without observation_stats gives a watch that does nothing", () =>
    Effect.gen(function* () {
      const card = testCard(["NONE"], ["rsi_30"])
      const memory = makeMemoryJournal()
      const watch = yield* makeDriftWatch(card, observationFeatureNames(card.observation.layout, card.tickers, ["rsi_30"])).pipe(Effect.provide(memory.layer))
      expect(watch.enabled).toBe(false)
      yield* watch.check([1e12, 1e12, 1e12, 1e12], T0, T0)
      expect(memory.records).toEqual([])
      expect(yield* counter(DriftMetrics.outOfRange.pipe(Metric.tagged("feature", "close[NONE]")))).toBe(0)
    }))
})

/** The demo's bars with every price multiplied by `factor` (volumes kept). */
const scaledBars = (factor: number): string => {
  const files: Record<string, string> = {}
  for (const ticker of ["SYNA", "SYNB", "SYNC"]) {
    const [header, ...lines] = fs.readFileSync(path.join(PROJECT, "data/demo", `${ticker}.csv`), "utf8").trimEnd().split("\n")
    const scaled = lines.map((line) => {
      const [date, ...fields] = line.split(",")
      return [date, ...fields.map((v, i) => (i < 4 ? String(Math.round(Number(v) * factor * 100) / 100) : v))].join(",")
    })
    files[`${ticker}.csv`] = [header, ...scaled].join("\n") + "\n"
  }
  return tmpTree(files)
}

/** config/demo.yaml over another bars folder. */
const demoDeployment = (bars: string) =>
  tmpTree({
    "deploy.yaml": fs
      .readFileSync(path.join(PROJECT, "config/demo.yaml"), "utf8")
      .replace("../model_registry/demo/1", path.join(PROJECT, "model_registry/demo/1"))
      .replace("environments/demo.yaml", path.join(PROJECT, "config/environments/demo.yaml"))
      .replace("../data/demo", bars)
      .replace("../out/journal", "journal")
  })

/** Backtests the demo, then replays its decisions' raw observations through a drift watch: the records it journals. */
const driftOfBacktest = (bars: string, options: { readonly start: number; readonly maxSteps: number }) =>
  Effect.gen(function* () {
    const dir = demoDeployment(bars)
    yield* runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt"), options).pipe(Effect.provide(NodeContext.layer))
    const decisions = ofType(readJournal(fs.readFileSync(path.join(dir, "bt/journal.jsonl"))).records, "decision")
    const card = yield* readModelCard(path.join(PROJECT, "model_registry/demo/1"))
    const names = observationFeatureNames(card.observation.layout, card.tickers, card.tech_indicators.map(String))
    const memory = makeMemoryJournal()
    const watch = yield* makeDriftWatch(card, names).pipe(Effect.provide(memory.layer))
    for (const d of decisions) yield* watch.check(d.observation.map((v) => v ?? NaN), Date.parse(d.bar_time), Date.parse(d.time))
    return { decisions: decisions.length, firstBarTime: decisions[0]?.bar_time, records: memory.records }
  })

describe("drift over a backtest of the demo (its decisions' observations)", () => {
  // inside the training period: its closes and indicators are the training's own
  const period = { start: Date.parse("2026-01-06T14:30:00Z"), maxSteps: 450 }

  it.effect("bars scaled ×20 journal one drift at the first decision, naming the price-scaled features; the same period unscaled journals none", () =>
    Effect.gen(function* () {
      const plain = yield* driftOfBacktest(path.join(PROJECT, "data/demo"), period)
      const scaled = yield* driftOfBacktest(scaledBars(20), period)
      expect(plain.decisions).toBe(450)
      expect(scaled.decisions).toBe(450)
      // unscaled: no value leaves its range and no window's PSI passes what training windows scored
      expect(plain.records).toEqual([])
      expect(scaled.records.map((r) => r.type)).toEqual(["drift"])
      const drift = scaled.records[0] as Extract<JournalRecord, { type: "drift" }>
      const named = drift.features.map((f) => f.feature)
      for (const ticker of ["SYNA", "SYNB", "SYNC"]) {
        for (const feature of ["close", "boll_ub", "boll_lb", "close_30_sma", "close_60_sma"]) expect(named).toContain(`${feature}[${ticker}]`)
      }
      // scale-free indicators, cash and (empty) holdings stay in range
      expect(named.filter((n) => /^(rsi_30|cci_30|dx_30|cash|holding)/.test(n))).toEqual([])
      // every one out of its range (a negative macd ×20 below it), at the first decision
      expect(drift.features.filter((f) => f.reason !== "out_of_range" || (f.value! <= f.max && f.value! >= f.min))).toEqual([])
      expect(drift.bar_time).toBe(scaled.firstBarTime)
    }), 60_000)
})

describe("train", () => {
  it.effect("writes observation_stats from its rollouts: every feature named, baselines over the default window, a card that loads", () =>
    Effect.gen(function* () {
      const tickers = ["AAA", "BBB"]
      const indicators = ["macd", "rsi_30"]
      const outDir = path.join(tmpTree({}), "toy", "1")
      yield* trainAgent({
        name: "toy",
        version: "1",
        tickers,
        bars: randomBars(tickers, 900, 3),
        indicatorSpecs: indicators,
        indicators: definitionsOf(indicators),
        environment: { tech_indicators: indicators, hmax: 10, initial_amount: 10_000, buy_cost_pct: 0.001, sell_cost_pct: 0.001, initial_holdings: {} },
        fillPrice: "close",
        slippageBps: 0,
        iterations: 1,
        episodesPerIteration: 1,
        episodeBars: 50,
        seed: 1,
        outDir
      }).pipe(Effect.provide(NodeContext.layer))
      const card = yield* readModelCard(outDir)
      const stats = card.observation_stats!
      expect(stats.source).toBe("sample")
      expect(stats.features.map((f) => f.name)).toEqual(observationFeatureNames("finrl-stock-trading-df", tickers, indicators))
      // three rollouts (the initial policy, a random one, the trained one) of every warm bar
      expect(stats.observations % 3).toBe(0)
      expect(stats.observations).toBeGreaterThan(3 * 800)
      expect(stats.psi_window).toBe(390)
      const close = stats.features[1]
      expect(close.min).toBeGreaterThan(0)
      expect(close.psi_baseline).toBeGreaterThan(0)
      // closes do not depend on the policy: every rollout saw the same ones VecNormalize's mean summarises
      expect(card.normalization!.mean[1]).toBeCloseTo(close.mean, 6)
    }), 30_000)
})
