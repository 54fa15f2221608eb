import type { IndicatorSpec } from "../domain/Config.js"
import type { ModelCard } from "../domain/Model.js"

/** A canonical text for a spec: keys sorted at every depth, so key order never matters but values do. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(",")}]`
    : value !== null && typeof value === "object"
      ? `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`
      : JSON.stringify(value)

const specKey = (spec: IndicatorSpec): string => (typeof spec === "string" ? spec : canonical(spec))

/** What differs between a deployment and the model it serves; empty when they agree. */
export const modelMismatches = (
  card: ModelCard,
  deployment: { readonly tickers: ReadonlyArray<string>; readonly indicators: ReadonlyArray<IndicatorSpec>; readonly hmax: number }
): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const missing = card.tickers.filter((t) => !deployment.tickers.includes(t))
  const extra = deployment.tickers.filter((t) => !card.tickers.includes(t))
  if (missing.length > 0 || extra.length > 0) {
    problems.push(
      `tickers differ from the model's [${card.tickers.join(", ")}]` +
        (missing.length > 0 ? `; missing ${missing.join(", ")}` : "") +
        (extra.length > 0 ? `; not in the model: ${extra.join(", ")}` : "")
    )
  }
  const ours = deployment.indicators.map(specKey)
  const theirs = card.tech_indicators.map(specKey)
  if (ours.length !== theirs.length || ours.some((k, i) => k !== theirs[i])) {
    problems.push(`tech_indicators [${ours.join(", ")}] differ from the model's [${theirs.join(", ")}] (same names, same order)`)
  }
  if (deployment.hmax !== card.action.hmax) problems.push(`hmax is ${deployment.hmax}, the model was trained with ${card.action.hmax}`)
  return problems
}
