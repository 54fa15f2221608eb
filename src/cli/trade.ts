import * as fs from "node:fs"
import { Path } from "@effect/platform"
import { type Clock, Console, Deferred, Duration, Effect, Layer, Schedule } from "effect"
import type { Deployment } from "../config/deployment.js"
import { loadDeployment } from "../config/deployment.js"
import { ConfigError } from "../config/errors.js"
import { KEY_ID_ENV, loadAlpacaKeys, SECRET_KEY_ENV } from "../config/keys.js"
import { AlpacaBrokerLive } from "../layers/AlpacaBroker.js"
import { AlpacaMarketClockLive } from "../layers/AlpacaMarketClock.js"
import { AlpacaMarketDataLive } from "../layers/AlpacaMarketData.js"
import { AlpacaNewsLive } from "../layers/AlpacaNews.js"
import { type AlpacaSettings, AlpacaRateLimiter, makeAlpacaClient, makeAlpacaRateLimiter, makeAlpacaSettings } from "../layers/alpaca/client.js"
import { alpacaCall } from "../layers/alpaca/rest.js"
import { IndicatorFeatureEngineLive } from "../layers/IndicatorFeatureEngine.js"
import { acquireJournalLock } from "../layers/JournalLock.js"
import { JsonlJournalLive } from "../layers/JsonlJournal.js"
import { JournalError } from "../services/Journal.js"
import { keepAnchored, makeMarketTimeClock } from "../layers/MarketTimeClock.js"
import { retryHealable, tradingOp } from "../layers/alpaca/errors.js"
import { BrokerUnavailable, KeysRefused } from "../services/Broker.js"
import { MetricsServerLive } from "../layers/MetricsServer.js"
import { OnnxPolicyLive } from "../layers/OnnxPolicy.js"
import { StatusBoardMemory } from "../layers/StatusBoardMemory.js"
import type { Fees } from "../core/ledger.js"
import { nyDate, nyHourMinute } from "../core/nytime.js"
import type { SessionSummary } from "../programs/decide.js"
import { backoffSchedule, type StepReport, trade } from "../programs/trade.js"
import { writeReport } from "../programs/report.js"
import { checkModelFit, guardLimits, riskLimits } from "./commands.js"
import { sentimentScorerLayer } from "./news.js"

/** Where the keys were read from, for a refusal's message (never the keys). */
const describeKeysSource = (source: string | undefined): string =>
  source === undefined ? "the settings passed to trade" : source === "environment" ? `the environment (${KEY_ID_ENV} / ${SECRET_KEY_ENV})` : `the keys file ${source}`

/** How often the live market time checks this machine's wall clock, and re-anchors to the broker's. */
const WALL_CLOCK_CHECK = Duration.seconds(10)
const REANCHOR_EVERY = Duration.minutes(5)

const PAPER_HOSTS = new Set(["paper-api.alpaca.markets", "127.0.0.1", "localhost", "[::1]", "::1"])

/** Paper only by default: any other trading host needs `allow_live: true` in the config AND `--allow-live`. */
export const checkPaperOnly = (deployment: Deployment, allowLiveFlag: boolean): Effect.Effect<void, ConfigError> => {
  const url = deployment.config.alpaca.trading_url
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return Effect.fail(new ConfigError({ file: deployment.configFile, field: "alpaca.trading_url", detail: `not a URL: ${url}` }))
  }
  if (PAPER_HOSTS.has(host)) return Effect.void
  if (deployment.config.allow_live && allowLiveFlag) return Effect.void
  return Effect.fail(
    new ConfigError({
      file: deployment.configFile,
      field: "alpaca.trading_url",
      detail: `${host} is not Alpaca's paper API: live trading needs allow_live: true in the config and --allow-live on the command line`
    })
  )
}

export interface TradeOverrides {
  readonly settings?: Partial<Omit<AlpacaSettings, "backoff">>
  readonly maxSteps?: number | undefined
  readonly metricsPort?: number | undefined
  readonly journalPath?: string | undefined
  /** Start the journal empty (demo and rehearsal: their journal is an output of this run, like a backtest's). */
  readonly freshJournal?: boolean
  /** Start a new journal, keeping the old one as `journal.jsonl.<timestamp>` (`trade --fresh-journal`). */
  readonly moveAsideJournal?: boolean
  /** Runs the program on this clock (a rehearsal's virtual clock) instead of the broker's time. */
  readonly clock?: Clock.Clock | undefined
  /** What the broker charges per fill, for the ledger (an emulator set up with the config's `simulation.fees`); default none, as Alpaca. */
  readonly fees?: Fees | undefined
  /** After every step taken (`trade` prints a line). */
  readonly onStep?: ((step: StepReport) => Effect.Effect<void>) | undefined
  /** When Ctrl-C or SIGTERM stops the session: its summary and journal, as a session that ran its course returns them. */
  readonly onStopped?: ((summary: SessionSummary, journalPath: string) => Effect.Effect<void>) | undefined
}

/** Wires a deployment to the Alpaca layers and runs the trade program. */
export const runTrade = (deployment: Deployment, overrides: TradeOverrides = {}) =>
  Effect.scoped(Effect.gen(function* () {
    const path = yield* Path.Path
    const env = deployment.environment
    const { card, indicators, newsFeatures } = yield* checkModelFit(deployment)

    // one writer per journal, decided before anything is read or asked of the broker: a second
    // instance exits 2 at once, whatever the broker is doing (down, slow)
    const journalPath = overrides.journalPath ?? path.join(deployment.journalDir, "journal.jsonl")
    yield* Effect.try({
      try: () => fs.mkdirSync(path.dirname(journalPath), { recursive: true }),
      catch: (e) => new JournalError({ path: journalPath, detail: `cannot create its folder: ${e instanceof Error ? e.message : String(e)}` })
    })
    yield* acquireJournalLock(journalPath)

    const alpaca = deployment.config.alpaca
    const keys =
      overrides.settings?.keyId !== undefined && overrides.settings.secretKey !== undefined
        ? { keyId: overrides.settings.keyId, secretKey: overrides.settings.secretKey, source: undefined }
        : yield* loadAlpacaKeys({ keysFile: path.resolve(path.dirname(deployment.configFile), alpaca.keys ?? "api_keys.yaml") })
    const supervision = deployment.config.supervision
    const backoff = { base: Duration.seconds(supervision.backoff_base_seconds), max: Duration.seconds(supervision.backoff_max_seconds) }
    const settings = makeAlpacaSettings({
      tradingUrl: alpaca.trading_url,
      dataUrl: alpaca.data_url,
      dataStreamUrl: alpaca.data_stream_url,
      tradingStreamUrl: alpaca.trading_stream_url,
      feed: alpaca.feed,
      requestsPerMinute: alpaca.requests_per_minute,
      ...overrides.settings,
      keyId: keys.keyId,
      secretKey: keys.secretKey,
      backoff
    })

    // Refused keys end the session (exit 2), saying where they were read from.
    const keysSource = describeKeysSource(keys.source)
    const withKeysSource = <E>(e: E): E => (e instanceof KeysRefused ? (new KeysRefused({ ...e, source: keysSource }) as E) : e)

    // Market time is the broker's: Effect's Clock anchored to it, advanced by a monotonic clock (faster
    // for an accelerated emulator), re-anchored while the session runs.
    // Alpaca's budget is per real minute, whatever the market's speed: the process's one limiter
    // counts on the clock this runs on (real time; a rehearsal's virtual clock, which stands for it
    // there), and every call goes through it, the clock reads below included
    const realTime = overrides.clock ?? (yield* Effect.clock)
    const limiter = yield* makeAlpacaRateLimiter(settings.requestsPerMinute, realTime)
    const client = yield* makeAlpacaClient(settings)
    const clockCall = alpacaCall(limiter, tradingOp("clock"), (init) => client.trading.clock.legacyClock(init)).pipe(
      Effect.map((answer) => Date.parse(String(answer.timestamp))),
      Effect.mapError(withKeysSource)
    )
    const readBrokerNow = retryHealable(clockCall, settings)
    // a broker that answers 5xx or 429 is there but out: the start waits for it (an outage is
    // weather, said at its first failure); one that cannot be reached at all is more likely a wrong
    // URL, which a person must fix
    let waitingSaid = false
    const serverOut = (e: { readonly _tag: string }) =>
      e._tag === "RateLimited" || (e instanceof BrokerUnavailable && e.status !== undefined && (e.status >= 500 || e.status === 408))
    const sayWaiting = (e: { readonly _tag: string; readonly message: string }) =>
      serverOut(e) && !waitingSaid
        ? Effect.logWarning("the broker is not answering; the session starts when it does").pipe(
            Effect.annotateLogs({ error: e.message }),
            Effect.zipRight(Effect.sync(() => void (waitingSaid = true)))
          )
        : Effect.void
    const brokerNow = yield* retryHealable(Effect.tapError(clockCall, sayWaiting), settings).pipe(
      Effect.retry({ while: serverOut, schedule: backoffSchedule(backoff) }),
      Effect.filterOrFail(Number.isFinite, () => new BrokerUnavailable({ operation: "clock", detail: "the answer's timestamp is not a time" })),
      Effect.catchIf(
        (e) => e._tag !== "KeysRefused",
        (e) => new ConfigError({ file: deployment.configFile, field: "alpaca.trading_url", detail: `cannot read the broker's clock at ${settings.tradingUrl}: ${e.message}` })
      )
    )
    const speed = alpaca.clock_speed

    const market = deployment.config.market
    // a model with news features reads Alpaca's news (REST for the warm-up, then the news stream), scored as configured
    const news = newsFeatures.length === 0 || deployment.news === undefined
      ? Layer.empty
      : Layer.merge(AlpacaNewsLive(settings, card.tickers), sentimentScorerLayer(deployment.news))
    const live = Layer.mergeAll(AlpacaBrokerLive(settings), AlpacaMarketDataLive(settings), AlpacaMarketClockLive(settings), news).pipe(
      Layer.provide(Layer.succeed(AlpacaRateLimiter, limiter))
    )
    const layers = Layer.mergeAll(
      live,
      IndicatorFeatureEngineLive(card.tickers, indicators),
      OnnxPolicyLive(deployment.modelDir),
      JsonlJournalLive({
        path: journalPath,
        sync: true,
        truncate: overrides.freshJournal === true,
        lockHeld: true,
        moveAside: overrides.moveAsideJournal === true,
        // the journal refuses another deployment's or model's past (a restart would resume from it)
        owner: { deployment: deployment.deploymentId, model: { name: card.name, version: String(card.version), sha256: card.onnx.sha256 } }
      }),
      overrides.metricsPort === undefined ? Layer.empty : MetricsServerLive(overrides.metricsPort)
      // one board: the program and the streams write to it, `/status` reads it
    ).pipe(Layer.provideMerge(StatusBoardMemory))
    // refused keys found by the re-anchoring end the session as the program's own would
    const keysRefused = yield* Deferred.make<never, KeysRefused>()
    const program = trade({
      deploymentId: deployment.deploymentId,
      interval: deployment.config.interval,
      rules: { hmax: env.hmax, buyCostPct: env.buy_cost_pct, sellCostPct: env.sell_cost_pct, turbulenceThreshold: env.turbulence_threshold ?? undefined },
      risk: riskLimits(deployment.config.risk),
      guard: guardLimits(deployment.config.risk),
      maxSteps: overrides.maxSteps,
      grace: Duration.seconds(market.grace_seconds),
      stopOpeningBeforeClose: Duration.minutes(market.stop_opening_minutes_before_close),
      flattenAtClose: market.flatten_at_close,
      flattenLead: market.flatten_lead_minutes === undefined ? undefined : Duration.minutes(market.flatten_lead_minutes),
      backoff,
      settleTimeout: Duration.seconds(market.settle_timeout_seconds),
      fees: overrides.fees,
      fatal: Deferred.await(keysRefused),
      onStep: overrides.onStep,
      onStopped: overrides.onStopped === undefined ? undefined : (summary) => overrides.onStopped!(summary, journalPath)
    }).pipe(Effect.provide(layers))
    // report.html and report.json beside the journal: at the end, and every few minutes of real time while it runs
    const report = writeReport({
      journal: journalPath,
      out: path.join(path.dirname(journalPath), "report.html"),
      json: path.join(path.dirname(journalPath), "report.json"),
      modelDir: deployment.modelDir
    }).pipe(Effect.catchAll((e) => Effect.logWarning("the report was not written").pipe(Effect.annotateLogs({ error: e.message }))))
    const every = deployment.config.report_every_minutes
    if (every > 0 && overrides.clock === undefined) {
      yield* report.pipe(Effect.delay(Duration.minutes(every)), Effect.repeat(Schedule.spaced(Duration.minutes(every))), Effect.forkScoped)
    }
    const marketTime = makeMarketTimeClock({ marketStart: brokerNow, speed })
    const run = overrides.clock !== undefined
      ? Effect.withClock(program, overrides.clock)
      : Effect.scoped(
          Effect.gen(function* () {
            // beside the program, on the default Clock (real time, whatever the market's speed); the
            // program runs in this fiber, so a stop runs its settle and its last records to the end
            yield* keepAnchored(marketTime, { brokerNow: readBrokerNow, checkEvery: WALL_CLOCK_CHECK, reanchorEvery: REANCHOR_EVERY, isFatal: (e) => e._tag === "KeysRefused" }).pipe(
              Effect.catchAll((e) =>
                Effect.logError("the broker refused the API keys when re-anchoring market time: the session ends").pipe(
                  Effect.annotateLogs({ error: withKeysSource(e).message }),
                  Effect.zipRight(e._tag === "KeysRefused" ? Deferred.fail(keysRefused, e) : Effect.void)
                )
              ),
              Effect.forkScoped
            )
            return yield* Effect.withClock(program, marketTime)
          })
        ).pipe(Effect.mapError(withKeysSource))
    const summary = yield* Effect.ensuring(run, report)
    return { summary, journalPath }
  }))

export const formatSession = (s: SessionSummary, journalPath: string): string => {
  const first = s.equity[0] ?? 0
  const last = s.equity[s.equity.length - 1] ?? first
  return [
    `steps ${s.steps}  orders ${s.orders}  fills ${s.fills}  rejections ${s.rejections}`,
    `equity ${first.toFixed(2)} → ${last.toFixed(2)} (${first === 0 ? "n/a" : `${((last / first - 1) * 100).toFixed(2)} %`})`,
    `journal ${journalPath}`
  ].join("\n")
}

const money = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })

/** One step on one line: the bar's market time (New York), orders sent, fills since the last line, equity, holds. */
export const formatStep = (s: StepReport, tickers: number): string => {
  const holds = s.holds.length === 0 ? "none" : s.holds.length === tickers ? "all" : s.holds.map((h) => h.ticker).join(",")
  return `bar ${nyDate(s.barTime)} ${nyHourMinute(s.barTime)} ET (market time)  step ${s.step}  orders ${s.orders}  fills ${s.fills}  equity ${money(s.equity)}  holds ${holds}`
}

/** `trade --config FILE [--max-steps N] [--metrics-port P] [--allow-live] [--fresh-journal] [--progress]`. */
export const tradeCommand = (options: {
  readonly config: string
  readonly maxSteps?: number | undefined
  readonly metricsPort?: number | undefined
  readonly allowLive: boolean
  readonly freshJournal: boolean
  readonly progress?: boolean | undefined
}) =>
  Effect.gen(function* () {
    const deployment = yield* loadDeployment(options.config)
    yield* checkPaperOnly(deployment, options.allowLive)
    // a line per step on a terminal; a pipe or a log file gets them only when asked
    const lines = options.progress === true || process.stdout.isTTY === true
    const tickers = deployment.config.tickers.length
    const summarize = (summary: SessionSummary, journalPath: string) => Console.log(formatSession(summary, journalPath))
    const { summary, journalPath } = yield* runTrade(deployment, {
      maxSteps: options.maxSteps,
      metricsPort: options.metricsPort,
      moveAsideJournal: options.freshJournal,
      onStep: lines ? (step) => Console.log(formatStep(step, tickers)) : undefined,
      // Ctrl-C and SIGTERM end with the same summary as --max-steps
      onStopped: summarize
    })
    yield* summarize(summary, journalPath)
    return 0
  })

