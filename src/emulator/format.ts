/** Wire-format helpers shared by the emulator's REST and stream layers. */

/**
 * Alpaca-style decimal string: at most 9 fractional digits, no exponent, no
 * trailing zeros, never `-0` (e.g. `"100000"`, `"101.25"`).
 */
export const decimal = (x: number): string => {
  if (!Number.isFinite(x)) return "0"
  const fixed = x.toFixed(9).replace(/\.?0+$/, "")
  return fixed === "-0" || fixed === "" ? "0" : fixed
}

/** Same as {@link decimal} but `null` for `undefined`/`null`. */
export const decimalOrNull = (x: number | null | undefined): string | null => (x == null ? null : decimal(x))

/** Parses an Alpaca numeric field sent as a string or a JSON number. */
export const parseNumeric = (v: unknown): number | undefined => {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined
  if (typeof v === "string" && v.trim() !== "" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) {
    return Number(v)
  }
  return undefined
}

/**
 * Parses an RFC-3339 timestamp or a `YYYY-MM-DD` date (taken as 00:00 UTC,
 * unless `dateAs` maps it) into epoch ms.
 */
export const parseTime = (v: string, dateAs?: (date: string) => number): number | undefined => {
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return dateAs !== undefined ? dateAs(v) : Date.parse(`${v}T00:00:00Z`)
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v)) return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : t
}
