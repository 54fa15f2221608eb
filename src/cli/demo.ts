import { FileSystem, Path } from "@effect/platform"
import { Console, Effect } from "effect"
import { barsToCsv, syntheticMarketWithRegimes, tradingDays } from "../core/synthetic-market.js"
import { newsToJsonl, syntheticNews } from "../core/synthetic-news.js"
import { planFeatures } from "../core/feature-plan.js"
import { toNewsEvent, versionKey } from "../domain/News.js"
import { readNewsFile } from "../layers/ReplayNews.js"
import { SentimentScorer } from "../services/SentimentScorer.js"
import { sentimentScorerLayer } from "./news.js"
import { TerminalProgress } from "./progress.js"
import { loadDeployment } from "../config/deployment.js"
import { ConfigError } from "../config/errors.js"
import { readYaml } from "../config/yaml.js"
import { intervalMillis, simulatedFees } from "../domain/Config.js"
import { resolveIndicators } from "../layers/IndicatorFeatureEngine.js"
import { loadBarTape } from "../layers/SimExchange.js"
import { trainAgent } from "../programs/train.js"
import { formatReport, riskLimits, runBacktest } from "./commands.js"
import { emulatorResource } from "./emulator.js"
import type { SessionComparison } from "../core/compare.js"
import { formatComparison, runCompare } from "./compare.js"
import { formatRehearsal, runRehearsal } from "./rehearse.js"
import { formatSession, runTrade } from "./trade.js"
import type { Deployment } from "../config/deployment.js"
import { alpacaSettingsForEmulator } from "./alpaca-emulator.js"
import { projectPath } from "../project.js"

export const DEMO_TICKERS = ["SYNA", "SYNB", "SYNC"] as const

/** The demo: backtests the bundled agents on their training period and on the weeks after it, then rehearses and paper-trades against the emulator. */
export const demoCommand = (options: { readonly out?: string | undefined }) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const outDir = path.resolve(options.out ?? "out/demo")
    const deployment = yield* loadDeployment(projectPath("config/demo.yaml"))
    const sentiment = yield* loadDeployment(projectPath("config/demo-sentiment.yaml"))
    yield* Console.log(
      `rl-paper-trader demo: agent ${path.relative(process.cwd(), deployment.modelDir)} trading ${deployment.config.tickers.join(", ")} ` +
        `on ${deployment.config.interval} bars of a seeded synthetic market (simulated broker, fills at the next bar's open)`
    )
    const split = yield* agentBacktests(deployment, outDir)
    yield* Console.log(
      `\nsecond agent ${path.relative(process.cwd(), sentiment.modelDir)}: the same market and indicators plus three news features per ticker ` +
        `(sentiment_mean_60m, sentiment_decayed_4h, news_count_24h) from ${path.relative(process.cwd(), sentiment.news!.file!)}, scored offline by the lexicon scorer. ` +
        `Honestly: the synthetic news was generated from the same hidden regimes that drive the prices, its tone agreeing with the regime 30 minutes ahead 70 % of the time; ` +
        `real news is rarely this informative, so read its results as a demonstration of the plumbing, not of an edge.`
    )
    yield* agentBacktests(sentiment, path.join(outDir, "sentiment"))
    const rehearsal = yield* rehearsalDemo(deployment, path.join(outDir, "rehearsal"), split, REHEARSAL_STEPS)
    const newsRehearsal = yield* rehearsalDemo(sentiment, path.join(outDir, "sentiment", "rehearsal"), split, SENTIMENT_REHEARSAL_STEPS)
    const paper = yield* paperDemo(deployment, path.join(outDir, "paper"), split)
    yield* Console.log(
      `\nagreement with the backtest of the same bars: rehearsal (virtual clock) ${agreement(rehearsal)}; ` +
        `sentiment agent's rehearsal (news over the emulator's news stream) ${agreement(newsRehearsal)}; ` +
        `free-running paper session (${DEMO_SPEED}× real time) ${agreement(paper)}`
    )
    return 0
  }).pipe(Effect.provide(TerminalProgress))

/** An agent's backtests in and out of sample (split at its model card's `training.until`); returns the split. */
const agentBacktests = (deployment: Deployment, outDir: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const card = (yield* readYaml(path.join(deployment.modelDir, "model.yaml"), "model.yaml")).value as { training?: { until?: string } }
    const split = card.training?.until === undefined ? undefined : Date.parse(card.training.until)
    const runs = split === undefined
      ? [{ label: "whole period", out: outDir, start: undefined, end: undefined }]
      : [
          { label: "in sample (the training period)", out: path.join(outDir, "in-sample"), start: undefined, end: split },
          { label: "out of sample (after training)", out: path.join(outDir, "out-of-sample"), start: split, end: undefined }
        ]
    for (const run of runs) {
      const report = yield* runBacktest(deployment.configFile, run.out, { start: run.start, end: run.end })
      yield* Console.log(`\nbacktest of ${deployment.deploymentId}, ${run.label}:\n${formatReport(report, path.relative(process.cwd(), run.out) || ".")}`)
    }
    return split
  })

const agreement = (c: SessionComparison | undefined): string =>
  c === undefined ? "no decisions" : `${c.identical_orders_pct.toFixed(1)} % identical orders on ${c.decisions.common} bars, ${c.unexplained} unexplained`

const DEMO_SPEED = 600
const DEMO_STEPS = 24
const REHEARSAL_STEPS = 300
const SENTIMENT_REHEARSAL_STEPS = 150

/**
 * A dress rehearsal of the deployment on the out-of-sample days: the live path against the
 * in-process emulator on one virtual clock, then the backtest of the same bars and the comparison.
 */
const rehearsalDemo = (deployment: Deployment, outDir: string, from: number | undefined, steps: number) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const streams = deployment.news === undefined ? "both websockets" : "both websockets and the news stream"
    yield* Console.log(`\nrehearsal of ${deployment.deploymentId}: the live path (official SDK, ${streams}, per-ticker actors) against the emulator on a virtual clock, ${steps} steps:`)
    const result = yield* runRehearsal(deployment, { outDir, start: from, maxSteps: steps })
    yield* Console.log(formatRehearsal(result, undefined, path.relative(process.cwd(), outDir) || "."))
    return result.comparison
  })

/**
 * The seed's main job, without keys or internet: a local Alpaca emulator in this process, replaying
 * the demo market faster than real time, and the trade program against it through the official SDK
 * (REST and both websockets), on real time, for a bounded session.
 */
const paperDemo = (deployment: Deployment, outDir: string, from: number | undefined) =>
  Effect.scoped(
    Effect.gen(function* () {
      const path = yield* Path.Path
      const tape = yield* loadBarTape(deployment.barsDir!, deployment.config.tickers, 60_000)
      const start = tape.times.find((t) => from === undefined || t >= from) ?? tape.times[0]
      // the emulator charges what the deployment's backtest does, so the comparison below is like for like
      const fees = simulatedFees(deployment.config.simulation, deployment.environment)
      const emulator = yield* emulatorResource({
        barsDir: deployment.barsDir!,
        port: 0,
        speed: DEMO_SPEED,
        start,
        slippageBps: deployment.config.simulation.slippage_bps,
        buyCostPct: fees.buyPct,
        sellCostPct: fees.sellPct
      })
      yield* Console.log(
        `\npaper trading against a local Alpaca emulator (${emulator.url}, official SDK, ${DEMO_SPEED}× real time), ${DEMO_STEPS} steps from ${new Date(start).toISOString()}:`
      )
      const accelerated: Deployment = { ...deployment, config: { ...deployment.config, alpaca: { ...deployment.config.alpaca, clock_speed: DEMO_SPEED } } }
      const journalPath = path.join(outDir, "journal.jsonl")
      const { summary } = yield* runTrade(accelerated, { settings: alpacaSettingsForEmulator(emulator), maxSteps: DEMO_STEPS, journalPath, freshJournal: true, fees })
      yield* Console.log(formatSession(summary, path.relative(process.cwd(), journalPath)))
      const comparison = yield* runCompare(deployment.configFile, journalPath, outDir)
      yield* Console.log(`\nthe paper session against a backtest of the same bars:\n${formatComparison(comparison)}`)
      return comparison
    })
  )

/** `train`: evolution strategies over the simulator, writing a model registry folder. */
export const trainCommand = (options: {
  readonly config: string
  readonly out: string
  readonly until?: number | undefined
  readonly iterations?: number | undefined
  readonly seed?: number | undefined
  readonly name?: string | undefined
  readonly version?: string | undefined
}) =>
  Effect.gen(function* () {
    const until = options.until
    const iterations = options.iterations ?? 150
    const seed = options.seed ?? 7
    const path = yield* Path.Path
    const deployment = yield* loadDeployment(options.config)
    if (deployment.barsDir === undefined) {
      return yield* new ConfigError({ file: deployment.configFile, field: "data.bars", detail: "training needs a bars folder" })
    }
    const env = deployment.environment
    const indicators = resolveIndicators(env.tech_indicators)
    if (typeof indicators === "string") return yield* new ConfigError({ file: deployment.environmentFile, field: "tech_indicators", detail: indicators })
    const tickers = [...deployment.config.tickers].sort()
    const tape = yield* loadBarTape(deployment.barsDir, tickers, intervalMillis[deployment.config.interval])
    const bars = new Map([...tape.byTicker].map(([t, b]) => [t, until === undefined ? b : b.filter((x) => x.time < until)]))
    const outDir = path.resolve(options.out)
    const news = yield* trainingNews(deployment, tickers, until)
    const result = yield* trainAgent({
      name: options.name ?? path.basename(path.dirname(outDir)),
      version: options.version ?? path.basename(outDir),
      tickers,
      bars,
      indicatorSpecs: env.tech_indicators,
      indicators,
      environment: env,
      fillPrice: deployment.config.simulation.fill_price,
      slippageBps: deployment.config.simulation.slippage_bps,
      risk: riskLimits(deployment.config.risk),
      iterations,
      seed,
      outDir,
      until,
      news,
      intervalMs: intervalMillis[deployment.config.interval]
    }).pipe(Effect.provide(TerminalProgress))
    yield* Console.log(
      `trained ${result.parameters} parameters on ${result.trainingBars} bars: in-sample return ${(result.initialReturn * 100).toFixed(2)} % → ` +
        `${(result.trainingReturn * 100).toFixed(2)} %\nwrote ${outDir}/model.onnx (sha256 ${result.sha256}) and model.yaml`
    )
    return 0
  })

/**
 * The article versions a model with news features trains on, each received at its `updated_at` (as
 * a backtest replays them), before `until`, scored by the deployment's scorer (cached by version).
 */
const trainingNews = (deployment: Deployment, tickers: ReadonlyArray<string>, until: number | undefined) =>
  Effect.gen(function* () {
    const plan = planFeatures(deployment.environment.tech_indicators)
    if (typeof plan === "string" || plan.news.length === 0) return undefined
    const news = deployment.news
    if (news?.file === undefined) {
      return yield* new ConfigError({ file: deployment.configFile, field: "news.file", detail: `is missing: training replays a news file for the news features (${plan.news.map((f) => f.name).join(", ")})` })
    }
    const articles = yield* readNewsFile(news.file)
    const events = articles
      .map((a) => toNewsEvent(a, Date.parse(a.updated_at)))
      .filter((e) => (until === undefined || e.receivedAt < until) && e.symbols.some((s) => tickers.includes(s)))
    const scorer = yield* Effect.provide(SentimentScorer, sentimentScorerLayer(news))
    const scores = yield* scorer.score(events)
    return { events, scores: new Map(events.map((e, i) => [versionKey(e), scores[i]])) }
  })

/** `synth`: writes the demo's seeded synthetic bars, and `news.jsonl`: articles whose tone leads the regimes a little. */
export const synthCommand = (options: { readonly out: string; readonly seed?: number | undefined }) =>
  Effect.gen(function* () {
    const seed = options.seed ?? 42
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const outDir = path.resolve(options.out)
    // Winter dates only, so New York stays at UTC−5; MLK day and Presidents' Day are holidays.
    const days = tradingDays("2026-01-02", "2026-03-06", ["2026-01-19", "2026-02-16"])
    const { bars: market, regimes } = syntheticMarketWithRegimes({ tickers: DEMO_TICKERS, seed, days, utcOffsetHours: -5 })
    const news = syntheticNews({ seed: seed + 1, bars: market, regimes })
    yield* fs.makeDirectory(outDir, { recursive: true })
    for (const [ticker, bars] of market) yield* fs.writeFileString(path.join(outDir, `${ticker}.csv`), barsToCsv(bars))
    yield* fs.writeFileString(path.join(outDir, "news.jsonl"), newsToJsonl(news))
    yield* Console.log(`wrote ${market.size} tickers × ${days.length} days × 390 one-minute bars and ${news.length} news article versions to ${outDir}`)
    return 0
  })

