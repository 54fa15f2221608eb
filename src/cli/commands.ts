import { Path } from "@effect/platform"
import { Console, Duration, Effect, Layer } from "effect"
import { modelMismatches } from "../core/compatibility.js"
import { planFeatures } from "../core/feature-plan.js"
import type { RiskLimits } from "../core/risk.js"
import type { RiskConfig } from "../domain/Config.js"
import { type Deployment, loadDeployment } from "../config/deployment.js"
import { ConfigError } from "../config/errors.js"
import { intervalMillis, simulatedTickerFees } from "../domain/Config.js"
import type { IndicatorDefinition } from "../core/indicators/index.js"
import { JsonlJournalLive } from "../layers/JsonlJournal.js"
import { OnnxPolicyLive, readModelCard } from "../layers/OnnxPolicy.js"
import { resolveIndicators } from "../layers/IndicatorFeatureEngine.js"
import { loadBarTape } from "../layers/SimExchange.js"
import { SimulationLive } from "../layers/Simulation.js"
import { withSimClock } from "../layers/SimClock.js"
import { ModelError } from "../services/Policy.js"
import { backtest, type BacktestReport } from "../programs/backtest.js"
import type { SessionGuardLimits } from "../programs/decide.js"
import { type DownloadOverrides, ensureBars } from "./download.js"
import { replayNewsLayer } from "./news.js"
import { TerminalProgress } from "./progress.js"

export const guardLimits = (risk: RiskConfig): SessionGuardLimits => ({
  dailyLossLimit: risk.daily_loss_limit,
  maxConsecutiveRejections: risk.max_consecutive_rejections,
  breakerCooldownSteps: risk.breaker_cooldown_steps,
  maxConsecutivePolicyErrors: risk.max_consecutive_policy_errors
})

export const riskLimits = (risk: RiskConfig): RiskLimits => ({
  maxPositionValue: risk.max_position_value,
  maxOrderValue: risk.max_order_value,
  maxGrossExposure: risk.max_gross_exposure,
  maxOrdersPerStep: risk.max_orders_per_step
})


/**
 * The deployment's model card, checked to fit it (tickers, indicators, hmax, and FinRL's
 * `state_space` when the environment file states it), and its indicators resolved.
 */
export const checkModelFit = (deployment: Deployment) =>
  Effect.gen(function* () {
    const env = deployment.environment
    const card = yield* readModelCard(deployment.modelDir)
    const mismatches = modelMismatches(card, { tickers: deployment.config.tickers, indicators: env.tech_indicators, hmax: env.hmax })
    if (mismatches.length > 0) {
      return yield* new ModelError({ modelDir: deployment.modelDir, detail: `does not fit ${deployment.configFile}: ${mismatches.join("; ")}` })
    }
    if (env.state_space !== undefined && env.state_space !== card.observation.size) {
      return yield* new ConfigError({
        file: deployment.environmentFile,
        field: "state_space",
        detail: `is ${env.state_space}, but the model's observation has ${card.observation.size} values (${card.observation.layout}, observation.size in ${deployment.modelDir}/model.yaml)`
      })
    }
    const indicators = resolveIndicators(env.tech_indicators)
    if (typeof indicators === "string") {
      return yield* new ConfigError({ file: deployment.environmentFile, field: "tech_indicators", detail: indicators })
    }
    const plan = planFeatures(card.tech_indicators)
    const newsFeatures = typeof plan === "string" ? [] : plan.news.map((f) => f.name)
    if (newsFeatures.length > 0 && deployment.news === undefined) {
      return yield* new ConfigError({
        file: deployment.configFile,
        field: "news",
        detail: `is missing: the model reads news features (${newsFeatures.join(", ")}); add \`news:\` (a \`file:\` to replay in backtests; live trading reads Alpaca's news)`
      })
    }
    return { card, indicators, newsFeatures }
  })

/** Bars a session reads before its first decision: as the live session fetches (src/programs/decide.ts). */
export const warmupBarsFor = (indicators: ReadonlyArray<IndicatorDefinition>, usesTurbulence: boolean): number =>
  Math.max(3 * Math.max(0, ...indicators.map((d) => d.warmupBars)), usesTurbulence ? 253 : 0)

/**
 * The simulated market, broker and indicators of a deployment. SimulationLive (src/layers/Simulation.ts)
 * with the environment's initial holdings (FinRL's `num_stock_shares`), which it cannot take yet.
 */
export interface SimulationOptions {
  readonly start?: number | undefined
  readonly end?: number | undefined
  /** How missing bars are downloaded (tests: an emulator's address and keys). */
  readonly download?: DownloadOverrides | undefined
}

/**
 * The deployment's bars for a simulation of [start, end) and its warm-up: a folder `download` keeps
 * gets what it lacks first (see `ensureBars`). Returns the model fit it checked on the way.
 */
export const ensureSimulationBars = (deployment: Deployment, options: SimulationOptions) =>
  Effect.gen(function* () {
    const fit = yield* checkModelFit(deployment)
    const usesTurbulence = deployment.environment.turbulence_threshold != null || fit.card.observation.layout === "finrl-stock-trading-np"
    yield* ensureBars(deployment, { start: options.start, end: options.end, warmupBars: warmupBarsFor(fit.indicators, usesTurbulence) }, options.download)
    return fit
  })

/** Loads a deployment and everything a simulation of it needs, checked against its model. */
export const prepareSimulation = (configFile: string, options: SimulationOptions) =>
  Effect.gen(function* () {
    const deployment = yield* loadDeployment(configFile)
    const env = deployment.environment
    const { card, indicators, newsFeatures } = yield* ensureSimulationBars(deployment, options)
    const barsDir = deployment.barsDir!
    // the whole tape stays loaded: bars before the period warm the indicators, and the calendar
    // (session closes) must not end where the period does
    const tape = yield* loadBarTape(barsDir, card.tickers, intervalMillis[deployment.config.interval])
    if (!tape.times.some((t) => t >= (options.start ?? -Infinity) && t < (options.end ?? Infinity))) {
      return yield* new ConfigError({ file: deployment.configFile, field: "data.bars", detail: "no bars in the chosen period" })
    }
    // the simulated broker books `simulation.fees`; the decision rules keep the environment's costs
    const fees = simulatedTickerFees(deployment.config.simulation, env)
    const news = newsFeatures.length === 0 ? undefined : deployment.news
    if (news !== undefined && news.file === undefined) {
      return yield* new ConfigError({ file: deployment.configFile, field: "news.file", detail: `is missing: a simulation replays a news file for the model's news features (${newsFeatures.join(", ")})` })
    }
    const layer = SimulationLive({ tape, tickers: card.tickers, indicators, environment: env, simulation: deployment.config.simulation, intervalMs: intervalMillis[deployment.config.interval], fees }).pipe(
      Layer.merge(OnnxPolicyLive(deployment.modelDir)),
      Layer.merge(news === undefined ? Layer.empty : replayNewsLayer({ ...news, file: news.file! }, card.tickers))
    )
    return { deployment, card, tape, layer }
  })

/** `backtest`: the deployment over its bars, a journal and a report in `out`. */
export const backtestCommand = (options: {
  readonly config: string
  readonly out: string
  readonly start?: number | undefined
  readonly end?: number | undefined
  readonly maxSteps?: number | undefined
}) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const outDir = path.resolve(options.out)
    const report = yield* runBacktest(options.config, outDir, { start: options.start, end: options.end, maxSteps: options.maxSteps }).pipe(Effect.provide(TerminalProgress))
    yield* Console.log(formatReport(report, outDir))
    return 0
  })

export const runBacktest = (
  configFile: string,
  outDir: string,
  options: SimulationOptions & {
    readonly maxSteps?: number | undefined
    /** Decide only on these bar times; the others feed the indicators (compare's exact bars). */
    readonly decideOn?: ReadonlySet<number> | undefined
  }
) =>
  Effect.gen(function* () {
    const { deployment, tape, layer } = yield* prepareSimulation(configFile, options)
    const path = yield* Path.Path
    const env = deployment.environment
    const journal = JsonlJournalLive({ path: path.join(outDir, "journal.jsonl"), sync: false, truncate: true })
    return yield* backtest({
      deploymentId: deployment.deploymentId,
      interval: deployment.config.interval,
      rules: { hmax: env.hmax, buyCostPct: env.buy_cost_pct, sellCostPct: env.sell_cost_pct, turbulenceThreshold: env.turbulence_threshold ?? undefined },
      risk: riskLimits(deployment.config.risk),
      guard: guardLimits(deployment.config.risk),
      maxSteps: options.maxSteps,
      until: options.end,
      decideOn: options.decideOn,
      fees: simulatedTickerFees(deployment.config.simulation, env),
      stopOpeningBeforeClose: Duration.minutes(deployment.config.market.stop_opening_minutes_before_close),
      flattenAtClose: deployment.config.market.flatten_at_close,
      flattenLead: deployment.config.market.flatten_lead_minutes === undefined ? undefined : Duration.minutes(deployment.config.market.flatten_lead_minutes),
      outDir,
      modelDir: deployment.modelDir
    }).pipe(withSimClock(options.start ?? tape.times[0]), Effect.provide(Layer.merge(layer, journal)))
  })

const pct = (x: number) => `${(x * 100).toFixed(2)} %`
const money = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })

export const formatReport = (r: BacktestReport, outDir: string): string =>
  [
    `steps ${r.steps}  orders ${r.orders}  fills ${r.fills}  rejections ${r.rejections}`,
    `equity ${money(r.initial_equity)} → ${money(r.final_equity)} (${r.total_return >= 0 ? "+" : ""}${pct(r.total_return)})`,
    `sharpe ${r.sharpe.toFixed(2)}  max drawdown ${pct(r.max_drawdown)}  turnover ${r.turnover.toFixed(2)}`,
    `benchmarks over the same bars: holding cash +0.00 %, equal-weight buy & hold ${r.buy_and_hold_return >= 0 ? "+" : ""}${pct(r.buy_and_hold_return)}`,
    `journal ${outDir}/journal.jsonl  report ${outDir}/report.html (data: report.json)`
  ].join("\n")
