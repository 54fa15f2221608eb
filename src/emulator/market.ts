/**
 * The emulator's replayed market: per-symbol bar series, the trading calendar
 * derived from them, "published" visibility, and timeframe aggregation.
 *
 * - Trading days are the distinct New York dates that have bars (any symbol).
 * - The native bar length is the most common gap between consecutive bars of
 *   one symbol within one day (falls back to one day when no day has two bars).
 * - A day's session opens at its first bar's start and closes at its last
 *   bar's end (start + bar length).
 * - A native bar is published once its END ≤ market time. An aggregated bar is
 *   published once its bucket has ended (or its session closed) and every
 *   native bar in it is published.
 */
import type { Bar } from "../core/bar.js"
import { nextWeekday, nyDate, nyMidnight } from "../core/nytime.js"

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

/** One trading session derived from the data. */
export interface Session {
  readonly index: number
  /** New York date, `YYYY-MM-DD`. */
  readonly date: string
  readonly open: number
  readonly close: number
}

/** A bar as served over the wire (native or aggregated). */
export interface WireBar {
  readonly t: number
  readonly o: number
  readonly h: number
  readonly l: number
  readonly c: number
  readonly v: number
  readonly n: number
  readonly vw: number
  /** Market time from which the bar may be served. */
  readonly availableAt: number
}

export interface SymbolSeries {
  readonly symbol: string
  readonly bars: ReadonlyArray<Bar>
  /** Bar start times, ascending (for binary search). */
  readonly times: Float64Array
  readonly assetId: string
}

/** A validated timeframe: `ms` is the bucket length, `daily` for calendar-day buckets. */
export interface Timeframe {
  readonly label: string
  readonly ms: number
  readonly daily: boolean
}

/** First index `i` in ascending `xs` with `xs[i] >= x` (or `xs.length`). */
export const lowerBound = (xs: ArrayLike<number>, x: number): number => {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First index `i` in ascending `xs` with `xs[i] > x` (or `xs.length`). */
export const upperBound = (xs: ArrayLike<number>, x: number): number => {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Human label of a bar length in Alpaca's timeframe syntax (`5Min`, `1Hour`, `1Day`). */
export const timeframeLabel = (ms: number): string => {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}Day`
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}Hour`
  if (ms % MINUTE_MS === 0) return `${ms / MINUTE_MS}Min`
  return `${ms}ms`
}

/** Deterministic UUID-shaped asset id for a symbol (stable across runs). */
const assetIdFor = (symbol: string): string => {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  const hex: string[] = []
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < symbol.length; i++) {
      h1 = Math.imul(h1 ^ symbol.charCodeAt(i), 0x01000193) >>> 0
      h2 = Math.imul(h2 ^ (symbol.charCodeAt(i) + round), 0x5bd1e995) >>> 0
    }
    h1 = Math.imul(h1 ^ round, 0x27d4eb2d) >>> 0
    hex.push(((h1 ^ h2) >>> 0).toString(16).padStart(8, "0"))
  }
  const s = hex.join("")
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`
}

export type TimeframeResult = { ok: true; timeframe: Timeframe } | { ok: false; message: string }

export class Market {
  readonly series: ReadonlyMap<string, SymbolSeries>
  readonly symbols: ReadonlyArray<string>
  readonly sessions: ReadonlyArray<Session>
  readonly barMs: number
  readonly firstBarStart: number
  private readonly sessionByDate = new Map<string, Session>()
  private readonly sessionOpens: Float64Array
  private readonly aggCache = new Map<string, { bars: WireBar[]; times: Float64Array; avail: Float64Array }>()

  constructor(input: ReadonlyMap<string, ReadonlyArray<Bar>>) {
    const series = new Map<string, SymbolSeries>()
    for (const [symbol, raw] of input) {
      const bars = [...raw].sort((a, b) => a.time - b.time)
      series.set(symbol, {
        symbol,
        bars,
        times: Float64Array.from(bars, (b) => b.time),
        assetId: assetIdFor(symbol)
      })
    }
    this.series = series
    this.symbols = [...series.keys()].sort()
    this.barMs = inferBarMs(series)

    const byDate = new Map<string, { open: number; close: number }>()
    let first = Number.POSITIVE_INFINITY
    for (const s of series.values()) {
      for (const b of s.bars) {
        first = Math.min(first, b.time)
        const date = nyDate(b.time)
        const day = byDate.get(date)
        const end = b.time + this.barMs
        if (day === undefined) byDate.set(date, { open: b.time, close: end })
        else {
          if (b.time < day.open) day.open = b.time
          if (end > day.close) day.close = end
        }
      }
    }
    this.firstBarStart = Number.isFinite(first) ? first : 0
    const sessions = [...byDate.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([date, d], index): Session => ({ index, date, open: d.open, close: d.close }))
    this.sessions = sessions
    for (const s of sessions) this.sessionByDate.set(s.date, s)
    this.sessionOpens = Float64Array.from(sessions, (s) => s.open)
  }

  get nativeTimeframe(): string {
    return timeframeLabel(this.barMs)
  }

  sessionOn(date: string): Session | undefined {
    return this.sessionByDate.get(date)
  }

  /** The session with open ≤ t < close, if any. */
  sessionAt(t: number): Session | undefined {
    const s = this.latestStartedSession(t)
    return s !== undefined && t < s.close ? s : undefined
  }

  /** The latest session whose open ≤ t (the market's "today"), if any. */
  latestStartedSession(t: number): Session | undefined {
    const i = upperBound(this.sessionOpens, t) - 1
    return i >= 0 ? this.sessions[i] : undefined
  }

  /** The first session whose open > t, if any. */
  nextSessionAfter(t: number): Session | undefined {
    return this.sessions[upperBound(this.sessionOpens, t)]
  }

  isOpen(t: number): boolean {
    return this.sessionAt(t) !== undefined
  }

  /**
   * The next open and close as the clock reports them. Past the end of the
   * data the market stays closed; a synthetic session on the next weekday
   * (same hours as the last real session) is reported so `next_open` is always
   * in the future, but it never actually opens.
   */
  nextOpenClose(t: number): { nextOpen: number; nextClose: number } {
    const current = this.sessionAt(t)
    const next = this.nextSessionAfter(t)
    const synthetic = (): { open: number; close: number } => {
      const last = this.sessions[this.sessions.length - 1]
      const today = nyDate(t)
      const base = last === undefined || last.date < today ? today : last.date
      const date = nextWeekday(base)
      if (last === undefined) {
        return { open: nyMidnight(date) + 9.5 * HOUR_MS, close: nyMidnight(date) + 16 * HOUR_MS }
      }
      const openOffset = last.open - nyMidnight(last.date)
      const closeOffset = last.close - nyMidnight(last.date)
      return { open: nyMidnight(date) + openOffset, close: nyMidnight(date) + closeOffset }
    }
    if (current !== undefined) {
      return { nextOpen: next?.open ?? synthetic().open, nextClose: current.close }
    }
    if (next !== undefined) return { nextOpen: next.open, nextClose: next.close }
    const s = synthetic()
    return { nextOpen: s.open, nextClose: s.close }
  }

  /** The settlement date (T+1) for a session date: the next data session, or next weekday. */
  settlementDate(date: string): string {
    const s = this.sessionByDate.get(date)
    const next = s === undefined ? undefined : this.sessions[s.index + 1]
    return next?.date ?? nextWeekday(date)
  }

  /** Index of the first bar of `symbol` whose start ≥ t. */
  firstBarAtOrAfter(symbol: string, t: number): number {
    const s = this.series.get(symbol)
    return s === undefined ? 0 : lowerBound(s.times, t)
  }

  /** Number of bars of `symbol` published at market time t (end ≤ t). */
  publishedCount(symbol: string, t: number): number {
    const s = this.series.get(symbol)
    return s === undefined ? 0 : upperBound(s.times, t - this.barMs)
  }

  /** The latest published native bar of `symbol` at t. */
  latestPublished(symbol: string, t: number): Bar | undefined {
    const n = this.publishedCount(symbol, t)
    return n > 0 ? this.series.get(symbol)?.bars[n - 1] : undefined
  }

  /** Close of the latest bar of `symbol` that ended at or before t. */
  lastCloseAt(symbol: string, t: number): number | undefined {
    return this.latestPublished(symbol, t)?.close
  }

  /**
   * Parses an Alpaca timeframe (`5Min`, `5T`, `1Hour`, `1H`, `1Day`, `1D`) and
   * checks that the emulator can serve it: the native bar length or a whole
   * multiple of it below one day, or exactly one day.
   */
  parseTimeframe(raw: string): TimeframeResult {
    const m = /^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$/.exec(raw)
    if (m === null) return { ok: false, message: "invalid timeframe" }
    const amount = Number(m[1])
    const unit = m[2]
    if (amount < 1) return { ok: false, message: "invalid timeframe" }
    let ms: number
    if (unit === "Min" || unit === "T") {
      if (amount > 59) return { ok: false, message: "timeframe period number is larger than the allowed maximum of 59" }
      ms = amount * MINUTE_MS
    } else if (unit === "Hour" || unit === "H") {
      if (amount > 23) return { ok: false, message: "timeframe period number is larger than the allowed maximum of 23" }
      ms = amount * HOUR_MS
    } else if (unit === "Day" || unit === "D") {
      if (amount !== 1) return { ok: false, message: "timeframe period number is larger than the allowed maximum of 1" }
      return { ok: true, timeframe: { label: "1Day", ms: DAY_MS, daily: true } }
    } else {
      return { ok: false, message: `timeframe ${raw} is not supported by the emulator (native ${this.nativeTimeframe}; use a whole multiple of it, or 1Day)` }
    }
    if (this.barMs >= DAY_MS) {
      return { ok: false, message: `timeframe ${raw} is finer than the data's native ${this.nativeTimeframe} timeframe` }
    }
    if (ms % this.barMs !== 0) {
      return { ok: false, message: `timeframe ${raw} is not a whole multiple of the data's native ${this.nativeTimeframe} timeframe` }
    }
    return { ok: true, timeframe: { label: timeframeLabel(ms), ms, daily: false } }
  }

  /**
   * All bars of `symbol` at `timeframe` (published or not), each with the
   * market time from which it may be served; ascending by `t`. Cached.
   */
  aggregated(symbol: string, tf: Timeframe): { bars: WireBar[]; times: Float64Array; avail: Float64Array } {
    const key = `${symbol}|${tf.daily ? "D" : tf.ms}`
    const cached = this.aggCache.get(key)
    if (cached !== undefined) return cached
    const s = this.series.get(symbol)
    const out: WireBar[] = []
    if (s !== undefined) {
      let bucket: Bar[] = []
      let bucketKey: number | string | undefined
      let bucketStart = 0
      let bucketEnd = 0
      const flush = (): void => {
        if (bucket.length === 0) return
        const lastEnd = bucket[bucket.length - 1].time + this.barMs
        const available = Math.max(bucketEnd, lastEnd)
        out.push(aggregate(bucketStart, bucket, available))
        bucket = []
      }
      for (const b of s.bars) {
        let key: number | string
        let start: number
        let end: number
        if (tf.daily) {
          const date = nyDate(b.time)
          key = date
          start = nyMidnight(date)
          end = this.sessionByDate.get(date)?.close ?? b.time + this.barMs
        } else {
          start = Math.floor(b.time / tf.ms) * tf.ms
          key = start
          const session = this.sessionByDate.get(nyDate(b.time))
          end = Math.min(start + tf.ms, session?.close ?? start + tf.ms)
        }
        if (key !== bucketKey) {
          flush()
          bucketKey = key
          bucketStart = start
          bucketEnd = end
        }
        bucket.push(b)
      }
      flush()
    }
    const result = {
      bars: out,
      times: Float64Array.from(out, (b) => b.t),
      avail: Float64Array.from(out, (b) => b.availableAt)
    }
    this.aggCache.set(key, result)
    return result
  }
}

const readOptional = (bar: Bar, key: string): number | undefined => {
  const v = (bar as unknown as Record<string, unknown>)[key]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

/** Trade count of a bar: `tradeCount`/`n` when the Bar object carries one, else 0 (unknown). */
export const tradeCountOf = (bar: Bar): number => readOptional(bar, "tradeCount") ?? readOptional(bar, "n") ?? 0

/** VWAP of a bar: `vwap`/`vw` when carried, else the typical price (h+l+c)/3. */
export const vwapOf = (bar: Bar): number =>
  readOptional(bar, "vwap") ?? readOptional(bar, "vw") ?? (bar.high + bar.low + bar.close) / 3

const aggregate = (t: number, bars: ReadonlyArray<Bar>, availableAt: number): WireBar => {
  let h = Number.NEGATIVE_INFINITY
  let l = Number.POSITIVE_INFINITY
  let v = 0
  let n = 0
  let pv = 0
  for (const b of bars) {
    if (b.high > h) h = b.high
    if (b.low < l) l = b.low
    v += b.volume
    n += tradeCountOf(b)
    pv += vwapOf(b) * b.volume
  }
  const last = bars[bars.length - 1]
  const vw = v > 0 ? pv / v : vwapOf(last)
  return { t, o: bars[0].open, h, l, c: last.close, v, n, vw, availableAt }
}

/** Most common gap between consecutive bars of one symbol within one New York day. */
const inferBarMs = (series: ReadonlyMap<string, SymbolSeries>): number => {
  const counts = new Map<number, number>()
  for (const s of series.values()) {
    for (let i = 1; i < s.bars.length; i++) {
      const gap = s.bars[i].time - s.bars[i - 1].time
      if (gap <= 0) continue
      if (nyDate(s.bars[i].time) !== nyDate(s.bars[i - 1].time)) continue
      counts.set(gap, (counts.get(gap) ?? 0) + 1)
    }
  }
  let best = DAY_MS
  let bestCount = 0
  for (const [gap, count] of counts) {
    if (count > bestCount || (count === bestCount && gap < best)) {
      best = gap
      bestCount = count
    }
  }
  return best
}

