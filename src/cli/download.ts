/**
 * `download --config FILE --start ISO --end ISO [--out DIR]`, and the bars a simulation needs:
 * `backtest` and `compare` on a folder `download` keeps fetch a missing range when keys are set, and
 * otherwise exit 2 with the command that fetches it.
 */
import { Path } from "@effect/platform"
import { Clock, Console, Duration, Effect, Either } from "effect"
import { downloadTimeframe, fetchPlan, finalUntil, isoTime, type TimeRange, warmupSpan } from "../core/bars-folder.js"
import { DAY } from "../core/nytime.js"
import type { Deployment } from "../config/deployment.js"
import { loadDeployment } from "../config/deployment.js"
import { ConfigError } from "../config/errors.js"
import { KEY_ID_ENV, loadAlpacaKeys, SECRET_KEY_ENV } from "../config/keys.js"
import { intervalMillis } from "../domain/Config.js"
import { AlpacaHistoryLive } from "../layers/AlpacaHistory.js"
import { AlpacaRateLimiterLive, type AlpacaSettingsInput, makeAlpacaSettings } from "../layers/alpaca/client.js"
import { KeysRefused } from "../services/Broker.js"
import { download, type DownloadProgress, type DownloadSummary, fetchedRanges, inspectFolder } from "../programs/download.js"
import { UsageError } from "./options.js"

export interface DownloadOverrides {
  /** Settings over the config's (tests: an emulator's address and keys, a small page). */
  readonly settings?: Partial<AlpacaSettingsInput> | undefined
  /** Draws the progress line; default: on stderr when it is a terminal, else nothing. */
  readonly progress?: ((p: DownloadProgress) => Effect.Effect<void>) | undefined
}

const day = (ms: number) => isoTime(ms).slice(0, 10)

/** One line, redrawn in place: what is being fetched and how much has come. */
export const progressLine = (p: DownloadProgress): string =>
  `downloading ${p.tickers.join(", ")}  ${day(p.range.from)} → ${day(p.range.to)}  (${p.rangeIndex + 1}/${p.ranges})  ${p.total.toLocaleString("en-US")} bars`

const terminalProgress = (): ((p: DownloadProgress) => Effect.Effect<void>) | undefined =>
  process.stderr.isTTY === true ? (p) => Effect.sync(() => process.stderr.write(`\r${progressLine(p)}\x1b[K`)) : undefined

const endProgressLine = (progress: unknown) => (progress === undefined ? Effect.void : Effect.sync(() => process.stderr.write("\r\x1b[K")))

/** The keys file a deployment names (default `api_keys.yaml` beside it). */
const keysFileOf = (deployment: Deployment, path: Path.Path) =>
  path.resolve(path.dirname(deployment.configFile), deployment.config.alpaca.keys ?? "api_keys.yaml")

/** Downloads `range` of the deployment's tickers into `dir` through Alpaca (or what the settings point at). */
export const runDownload = (deployment: Deployment, options: { readonly dir: string; readonly range: TimeRange }, overrides: DownloadOverrides = {}) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const alpaca = deployment.config.alpaca
    const given = overrides.settings
    const keys =
      given?.keyId !== undefined && given.secretKey !== undefined
        ? { keyId: given.keyId, secretKey: given.secretKey, source: "the settings passed to download" }
        : yield* loadAlpacaKeys({ keysFile: keysFileOf(deployment, path) })
    const supervision = deployment.config.supervision
    const settings = makeAlpacaSettings({
      tradingUrl: alpaca.trading_url,
      dataUrl: alpaca.data_url,
      feed: alpaca.feed,
      requestsPerMinute: alpaca.requests_per_minute,
      ...given,
      keyId: keys.keyId,
      secretKey: keys.secretKey,
      backoff: { base: Duration.seconds(supervision.backoff_base_seconds), max: Duration.seconds(supervision.backoff_max_seconds) }
    })
    const terminal = overrides.progress === undefined ? terminalProgress() : undefined
    const progress = overrides.progress ?? terminal
    return yield* download({
      dir: options.dir,
      tickers: deployment.config.tickers,
      range: options.range,
      timeframe: downloadTimeframe(deployment.config.interval),
      feed: alpaca.feed,
      adjustment: alpaca.adjustment,
      progress
    }).pipe(
      Effect.ensuring(endProgressLine(terminal)),
      // refusals name where the keys came from, and the config that asked
      Effect.mapError((e) =>
        e._tag === "KeysRefused"
          ? new KeysRefused({ ...e, source: keys.source === "environment" ? `the environment (${KEY_ID_ENV} / ${SECRET_KEY_ENV})` : keys.source })
          : e._tag === "ConfigError" && e.file === undefined
            ? new ConfigError({ ...e, file: deployment.configFile })
            : e
      ),
      Effect.provide(AlpacaHistoryLive(settings)),
      Effect.provide(AlpacaRateLimiterLive(settings))
    )
  })

export const formatDownload = (s: DownloadSummary, shownDir: string): string => {
  const fetched = s.fetched.length === 0 ? "nothing to fetch: the folder had every bar of the range" : `fetched ${s.fetched.length} range${s.fetched.length === 1 ? "" : "s"}`
  const rows = s.tickers.map((t) =>
    t.bars === 0
      ? `${t.ticker}: no bars (check the symbol, the feed and the dates)`
      : `${t.ticker}: ${t.bars.toLocaleString("en-US")} bars (${t.added >= 0 ? "+" : ""}${t.added.toLocaleString("en-US")}), ${isoTime(t.first!)} → ${isoTime(t.last!)}`
  )
  return [`${fetched} into ${shownDir}`, ...rows].join("\n")
}

/** `download --config FILE --start ISO --end ISO [--out DIR]`: into `--out`, else the config's `data.bars`. */
export const downloadCommand = (options: { readonly config: string; readonly start: number; readonly end: number; readonly out?: string | undefined }) =>
  Effect.gen(function* () {
    const { start, end } = options
    if (end <= start) return yield* new UsageError({ detail: "download: --end must be after --start" })
    const path = yield* Path.Path
    const deployment = yield* loadDeployment(options.config)
    const out = options.out
    const dir = out !== undefined ? path.resolve(out) : deployment.barsDir
    if (dir === undefined) {
      return yield* new ConfigError({ file: deployment.configFile, field: "data.bars", detail: "names no bars folder: set data.bars, or give --out DIR" })
    }
    const summary = yield* runDownload(deployment, { dir, range: { from: start, to: end } })
    yield* Console.log(formatDownload(summary, path.relative(process.cwd(), dir) || "."))
    return 0
  })

/** `path` as the user may type it: relative to the working folder when that is shorter. */
const shownPath = (path: Path.Path, file: string): string => {
  const relative = path.relative(process.cwd(), file)
  return relative.length < file.length ? relative : file
}

/** The command that fetches `range` into the deployment's bars folder, as the user would type it. */
export const downloadHint = (deployment: Deployment, path: Path.Path, range: TimeRange): string =>
  `rl-paper-trader download --config ${shownPath(path, deployment.configFile)} --start ${isoTime(range.from)} --end ${isoTime(range.to)}`

export interface BarsNeeded {
  /** Decisions start here (earlier bars warm the indicators up) … */
  readonly start?: number | undefined
  /** … and end before this. */
  readonly end?: number | undefined
  /** Bars before `start` the indicators (and turbulence) need, as a live session fetches them. */
  readonly warmupBars: number
}

/**
 * Makes sure a simulation's bars are in the deployment's folder. A folder of bars from elsewhere
 * (no `download.json`) is used as it is. A `download` folder (or one that does not exist yet) must
 * cover `[start − warm-up, end)`: without `--start` from its first fetched bar, without `--end` to
 * its last. What it lacks is downloaded when Alpaca keys are set; without keys it is a ConfigError
 * (exit 2) giving the command to run.
 */
export const ensureBars = (deployment: Deployment, needed: BarsNeeded, overrides: DownloadOverrides = {}) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const dir = deployment.barsDir
    const configFile = deployment.configFile
    if (dir === undefined) {
      return yield* new ConfigError({ file: configFile, field: "data.bars", detail: "a simulation needs a bars folder: set data.bars (rl-paper-trader download fills it from Alpaca)" })
    }
    const interval = deployment.config.interval
    const alpaca = deployment.config.alpaca
    const kind = yield* inspectFolder(dir, { feed: alpaca.feed, adjustment: alpaca.adjustment, timeframe: downloadTimeframe(interval) })
    if (kind._tag === "Foreign") return
    const fetched: ReadonlyMap<string, ReadonlyArray<TimeRange>> = kind._tag === "Downloaded" ? yield* fetchedRanges(dir, kind.manifest) : new Map()
    const tickers = deployment.config.tickers
    const ranges = tickers.flatMap((t) => fetched.get(t) ?? [])
    const warmup = warmupSpan(interval, needed.warmupBars, intervalMillis[interval])
    // the warm-up's start rounded down to its UTC day: a command a person can read and retype
    const from = needed.start !== undefined ? Math.floor((needed.start - warmup) / DAY) * DAY : ranges.length === 0 ? undefined : Math.min(...ranges.map((r) => r.from))
    const to = needed.end ?? (ranges.length === 0 ? undefined : Math.max(...ranges.map((r) => r.to)))
    if (from === undefined || to === undefined || to <= from) {
      const which = from === undefined ? "--start" : "--end"
      return yield* new ConfigError({
        file: configFile,
        field: "data.bars",
        detail: `${shownPath(path, dir)} has no bars for this period yet: give ${which}, or run rl-paper-trader download --config ${shownPath(path, configFile)} --start ISO --end ISO`
      })
    }
    const until = finalUntil(downloadTimeframe(interval), yield* Clock.currentTimeMillis)
    const missing = fetchPlan(tickers, fetched, { from, to: Math.min(to, until) })
    if (missing.length === 0) return
    const first = missing[0]
    const what = `bars of ${first.tickers.join(", ")} from ${isoTime(first.ranges[0].from)} to ${isoTime(first.ranges[first.ranges.length - 1].to)}${missing.length > 1 ? " (and of other tickers)" : ""}`
    const hint = downloadHint(deployment, path, { from, to })
    const keys = overrides.settings?.keyId !== undefined ? Either.right(undefined) : yield* Effect.either(loadAlpacaKeys({ keysFile: keysFileOf(deployment, path) }))
    if (Either.isLeft(keys)) {
      return yield* new ConfigError({ file: configFile, field: "data.bars", detail: `${what} are missing from ${shownPath(path, dir)} and no Alpaca keys are set to download them (${keys.left.message}): run ${hint}` })
    }
    yield* Effect.logInfo(`${what} are missing from ${shownPath(path, dir)}: downloading them (${hint})`)
    const summary = yield* runDownload(deployment, { dir, range: { from, to } }, overrides)
    yield* Effect.logInfo(formatDownload(summary, shownPath(path, dir)).replace(/\n/g, "; "))
  })
