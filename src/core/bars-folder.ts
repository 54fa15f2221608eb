/**
 * A bars folder as `download` keeps it: one `<TICKER>.csv` per ticker in the format the simulator
 * reads (core/bars-csv.ts), and which time ranges of each ticker have been fetched, so a second run
 * fetches only what is missing. Pure: ranges, merging, CSV text.
 */
import type { Bar } from "./bar.js"
import { formatNumber } from "./bars-csv.js"
import { DAY, MINUTE } from "./nytime.js"
import type { Interval } from "../domain/Config.js"

/** A half-open time range [from, to), epoch ms. */
export interface TimeRange {
  readonly from: number
  readonly to: number
}

/** Alpaca's timeframes a folder is downloaded at. */
export type DownloadTimeframe = "1Min" | "1Day"

/**
 * Minute bars for every intraday interval (the simulator aggregates them, as live trading aggregates
 * the stream's minutes, and a rehearsal's emulator fills at minute opens, as Alpaca does); daily bars
 * for a daily deployment.
 */
export const downloadTimeframe = (interval: Interval): DownloadTimeframe => (interval === "1d" ? "1Day" : "1Min")

/** Ranges fetched in one go: a month of minute bars (about one 10,000-bar page per ticker), ten years of daily bars. */
export const chunkSpan = (timeframe: DownloadTimeframe): number => (timeframe === "1Min" ? 30 * DAY : 3650 * DAY)

/**
 * Until when bars are final at `now`: minute bars up to 15 minutes ago (the SIP feed on Alpaca's
 * free plan serves nothing newer), daily bars up to the start of the current UTC day (a session's bar
 * is complete after its close). A range after that is never recorded as fetched.
 */
export const finalUntil = (timeframe: DownloadTimeframe, now: number): number =>
  timeframe === "1Min" ? Math.floor(now / MINUTE) * MINUTE - 15 * MINUTE : Math.floor(now / DAY) * DAY

/** Sorted, non-overlapping, adjacent ranges joined. */
export const normalizeRanges = (ranges: ReadonlyArray<TimeRange>): ReadonlyArray<TimeRange> => {
  const sorted = ranges.filter((r) => r.to > r.from).sort((a, b) => a.from - b.from)
  const out: Array<TimeRange> = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && r.from <= last.to) out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) }
    else out.push(r)
  }
  return out
}

/** The parts of `want` that `covered` does not cover. */
export const missingRanges = (covered: ReadonlyArray<TimeRange>, want: TimeRange): ReadonlyArray<TimeRange> => {
  const out: Array<TimeRange> = []
  let at = want.from
  for (const r of normalizeRanges(covered)) {
    if (r.to <= at) continue
    if (r.from >= want.to) break
    if (r.from > at) out.push({ from: at, to: r.from })
    at = Math.max(at, r.to)
  }
  if (at < want.to) out.push({ from: at, to: want.to })
  return out
}

/** `range` cut into consecutive pieces of at most `span`. */
export const chunkRange = (range: TimeRange, span: number): ReadonlyArray<TimeRange> => {
  const out: Array<TimeRange> = []
  for (let from = range.from; from < range.to; from += span) out.push({ from, to: Math.min(range.to, from + span) })
  return out
}

/**
 * What to fetch: the missing ranges of every ticker, tickers with the same missing ranges together
 * (one multi-symbol request serves them all), in the order the tickers are given.
 */
export const fetchPlan = (
  tickers: ReadonlyArray<string>,
  coverage: ReadonlyMap<string, ReadonlyArray<TimeRange>>,
  want: TimeRange
): ReadonlyArray<{ readonly tickers: ReadonlyArray<string>; readonly ranges: ReadonlyArray<TimeRange> }> => {
  const groups = new Map<string, { tickers: Array<string>; ranges: ReadonlyArray<TimeRange> }>()
  for (const ticker of tickers) {
    const ranges = missingRanges(coverage.get(ticker) ?? [], want)
    if (ranges.length === 0) continue
    const key = ranges.map((r) => `${r.from}-${r.to}`).join(",")
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { tickers: [ticker], ranges })
    else group.tickers.push(ticker)
  }
  return [...groups.values()]
}

/** Old and new bars in time order; a new bar replaces an old one of the same time (Alpaca corrects bars). */
export const mergeBars = (old: ReadonlyArray<Bar>, fresh: ReadonlyArray<Bar>): ReadonlyArray<Bar> => {
  const byTime = new Map<number, Bar>()
  for (const b of old) byTime.set(b.time, b)
  for (const b of fresh) byTime.set(b.time, b)
  return [...byTime.values()].sort((a, b) => a.time - b.time)
}

export const BARS_CSV_HEADER = "date,open,high,low,close,volume"

/** ISO 8601 UTC without milliseconds when they are zero, as Alpaca writes `t`. */
export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z")

/** The bars as the simulator reads them: `date` the bar's start, numbers at full precision. */
export const formatBarsCsv = (bars: ReadonlyArray<Bar>): string =>
  [BARS_CSV_HEADER, ...bars.map((b) => [isoTime(b.time), b.open, b.high, b.low, b.close, b.volume].map((v) => (typeof v === "number" ? formatNumber(v) : v)).join(","))].join("\n") + "\n"

/**
 * Calendar time that surely holds `bars` bars of `interval` (weekends, holidays, a margin): how far
 * before a backtest's start its warm-up history reaches.
 */
export const warmupSpan = (interval: Interval, bars: number, intervalMs: number): number => {
  if (bars <= 0) return 0
  const sessions = interval === "1d" ? bars : Math.ceil((bars * intervalMs) / (390 * MINUTE))
  // five sessions a week, about one market holiday in 25 sessions, and a margin
  return (Math.ceil((sessions * 7) / 5) + Math.ceil(sessions / 25) + 4) * DAY
}
