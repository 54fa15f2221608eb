/**
 * New York (America/New_York) wall-clock helpers for the emulator.
 *
 * The UTC offset is looked up through `Intl` once per UTC hour and cached: DST
 * transitions happen on whole hours, so the offset is constant within one.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

const offsetCache = new Map<number, number>()

const partsFormatter = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit"
})

/** Offset of New York from UTC at instant `ms`, in minutes (−300 in winter, −240 in summer). */
export const nyOffsetMinutes = (ms: number): number => {
  const hour = Math.floor(ms / HOUR_MS)
  const cached = offsetCache.get(hour)
  if (cached !== undefined) return cached
  const probe = hour * HOUR_MS
  const parts: Record<string, number> = {}
  for (const p of partsFormatter.formatToParts(new Date(probe))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value)
  }
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute, parts.second)
  const offset = Math.round((asUtc - probe) / 60_000)
  offsetCache.set(hour, offset)
  return offset
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** The New York calendar date of instant `ms`, as `YYYY-MM-DD`. */
export const nyDate = (ms: number): string => new Date(ms + nyOffsetMinutes(ms) * 60_000).toISOString().slice(0, 10)

/** The New York wall-clock time of instant `ms`, as `HH:MM`. */
export const nyHourMinute = (ms: number): string => new Date(ms + nyOffsetMinutes(ms) * 60_000).toISOString().slice(11, 16)

/** Epoch ms of 00:00 New York time on `date` (`YYYY-MM-DD`). */
export const nyMidnight = (date: string): number => {
  const [y, m, d] = date.split("-").map(Number)
  const utcMidnight = Date.UTC(y, m - 1, d)
  for (const offset of [-300, -240]) {
    const candidate = utcMidnight - offset * 60_000
    if (nyOffsetMinutes(candidate) === offset) return candidate
  }
  return utcMidnight + 5 * HOUR_MS
}

/**
 * RFC-3339 with New York's offset, as Alpaca's clock formats it:
 * `2024-01-02T09:30:00-05:00` (milliseconds only when non-zero).
 */
export const formatNy = (ms: number): string => {
  const offset = nyOffsetMinutes(ms)
  const local = new Date(ms + offset * 60_000).toISOString()
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
