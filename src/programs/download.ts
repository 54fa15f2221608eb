/**
 * `download`: historical bars into a bars folder, one `<TICKER>.csv` per ticker in the format the
 * simulator reads, and `download.json` recording what has been fetched. Resumable: only the ranges
 * the folder lacks are fetched, a month of minute bars at a time, each month's files and record
 * written before the next is fetched. Atomic: every file is replaced whole (programs/atomic.ts).
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Data, Effect, Either, ParseResult, Schema } from "effect"
import type { Bar } from "../core/bar.js"
import { parseBarsCsv } from "../core/bars-csv.js"
import {
  chunkRange,
  chunkSpan,
  type DownloadTimeframe,
  fetchPlan,
  finalUntil,
  formatBarsCsv,
  isoTime,
  mergeBars,
  normalizeRanges,
  type TimeRange
} from "../core/bars-folder.js"
import { ConfigError } from "../config/errors.js"
import { BARS_MANIFEST, BarsManifest } from "../domain/BarsManifest.js"
import { BarHistory } from "../services/BarHistory.js"
import { BarsFileError } from "../services/MarketData.js"
import { Progress } from "../services/Progress.js"
import { clearTemporaries, writeFileAtomic } from "./atomic.js"

/** The bars folder could not be read or written (disk full, permissions): a runtime failure. */
export class BarsFolderError extends Data.TaggedError("BarsFolderError")<{ readonly path: string; readonly detail: string }> {
  override get message() {
    return `bars folder ${this.path}: ${this.detail}`
  }
}

export interface DownloadSettings {
  readonly dir: string
  readonly tickers: ReadonlyArray<string>
  /** Bars starting in [from, to); the part not final yet (see `finalUntil`) is left for a later run. */
  readonly range: TimeRange
  readonly timeframe: DownloadTimeframe
  readonly feed: "iex" | "sip"
  readonly adjustment: "raw" | "split" | "dividend" | "all"
  /** After every page: for a terminal's progress line. */
  readonly progress?: ((p: DownloadProgress) => Effect.Effect<void>) | undefined
}

export interface DownloadProgress {
  readonly tickers: ReadonlyArray<string>
  /** The range being fetched, and how many ranges there are in all. */
  readonly range: TimeRange
  readonly rangeIndex: number
  readonly ranges: number
  /** Bars received for this range so far, and before it in this run. */
  readonly bars: number
  readonly total: number
}

export interface TickerSummary {
  readonly ticker: string
  /** Bars in the file now, and how many this run added. */
  readonly bars: number
  readonly added: number
  readonly first: number | undefined
  readonly last: number | undefined
}

export interface DownloadSummary {
  readonly dir: string
  /** The ranges fetched, with their tickers; empty when the folder had everything. */
  readonly fetched: ReadonlyArray<{ readonly tickers: ReadonlyArray<string>; readonly range: TimeRange }>
  readonly tickers: ReadonlyArray<TickerSummary>
  /** Where the fetched ranges end at the latest: bars after it are not final yet. */
  readonly finalUntil: number
}

type Coverage = Map<string, ReadonlyArray<TimeRange>>

const folderError = (path: string) => (e: PlatformError) => new BarsFolderError({ path, detail: e.message })

const decodeManifest = (file: string, text: string): Either.Either<BarsManifest, ConfigError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(new ConfigError({ file, detail: `not JSON (${(e as Error).message}): remove the folder's download.json to download everything again` }))
  }
  return Schema.decodeUnknownEither(BarsManifest)(json).pipe(
    Either.mapLeft((e) => new ConfigError({ file, detail: `not a download record: ${ParseResult.TreeFormatter.formatErrorSync(e).split("\n").slice(-1)[0].trim()}` }))
  )
}

const coverageOf = (manifest: BarsManifest | undefined): Coverage =>
  new Map(Object.entries(manifest?.fetched ?? {}).map(([t, ranges]) => [t, normalizeRanges(ranges.map(([from, to]) => ({ from: Date.parse(from), to: Date.parse(to) })))]))

/** What a bars folder is: new (missing or empty), a `download` folder with its record, or bars from elsewhere. */
export type FolderKind =
  | { readonly _tag: "New" }
  | { readonly _tag: "Downloaded"; readonly manifest: BarsManifest }
  | { readonly _tag: "Foreign"; readonly csvs: ReadonlyArray<string> }

/**
 * What the folder holds. A download record must be of the same feed, adjustment and timeframe as
 * `source`: one folder never mixes sources.
 */
export const inspectFolder = (
  dir: string,
  source: Pick<DownloadSettings, "feed" | "adjustment" | "timeframe">
): Effect.Effect<FolderKind, ConfigError | BarsFolderError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, BARS_MANIFEST)
    if (!(yield* fs.exists(dir).pipe(Effect.mapError(folderError(dir))))) return { _tag: "New" } as const
    if (!(yield* fs.exists(file).pipe(Effect.mapError(folderError(file))))) {
      const csvs = (yield* fs.readDirectory(dir).pipe(Effect.mapError(folderError(dir)))).filter((n) => /\.csv$/i.test(n)).sort()
      return csvs.length === 0 ? ({ _tag: "New" } as const) : ({ _tag: "Foreign", csvs } as const)
    }
    const manifest = yield* fs.readFileString(file).pipe(
      Effect.mapError(folderError(file)),
      Effect.flatMap((text) => decodeManifest(file, text))
    )
    const theirs = `${manifest.feed} feed, ${manifest.adjustment} prices, ${manifest.timeframe} bars`
    const ours = `${source.feed} feed, ${source.adjustment} prices, ${source.timeframe} bars`
    if (theirs !== ours) return yield* new ConfigError({ file, detail: `the folder holds ${theirs}; this config asks for ${ours}: download into another folder` })
    return { _tag: "Downloaded", manifest } as const
  })

/** The folder's download record, none for a new folder; bars files `download` did not write are refused (their ranges are unknown). */
const readFolderRecord = (dir: string, source: Pick<DownloadSettings, "feed" | "adjustment" | "timeframe">) =>
  Effect.flatMap(inspectFolder(dir, source), (kind) => {
    if (kind._tag === "New") return Effect.succeed(undefined)
    if (kind._tag === "Downloaded") return Effect.succeed(kind.manifest)
    const shown = `${kind.csvs.slice(0, 3).join(", ")}${kind.csvs.length > 3 ? ", …" : ""}`
    return Effect.fail(new ConfigError({ file: dir, detail: `holds bars files download did not write (${shown}; no ${BARS_MANIFEST}): download into a new or empty folder` }))
  })

/**
 * What the folder holds of each ticker: the record's ranges, except for a ticker whose file is gone
 * (deleted by hand), which is fetched again.
 */
export const fetchedRanges = (dir: string, manifest: BarsManifest | undefined) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const coverage = coverageOf(manifest)
    for (const ticker of [...coverage.keys()]) {
      const file = path.join(dir, `${ticker}.csv`)
      if (!(yield* fs.exists(file).pipe(Effect.mapError(folderError(file))))) coverage.delete(ticker)
    }
    return coverage
  })

const readBars = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(file).pipe(Effect.mapError(folderError(file))))) return [] as ReadonlyArray<Bar>
    const parsed = parseBarsCsv(yield* fs.readFileString(file).pipe(Effect.mapError(folderError(file))))
    if (parsed.problems.length > 0) return yield* new BarsFileError({ file, problems: parsed.problems })
    return parsed.rows.map(({ time, open, high, low, close, volume }): Bar => ({ time, open, high, low, close, volume }))
  })

const writeRecord = (dir: string, settings: DownloadSettings, coverage: Coverage) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const fetched = Object.fromEntries([...coverage].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, ranges]) => [t, ranges.map((r) => [isoTime(r.from), isoTime(r.to)])]))
    const manifest = { source: "alpaca", feed: settings.feed, adjustment: settings.adjustment, timeframe: settings.timeframe, fetched }
    const file = path.join(dir, BARS_MANIFEST)
    yield* writeFileAtomic(file, JSON.stringify(manifest, null, 2) + "\n").pipe(Effect.mapError(folderError(file)))
  })

/** Downloads what the folder lacks of `settings.range` for every ticker; see the module comment. */
export const download = (settings: DownloadSettings) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const history = yield* BarHistory
    const { dir } = settings
    const manifest = yield* readFolderRecord(dir, settings)
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(folderError(dir)))
    const stale = yield* clearTemporaries(dir).pipe(Effect.mapError(folderError(dir)))
    if (stale.length > 0) yield* Effect.logInfo(`download: removed ${stale.length} unfinished file(s) a stopped run left in ${dir}`)

    const coverage: Coverage = yield* fetchedRanges(dir, manifest)
    const until = finalUntil(settings.timeframe, yield* Clock.currentTimeMillis)
    const want = { from: settings.range.from, to: Math.min(settings.range.to, until) }
    const work = fetchPlan(settings.tickers, coverage, want).flatMap((group) =>
      group.ranges.flatMap((r) => chunkRange(r, chunkSpan(settings.timeframe))).map((range) => ({ tickers: group.tickers, range }))
    )
    const file = (ticker: string) => path.join(dir, `${ticker}.csv`)
    const before = new Map<string, number>()
    for (const ticker of settings.tickers) before.set(ticker, (yield* readBars(file(ticker))).length)

    const progress = yield* Progress
    yield* progress.start("download", work.length)
    let total = 0
    for (const [index, item] of work.entries()) {
      const fetched = yield* history.bars({
        symbols: item.tickers,
        timeframe: settings.timeframe,
        start: item.range.from,
        end: item.range.to,
        feed: settings.feed,
        adjustment: settings.adjustment,
        onPage: (bars) => settings.progress?.({ tickers: item.tickers, range: item.range, rangeIndex: index, ranges: work.length, bars, total: total + bars }) ?? Effect.void
      })
      for (const ticker of item.tickers) {
        const fresh = fetched.get(ticker) ?? []
        total += fresh.length
        const merged = mergeBars(yield* readBars(file(ticker)), fresh)
        yield* writeFileAtomic(file(ticker), formatBarsCsv(merged)).pipe(Effect.mapError(folderError(file(ticker))))
        coverage.set(ticker, normalizeRanges([...(coverage.get(ticker) ?? []), item.range]))
      }
      // the record follows the files: a crash between them only fetches this range again
      yield* writeRecord(dir, settings, coverage)
      yield* progress.advance(1, `${item.tickers.join(",")} ${isoTime(item.range.from).slice(0, 10)} → ${isoTime(item.range.to).slice(0, 10)}`)
    }
    // every ticker has its file, even one the range held no bars of
    for (const ticker of settings.tickers) {
      if (!(yield* fs.exists(file(ticker)).pipe(Effect.mapError(folderError(file(ticker)))))) {
        yield* writeFileAtomic(file(ticker), formatBarsCsv([])).pipe(Effect.mapError(folderError(file(ticker))))
      }
    }
    if (manifest === undefined && work.length === 0) yield* writeRecord(dir, settings, coverage)

    const tickers: Array<TickerSummary> = []
    for (const ticker of settings.tickers) {
      const bars = yield* readBars(file(ticker))
      tickers.push({ ticker, bars: bars.length, added: bars.length - (before.get(ticker) ?? 0), first: bars[0]?.time, last: bars[bars.length - 1]?.time })
    }
    return { dir, fetched: work, tickers, finalUntil: until } satisfies DownloadSummary
  }).pipe(Effect.ensuring(Effect.flatMap(Progress, (progress) => progress.done)))
