/**
 * New York (America/New_York) wall-clock helpers, DST-correct through `Intl`: Alpaca's calendar
 * speaks New York `HH:MM`, its daily bars start at New York midnight, its clock formats with New
 * York's offset. The offset is looked up once per UTC hour and cached: DST changes on whole hours.
 */

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

export const MINUTE = MINUTE_MS
export const DAY = DAY_MS

const offsetCache = new Map<number, number>()

/** Made at the first use: creating it loads the time-zone data, a cost every command would pay at start-up. */
let partsFormatter: Intl.DateTimeFormat | undefined
const nyParts = (date: Date): Array<Intl.DateTimeFormatPart> =>
  (partsFormatter ??= new Intl.DateTimeFormat("en-US", {
    timeZone: "America/New_York",
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit"
  })).formatToParts(date)

/** New York's offset from UTC at instant `ms`, in ms (−5 h in winter, −4 h in summer). */
export const nyOffsetMs = (ms: number): number => {
  const hour = Math.floor(ms / HOUR_MS)
  const cached = offsetCache.get(hour)
  if (cached !== undefined) return cached
  const probe = hour * HOUR_MS
  const parts: Record<string, number> = {}
  for (const p of nyParts(new Date(probe))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value)
  }
  const offset = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute, parts.second) - probe
  offsetCache.set(hour, offset)
  return offset
}

/** New York's offset from UTC at instant `ms`, in minutes (−300 in winter, −240 in summer). */
export const nyOffsetMinutes = (ms: number): number => Math.round(nyOffsetMs(ms) / MINUTE_MS)

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** The New York calendar date of instant `ms`, as `YYYY-MM-DD`. */
export const nyDate = (ms: number): string => new Date(ms + nyOffsetMs(ms)).toISOString().slice(0, 10)

/** The New York wall-clock time of instant `ms`, as `HH:MM`. */
export const nyHourMinute = (ms: number): string => new Date(ms + nyOffsetMs(ms)).toISOString().slice(11, 16)

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

/** Epoch ms of 00:00 New York time on `date` (`YYYY-MM-DD`); NaN when malformed. */
export const nyMidnight = (date: string): number => nyWallToEpoch(date, "00:00") ?? Number.NaN

/**
 * RFC-3339 with New York's offset, as Alpaca's clock formats it:
 * `2024-01-02T09:30:00-05:00` (milliseconds only when non-zero).
 */
export const formatNy = (ms: number): string => {
  const offset = nyOffsetMinutes(ms)
  const local = new Date(ms + offset * MINUTE_MS).toISOString()
  const fraction = ms % 1000 === 0 ? "" : local.slice(19, 23)
  const sign = offset < 0 ? "-" : "+"
  const abs = Math.abs(offset)
  return `${local.slice(0, 19)}${fraction}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** RFC-3339 in UTC (`Z`), as Alpaca formats order and bar timestamps. */
export const formatUtc = (ms: number): string => new Date(ms).toISOString()

/** Adds `days` calendar days to a `YYYY-MM-DD` date. */
export const addDays = (date: string, days: number): string => {
  const [y, m, d] = date.split("-").map(Number)
  return new Date(Date.UTC(y, m - 1, d) + days * DAY_MS).toISOString().slice(0, 10)
}

/** Day of week of a `YYYY-MM-DD` date (0 = Sunday). */
export const weekday = (date: string): number => {
  const [y, m, d] = date.split("-").map(Number)
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay()
}

/** The next Monday–Friday date strictly after `date`. */
export const nextWeekday = (date: string): string => {
  let next = addDays(date, 1)
  while (weekday(next) === 0 || weekday(next) === 6) next = addDays(next, 1)
  return next
}

/** `YYYY-MM-DD` of a `Date` the SDK parsed from a date-only string (UTC midnight). */
export const dateOnly = (value: Date): string | undefined =>
  Number.isNaN(value.getTime()) ? undefined : value.toISOString().slice(0, 10)
