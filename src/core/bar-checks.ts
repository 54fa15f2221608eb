import type { Bar } from "./bar.js"

/** Why a bar cannot be used (non-finite, zero or negative prices, high < low, open/close outside the range), or undefined. */
export const validateBar = (bar: Bar): string | undefined => {
  for (const key of ["open", "high", "low", "close", "volume"] as const) {
    if (!Number.isFinite(bar[key])) return `${key} is not a finite number`
  }
  if (!Number.isFinite(bar.time)) return "time is not a finite number"
  if (bar.open <= 0 || bar.high <= 0 || bar.low <= 0 || bar.close <= 0) return "a price is zero or negative"
  if (bar.volume < 0) return "volume is negative"
  if (bar.high < bar.low) return "high < low"
  if (bar.open > bar.high || bar.open < bar.low || bar.close > bar.high || bar.close < bar.low) return "open or close outside [low, high]"
  return undefined
}
