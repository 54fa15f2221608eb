/**
 * Parsing of OHLCV bar files (CSV) into validated `Bar`s.
 *
 * Pure: no I/O, no exceptions for bad input. Every rejected row yields a
 * `problem` with its 1-based file line; the caller decides what is fatal.
 */
import type { Bar } from "./bar.js"

/** A parsed, validated bar plus where it came from. */
export type BarRow = Bar & {
  /** The date cell exactly as given in the file. */
  readonly date: string
  /** 1-based line number in the file. */
  readonly line: number
}

export interface CsvProblem {
  readonly line: number
  readonly message: string
}

export interface ParsedBars {
  readonly rows: ReadonlyArray<BarRow>
  readonly problems: ReadonlyArray<CsvProblem>
}

/** Shortest round-trip decimal for a number (JS `String(x)`); empty string for NaN. */
export const formatNumber = (x: number): string => (Number.isNaN(x) ? "" : String(x))

const PRICE_COLUMNS = ["open", "high", "low", "close"] as const
const NUMBER_COLUMNS = [...PRICE_COLUMNS, "volume"] as const
type NumberColumn = (typeof NUMBER_COLUMNS)[number]
/** Accepted header names for the date column, in order of preference. */
const DATE_ALIASES = ["date", "timestamp", "time"] as const

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i

const unquote = (cell: string): string => {
  const t = cell.trim()
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t
}

/** Parses a number cell; returns the number or a reason naming the column. */
const parseNumberCell = (column: string, raw: string): number | string => {
  const text = unquote(raw)
  if (text === "") return `empty value in column '${column}'`
  if (NON_FINITE.test(text)) return `column '${column}' is not a finite number ('${text}')`
  if (!DECIMAL.test(text)) return `column '${column}' is not a number ('${text}')`
  const value = Number(text)
  if (!Number.isFinite(value)) return `column '${column}' is not a finite number ('${text}')`
  return value
}

/** Epoch ms for a UTC civil date-time, valid for any 4-digit year (Date.UTC maps 0–99 to 19xx). */
const utcMillis = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number => {
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, ms))
  date.setUTCFullYear(y)
  return date.getTime()
}

const daysInMonth = (y: number, mo: number): number => {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
}

const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/
const DASHED_DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/

/**
 * Parses the accepted date formats to epoch ms (UTC):
 * `YYYYMMDD`, `YYYY-MM-DD` (both 00:00 UTC), and ISO 8601 date-time with `Z` or an offset.
 */
export const parseDateCell = (raw: string): number | string => {
  const text = unquote(raw)
  if (text === "") return "empty date"
  const bad = (why: string) =>
    `unrecognised date '${text}' (${why}; expected YYYYMMDD, YYYY-MM-DD or ISO 8601 date-time with Z or offset)`
  const checkYmd = (y: number, mo: number, d: number): string | undefined => {
    if (mo < 1 || mo > 12) return "month out of range"
    if (d < 1 || d > daysInMonth(y, mo)) return "day out of range"
    return undefined
  }
  const dateOnly = COMPACT_DATE.exec(text) ?? DASHED_DATE.exec(text)
  if (dateOnly) {
    const [y, mo, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])]
    const why = checkYmd(y, mo, d)
    return why ? bad(why) : utcMillis(y, mo, d, 0, 0, 0, 0)
  }
  const dt = DATE_TIME.exec(text)
  if (!dt) {
    if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/.test(text) && !/(?:[Zz]|[+-]\d{2}:?\d{2})$/.test(text)) {
      return bad("date-time without Z or UTC offset is ambiguous")
    }
    return bad("unknown format")
  }
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(dt[i]))
  const s = dt[6] === undefined ? 0 : Number(dt[6])
  // Sub-millisecond digits are truncated (Bar.time is epoch ms).
  const ms = dt[7] === undefined ? 0 : Number(`${dt[7]}00`.slice(0, 3))
  const why = checkYmd(y, mo, d)
  if (why) return bad(why)
  if (h > 23 || mi > 59 || s > 59) return bad("time of day out of range")
  let offsetMinutes = 0
  if (dt[8] === undefined) {
    const oh = Number(dt[10])
    const om = Number(dt[11])
    if (oh > 23 || om > 59) return bad("UTC offset out of range")
    offsetMinutes = (dt[9] === "-" ? -1 : 1) * (oh * 60 + om)
  }
  return utcMillis(y, mo, d, h, mi, s, ms) - offsetMinutes * 60_000
}

const splitLine = (line: string): string[] => line.split(",")

/**
 * Parses an OHLCV CSV. A header row is required; columns `date` (alias `timestamp`/`time`),
 * `open,high,low,close,volume` match in any letter case and order; other columns are ignored.
 * Invalid rows are reported in `problems` and left out of `rows`.
 */
export const parseBarsCsv = (text: string): ParsedBars => {
  const problems: CsvProblem[] = []
  const rows: BarRow[] = []
  const lines = text.split(/\r\n|\n|\r/)
  if (lines.length > 0 && lines[0].startsWith("\uFEFF")) lines[0] = lines[0].slice(1)

  // The header is the first line; leading blank lines are tolerated.
  let headerIndex = 0
  while (headerIndex < lines.length && lines[headerIndex].trim() === "") headerIndex++
  if (headerIndex >= lines.length) {
    return { rows, problems: [{ line: 1, message: "empty file: a header row is required" }] }
  }
  const headerLine = headerIndex + 1
  const header = splitLine(lines[headerIndex]).map((c) => unquote(c).toLowerCase())

  const indexOf = new Map<string, number>()
  const duplicates = new Set<string>()
  header.forEach((name, i) => {
    if (name === "") return
    if (indexOf.has(name)) duplicates.add(name)
    else indexOf.set(name, i)
  })
  const dateName = DATE_ALIASES.find((n) => indexOf.has(n))
  const missing: string[] = []
  if (dateName === undefined) missing.push("date")
  for (const c of NUMBER_COLUMNS) if (!indexOf.has(c)) missing.push(c)
  const relevantDuplicates = [...duplicates].filter(
    (n) => (NUMBER_COLUMNS as ReadonlyArray<string>).includes(n) || n === dateName
  )
  if (missing.length > 0 || relevantDuplicates.length > 0) {
    const parts: string[] = []
    if (missing.length > 0) {
      parts.push(
        `missing required column${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}` +
          ` (header must name date (or timestamp/time), open, high, low, close, volume)`
      )
      if (typeof parseDateCell(header[0] ?? "") === "number") parts.push("the first line looks like data, not a header")
    }
    if (relevantDuplicates.length > 0) parts.push(`duplicate column${relevantDuplicates.length > 1 ? "s" : ""}: ${relevantDuplicates.join(", ")}`)
    return { rows, problems: [{ line: headerLine, message: parts.join("; ") }] }
  }

  const dateIdx = indexOf.get(dateName as string) as number
  const colIdx = Object.fromEntries(NUMBER_COLUMNS.map((c) => [c, indexOf.get(c) as number])) as Record<NumberColumn, number>
  const needed = Math.max(dateIdx, ...Object.values(colIdx)) + 1

  let last: { time: number; line: number; date: string } | undefined
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const lineNo = i + 1
    const raw = lines[i]
    if (raw.trim() === "") continue
    const cells = splitLine(raw)
    if (cells.length < needed) {
      problems.push({ line: lineNo, message: `expected at least ${needed} columns, got ${cells.length}` })
      continue
    }
    const reasons: string[] = []
    const date = cells[dateIdx]
    const time = parseDateCell(date)
    if (typeof time === "string") reasons.push(time)
    const values = {} as Record<NumberColumn, number>
    for (const c of NUMBER_COLUMNS) {
      const v = parseNumberCell(c, cells[colIdx[c]])
      if (typeof v === "string") reasons.push(v)
      else values[c] = v
    }
    const allNumbers = NUMBER_COLUMNS.every((c) => c in values)
    if (allNumbers) {
      const { open, high, low, close, volume } = values
      const nonPositive = PRICE_COLUMNS.filter((c) => values[c] <= 0)
      if (nonPositive.length > 0) {
        reasons.push(`zero or negative price in ${nonPositive.map((c) => `'${c}' (${values[c]})`).join(", ")}`)
      }
      if (volume < 0) reasons.push(`negative volume (${volume})`)
      if (high < low) reasons.push(`high (${high}) is below low (${low})`)
      else {
        if (open < low || open > high) reasons.push(`open (${open}) is outside [low, high] = [${low}, ${high}]`)
        if (close < low || close > high) reasons.push(`close (${close}) is outside [low, high] = [${low}, ${high}]`)
      }
    }
    if (typeof time === "number" && last !== undefined) {
      if (time === last.time) {
        reasons.push(`duplicate time: '${date}' is the same time as line ${last.line} ('${last.date}')`)
      } else if (time < last.time) {
        reasons.push(`time goes backwards: '${date}' is before line ${last.line} ('${last.date}')`)
      }
    }
    if (reasons.length > 0 || typeof time !== "number" || !allNumbers) {
      problems.push({ line: lineNo, message: reasons.join("; ") })
      continue
    }
    rows.push({ time, date, line: lineNo, ...values })
    last = { time, line: lineNo, date }
  }
  return { rows, problems }
}
