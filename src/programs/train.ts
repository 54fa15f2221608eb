import { createHash } from "node:crypto"
import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import type { Bar } from "../core/bar.js"
import { EvolutionStrategy } from "../core/es.js"
import type { IndicatorDefinition } from "../core/indicators/index.js"
import { TrainingStatisticsBuilder } from "../core/drift.js"
import { observationFeatureNames, observationSize } from "../core/layouts.js"
import { forward, initParams, type MlpSpec } from "../core/mlp.js"
import { mlpToOnnx } from "../core/onnx-export.js"
import type { RiskLimits } from "../core/risk.js"
import { Rng } from "../core/rng.js"
import { planFeatures } from "../core/feature-plan.js"
import { withNewsFeatures } from "../core/news-tape.js"
import { type EpisodeSettings, makeTrainingTape, ObservationStats, runEpisode } from "../core/training.js"
import type { NewsEvent } from "../domain/News.js"
import { Progress } from "../services/Progress.js"
import type { EnvironmentConfig, IndicatorSpec } from "../domain/Config.js"
import { type LayoutName, modelCardYaml } from "../domain/Model.js"

export interface TrainSettings {
  readonly name: string
  readonly version: string
  readonly tickers: ReadonlyArray<string>
  readonly bars: ReadonlyMap<string, ReadonlyArray<Bar>>
  readonly indicatorSpecs: ReadonlyArray<IndicatorSpec>
  readonly indicators: ReadonlyArray<IndicatorDefinition>
  readonly environment: EnvironmentConfig
  readonly fillPrice: "next_open" | "close"
  readonly slippageBps: number
  readonly risk?: RiskLimits | undefined
  readonly iterations: number
  readonly seed: number
  readonly outDir: string
  /** The training data ends before this time (epoch ms); recorded in model.yaml. */
  readonly until?: number | undefined
  /** For news features among the indicator specs: the article versions and their scores (by version key). */
  readonly news?: { readonly events: ReadonlyArray<NewsEvent>; readonly scores: ReadonlyMap<string, number> } | undefined
  /** The bars' interval in ms: a bar's news features are those visible at its close. */
  readonly intervalMs?: number | undefined
  /** Days per training episode and episodes per ES iteration. */
  readonly episodeBars?: number
  readonly episodesPerIteration?: number
}

export interface TrainResult {
  readonly parameters: number
  readonly trainingBars: number
  readonly trainingReturn: number
  readonly initialReturn: number
  readonly sha256: string
}

/**
 * Trains an MLP policy with evolution strategies over the simulator (the same book, observation
 * and action rules as a backtest), then writes `model.onnx` and `model.yaml` to the registry folder.
 * Observation statistics for VecNormalize-style normalisation come from rollouts before training.
 */
export const trainAgent = (settings: TrainSettings) =>
  Effect.gen(function* () {
    const layout: LayoutName = "finrl-stock-trading-df"
    const env = settings.environment
    const plan = planFeatures(settings.indicatorSpecs)
    if (typeof plan === "string") return yield* Effect.die(new Error(plan))
    // news features sit among the indicators, each bar's as a backtest computes them at its close
    const tape = withNewsFeatures(makeTrainingTape(settings.tickers, settings.bars, settings.indicators), plan, settings.news?.events ?? [], settings.news?.scores ?? new Map(), settings.intervalMs ?? 60_000)
    const bars = tape.bars.length
    const size = observationSize(layout, settings.tickers.length, plan.names.length)
    const spec: MlpSpec = { inputSize: size, hidden: [16, 16], outputSize: settings.tickers.length, activation: "tanh", outputActivation: "tanh" }
    const rng = new Rng(settings.seed)
    const theta0 = initParams(spec, rng)
    const base: EpisodeSettings = {
      layout,
      rules: { hmax: env.hmax, buyCostPct: env.buy_cost_pct, sellCostPct: env.sell_cost_pct },
      initialCash: env.initial_amount,
      fillPrice: settings.fillPrice,
      slippageBps: settings.slippageBps,
      // the agent learns against FinRL's costs whatever the deployment's simulated broker charges
      fees: { buyPct: env.buy_cost_pct, sellPct: env.sell_cost_pct },
      risk: settings.risk
    }

    const stats = new ObservationStats(size)
    // the same rollouts, and the trained policy's below, give the drift alarms' statistics (model.yaml observation_stats)
    const sample = new TrainingStatisticsBuilder(size)
    const collect = (o: Float64Array) => {
      stats.add(o)
      sample.add(o)
    }
    const out = new Float32Array(spec.outputSize)
    runEpisode(tape, 0, bars, (obs) => forward(spec, theta0, obs, out), base, collect)
    sample.endSequence()
    runEpisode(tape, 0, bars, () => settings.tickers.map(() => rng.uniform() * 2 - 1), base, collect)
    const normalization = stats.normalization()
    const episode: EpisodeSettings = { ...base, normalization }
    const totalReturn = (theta: Float32Array, from: number, to: number, observe?: (observation: Float64Array) => void) => {
      const equity = runEpisode(tape, from, to, (obs) => forward(spec, theta, obs, out), episode, observe)
      return equity[equity.length - 1] / equity[0] - 1
    }

    const window = Math.min(settings.episodeBars ?? 390, bars)
    const episodes = settings.episodesPerIteration ?? 6
    const es = new EvolutionStrategy(theta0, { pairs: 16, sigma: 0.05, learningRate: 0.02, weightDecay: 0.005, seed: settings.seed + 1 })
    const initialReturn = totalReturn(theta0, 0, bars)
    yield* Effect.logInfo("training").pipe(Effect.annotateLogs({ bars, parameters: es.dim, iterations: settings.iterations, initialReturn }))
    const progress = yield* Progress
    yield* progress.start("training", settings.iterations)
    for (let iteration = 1; iteration <= settings.iterations; iteration++) {
      const starts = Array.from({ length: episodes }, () => rng.int(Math.max(1, bars - window)))
      const step = es.step((theta) => starts.reduce((s, from) => s + Math.log1p(totalReturn(theta, from, from + window)), 0) / episodes)
      if (iteration % 10 === 0 || iteration === settings.iterations) {
        yield* Effect.logInfo("iteration").pipe(Effect.annotateLogs({ iteration, meanFitness: step.meanFitness, maxFitness: step.maxFitness }))
      }
      yield* progress.advance(1, `iteration ${iteration}`)
    }
    yield* progress.done
    const theta = es.params()
    // the trained policy's own holdings and cash belong in its training distribution too
    sample.endSequence()
    const trainingReturn = totalReturn(theta, 0, bars, (o) => sample.add(o))
    const observationStats = sample.build(observationFeatureNames(layout, settings.tickers, plan.names))

    const onnx = mlpToOnnx(spec, theta, { inputName: "obs", outputName: "action", docString: `${settings.name} v${settings.version}` })
    const sha256 = createHash("sha256").update(onnx).digest("hex")
    const card = {
      name: settings.name,
      version: settings.version,
      description: `MLP policy trained with evolution strategies over the simulator${plan.news.length > 0 ? ", with news features" : ""} (rl-paper-trader train, seed ${settings.seed}).`,
      tickers: settings.tickers,
      tech_indicators: settings.indicatorSpecs,
      observation: { layout, size },
      action: { size: settings.tickers.length, hmax: env.hmax },
      onnx: { file: "model.onnx", sha256, input: "obs", output: "action" },
      normalization,
      ...(observationStats === undefined ? {} : { observation_stats: observationStats }),
      training: {
        method: "OpenAI-ES, 16 antithetic pairs, Adam",
        seed: settings.seed,
        iterations: settings.iterations,
        bars,
        from: new Date(tape.bars[0][0].time).toISOString(),
        to: new Date(tape.bars[bars - 1][0].time).toISOString(),
        ...(settings.until === undefined ? {} : { until: new Date(settings.until).toISOString() }),
        fill_price: settings.fillPrice,
        in_sample_return: trainingReturn
      }
    }
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(settings.outDir, { recursive: true })
    yield* fs.writeFile(path.join(settings.outDir, "model.onnx"), onnx)
    yield* fs.writeFileString(path.join(settings.outDir, "model.yaml"), modelCardYaml(card))
    const result: TrainResult = { parameters: es.dim, trainingBars: bars, trainingReturn, initialReturn, sha256 }
    return result
  })
