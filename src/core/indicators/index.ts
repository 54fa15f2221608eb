/**
 * Incremental indicator streams: FinRL/stockstats names computed stockstats-exactly, and the
 * technicalindicators catalogue by name and parameters.
 *
 *   resolveIndicator("rsi_30")                                  // stockstats, as FinRL trains with
 *   resolveIndicator({ name: "RSI", period: 14 })               // technicalindicators → column RSI_14
 *   resolveIndicator({ name: "MACD", fastPeriod: 12, slowPeriod: 26, signalPeriod: 9,
 *                      output: "histogram", as: "macd_hist" })  // renamed column
 */
import { err, type Result } from "../bar.js"
import { resolveStockstats, STOCKSTATS_NAMES } from "./stockstats.js"
import { resolveTechnicalIndicator, technicalIndicatorName, TECHNICALINDICATORS_NAMES } from "./technicalindicators.js"
import type { IndicatorDefinition, IndicatorSpec } from "./types.js"

export type { IndicatorDefinition, IndicatorSpec, IndicatorStream } from "./types.js"
export { featureTable } from "./feature-table.js"
export { STOCKSTATS_NAMES } from "./stockstats.js"
export { TECHNICALINDICATORS_NAMES } from "./technicalindicators.js"

const checkAs = (as: unknown): Result<string | undefined, string> => {
  if (as === undefined) return { ok: true, value: undefined }
  if (typeof as !== "string" || as.trim() === "" || /[,\r\n"]/.test(as)) {
    return err(`'as' must be a non-empty column name without commas, quotes or line breaks, got ${JSON.stringify(as)}`)
  }
  return { ok: true, value: as }
}

/** Resolves a spec to a definition, or an error message naming the indicator and parameter. */
export const resolveIndicator = (spec: IndicatorSpec): Result<IndicatorDefinition, string> => {
  const obj: { readonly name: unknown; readonly [param: string]: unknown } =
    typeof spec === "string" ? { name: spec } : spec !== null && typeof spec === "object" ? spec : { name: undefined }
  const name = obj.name
  if (typeof name !== "string" || name.trim() === "") {
    return err(`indicator spec needs a non-empty 'name', got ${JSON.stringify(spec)}`)
  }
  const as = checkAs(obj.as)
  if (!as.ok) return err(`indicator '${name}': ${as.error}`)

  const stockstats = resolveStockstats(name)
  if (stockstats !== undefined) {
    if (!stockstats.ok) return stockstats
    const extra = Object.keys(obj).filter((k) => k !== "name" && k !== "as")
    if (extra.length > 0) {
      const ti = technicalIndicatorName(name)
      return err(
        `stockstats indicator '${name}' takes no parameters (its window is part of the name), got ${extra.map((e) => `'${e}'`).join(", ")}` +
          (ti ? `; for the technicalindicators one use name '${ti}'` : "")
      )
    }
    return as.value === undefined ? stockstats : { ok: true, value: { ...stockstats.value, name: as.value } }
  }

  const tiName = technicalIndicatorName(name)
  if (tiName !== undefined) return resolveTechnicalIndicator(tiName, obj, as.value)

  return err(
    `unknown indicator '${name}'. stockstats/FinRL names: ${STOCKSTATS_NAMES}. ` +
      `technicalindicators (object spec with parameters): ${TECHNICALINDICATORS_NAMES.join(", ")}`
  )
}
