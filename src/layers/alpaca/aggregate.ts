/**
 * Minute bars → interval bars, as Alpaca aggregates them: buckets aligned to epoch multiples of the
 * interval (1d: one bucket per New York trading date, starting at New York midnight). A bucket is
 * emitted when its last minute arrives or when a bar of a later bucket does; a corrected minute
 * (updatedBars) replaces the one it corrects while its bucket is still open.
 */
import type { Bar } from "../../core/bar.js"
import type { Interval } from "../../domain/Config.js"
import { intervalMillis } from "../../domain/Config.js"
import { MINUTE, nyDate, nyMidnight } from "../../core/nytime.js"

/** Where a minute belongs: its bucket's start (the bar's time), and the first and last minutes it holds. */
export interface Bucket {
  readonly start: number
  readonly firstMinute: number
  /** The minute whose arrival completes the bucket. */
  readonly lastMinute: number
}

/** The intraday bucket of the minute starting at `time`. */
export const intradayBucket = (interval: Exclude<Interval, "1d">, time: number): Bucket => {
  const span = intervalMillis[interval]
  const start = Math.floor(time / span) * span
  return { start, firstMinute: start, lastMinute: start + span - MINUTE }
}

/**
 * The daily bucket of `time`: the regular session of its New York date (extended-hours minutes
 * are left out); without a known session only a later day's minute ends it.
 */
export const dailyBucket = (time: number, session: { readonly open: number; readonly close: number } | undefined): Bucket => {
  const start = nyMidnight(nyDate(time))
  return session === undefined
    ? { start, firstMinute: start, lastMinute: Number.POSITIVE_INFINITY }
    : { start, firstMinute: session.open, lastMinute: session.close - MINUTE }
}

/** OHLCV of `minutes` (any order) as one bar starting at `start`. */
export const combineMinutes = (start: number, minutes: Iterable<Bar>): Bar | undefined => {
  const sorted = [...minutes].sort((a, b) => a.time - b.time)
  if (sorted.length === 0) return undefined
  let high = Number.NEGATIVE_INFINITY
  let low = Number.POSITIVE_INFINITY
  let volume = 0
  for (const m of sorted) {
    high = Math.max(high, m.high)
    low = Math.min(low, m.low)
    volume += m.volume
  }
  return { time: start, open: sorted[0].open, high, low, close: sorted[sorted.length - 1].close, volume }
}

interface OpenBucket extends Bucket {
  readonly minutes: Map<number, Bar>
}

/** One ticker's aggregation state (one per `live` subscriber). */
export class BarAggregator {
  private open: OpenBucket | undefined
  private emittedThrough = Number.NEGATIVE_INFINITY

  /** Whether no minute has been seen yet. */
  get isFresh(): boolean {
    return this.open === undefined && this.emittedThrough === Number.NEGATIVE_INFINITY
  }

  /** Adds a (possibly corrected) minute of `bucket`; returns the bars this completes, oldest first. */
  push(minute: Bar, bucket: Bucket): ReadonlyArray<Bar> {
    // A minute of a bucket already emitted (late, or a correction after the fact) cannot change it.
    if (bucket.start <= this.emittedThrough) return []
    const out: Array<Bar> = []
    if (this.open !== undefined && bucket.start > this.open.start) out.push(...this.close())
    if (this.open !== undefined && bucket.start < this.open.start) return out
    if (minute.time < bucket.firstMinute) return out
    // After the last minute (post-market of a day whose closing minute never came): the bucket is over.
    if (minute.time > bucket.lastMinute) return this.open === undefined ? out : [...out, ...this.close()]
    this.open ??= { ...bucket, minutes: new Map() }
    this.open.minutes.set(minute.time, minute)
    if (minute.time >= this.open.lastMinute) out.push(...this.close())
    return out
  }

  private close(): ReadonlyArray<Bar> {
    const open = this.open
    this.open = undefined
    if (open === undefined) return []
    this.emittedThrough = open.start
    const bar = combineMinutes(open.start, open.minutes.values())
    return bar === undefined ? [] : [bar]
  }
}
