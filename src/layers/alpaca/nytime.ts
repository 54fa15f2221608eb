/**
 * New York wall-clock conversions for Alpaca's calendar (`open`/`close` are New York `HH:MM`) and
 * for daily bars (Alpaca's `1Day` bar starts at New York midnight). DST-correct through `Intl`.
 */

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

const partsFormatter = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit"
})

// DST changes happen on whole hours, so the offset is constant within a UTC hour.
const offsetCache = new Map<number, number>()

/** New York's offset from UTC at instant `ms`, in ms (−5 h in winter, −4 h in summer). */
export const nyOffsetMs = (ms: number): number => {
  const hour = Math.floor(ms / HOUR_MS)
  const cached = offsetCache.get(hour)
  if (cached !== undefined) return cached
  const probe = hour * HOUR_MS
  const parts: Record<string, number> = {}
  for (const p of partsFormatter.formatToParts(new Date(probe))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value)
  }
  const offset = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute) - probe
  offsetCache.set(hour, offset)
  return offset
}

/** The New York calendar date of instant `ms`, `YYYY-MM-DD`. */
export const nyDate = (ms: number): string => new Date(ms + nyOffsetMs(ms)).toISOString().slice(0, 10)

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME = /^(\d{1,2}):(\d{2})$/

/**
 * Epoch ms of New York wall-clock `time` (`HH:MM`) on `date` (`YYYY-MM-DD`); `undefined` when
 * either is malformed. Uses the offset in force at that wall time (so 09:30 is 14:30Z in January
 * and 13:30Z in July).
 */
export const nyWallToEpoch = (date: string, time: string): number | undefined => {
  const d = DATE.exec(date)
  const t = TIME.exec(time)
  if (d === null || t === null) return undefined
  const hour = Number(t[1])
  const minute = Number(t[2])
  if (hour > 24 || minute > 59) return undefined
  const midnight = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]))
  if (new Date(midnight).toISOString().slice(0, 10) !== date) return undefined
  const asUtc = midnight + hour * HOUR_MS + minute * MINUTE_MS
  // Two passes: the offset at the guessed instant may differ from the one at the true instant.
  let epoch = asUtc - nyOffsetMs(asUtc)
  epoch = asUtc - nyOffsetMs(epoch)
  return epoch
}

/** Epoch ms of 00:00 New York time on `date`. */
export const nyMidnight = (date: string): number => nyWallToEpoch(date, "00:00") ?? Number.NaN

/** `date` plus `days` calendar days. */
export const addDays = (date: string, days: number): string => {
  const [y, m, d] = date.split("-").map(Number)
  return new Date(Date.UTC(y, m - 1, d) + days * DAY_MS).toISOString().slice(0, 10)
}

/** `YYYY-MM-DD` of a `Date` the SDK parsed from a date-only string (UTC midnight). */
export const dateOnly = (value: Date): string | undefined =>
  Number.isNaN(value.getTime()) ? undefined : value.toISOString().slice(0, 10)

export const MINUTE = MINUTE_MS
export const DAY = DAY_MS
