import type { BarRow } from "../bars-csv.js"
import { formatNumber } from "../bars-csv.js"
import type { IndicatorDefinition } from "./types.js"

/**
 * The CSV of the `features` command: header `date,<names...>`, then one line per row with the
 * date echoed as given and each indicator's value (empty for NaN); `\n` endings, trailing newline.
 * Each definition gets a fresh stream, fed the rows in order.
 */
export const featureTable = (rows: ReadonlyArray<BarRow>, defs: ReadonlyArray<IndicatorDefinition>): string => {
  const streams = defs.map((d) => d.create())
  const lines: string[] = [["date", ...defs.map((d) => d.name)].join(",")]
  for (const row of rows) {
    const cells = [row.date]
    for (const s of streams) cells.push(formatNumber(s.next(row)))
    lines.push(cells.join(","))
  }
  return lines.join("\n") + "\n"
}
