import type { Bar } from "./bar.js"
import { nyDate, nyMidnight } from "./nytime.js"

const DAY = 86_400_000

/** New York calendar date of an instant, as a day number (for daily buckets). */
export const newYorkDay = (time: number): number => Date.parse(`${nyDate(time)}T00:00:00Z`) / DAY

/**
 * The start of the interval bucket holding `time`: epoch multiples of the interval, or for 1d
 * New York midnight of that date (where Alpaca stamps its daily bars).
 */
export const bucketStart = (time: number, intervalMs: number): number =>
  intervalMs >= DAY ? nyMidnight(nyDate(time)) : Math.floor(time / intervalMs) * intervalMs

/** Combines consecutive bars of one bucket: first open, highest high, lowest low, last close, summed volume. */
export const combineBars = (time: number, bars: ReadonlyArray<Bar>): Bar => ({
  time,
  open: bars[0].open,
  high: Math.max(...bars.map((b) => b.high)),
  low: Math.min(...bars.map((b) => b.low)),
  close: bars[bars.length - 1].close,
  volume: bars.reduce((s, b) => s + b.volume, 0)
})

/**
 * Aggregates finer bars (e.g. Alpaca's minute bars) into interval bars, each stamped at its
 * bucket's start (see `bucketStart`), as Alpaca stamps its own.
 */
export const aggregateBars = (bars: ReadonlyArray<Bar>, intervalMs: number): ReadonlyArray<Bar> => {
  const out: Array<Bar> = []
  let group: Array<Bar> = []
  let key = NaN
  for (const bar of bars) {
    const k = bucketStart(bar.time, intervalMs)
    if (k !== key && group.length > 0) {
      out.push(combineBars(key, group))
      group = []
    }
    key = k
    group.push(bar)
  }
  if (group.length > 0) out.push(combineBars(key, group))
  return out
}

/** The most common spacing between consecutive bars (the data's resolution), or undefined for < 2 bars. */
export const barSpacing = (bars: ReadonlyArray<Bar>): number | undefined => {
  const counts = new Map<number, number>()
  for (let i = 1; i < bars.length; i++) {
    const gap = bars[i].time - bars[i - 1].time
    counts.set(gap, (counts.get(gap) ?? 0) + 1)
  }
  let best: number | undefined
  for (const [gap, n] of counts) if (best === undefined || n > counts.get(best)! || (n === counts.get(best)! && gap < best)) best = gap
  return best
}
