import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { type BarRow, parseBarsCsv } from "../../../src/core/bars-csv.js"

const fixturePath = (file: string): string =>
  fileURLToPath(new URL(`../../fixtures/stockstats/${file}`, import.meta.url))

/** The 2,813 daily bars of stockstats' 002032 test data (project copy). */
export const loadBars = (): ReadonlyArray<BarRow> => {
  const { rows, problems } = parseBarsCsv(readFileSync(fixturePath("002032.csv"), "utf8"))
  if (problems.length > 0) throw new Error(`fixture has problems: ${JSON.stringify(problems.slice(0, 3))}`)
  return rows
}

export interface ExpectedTable {
  readonly columns: ReadonlyArray<string>
  readonly dates: ReadonlyArray<string>
  /** values[row][col]; NaN where the fixture cell is empty. */
  readonly values: ReadonlyArray<ReadonlyArray<number>>
}

/** stockstats' own output for FinRL's default indicator set over the same bars. */
export const loadExpected = (): ExpectedTable => {
  const lines = readFileSync(fixturePath("002032.finrl-indicators.csv"), "utf8").split(/\r?\n/).filter((l) => l !== "")
  const columns = lines[0].split(",").slice(1)
  const dates: string[] = []
  const values: number[][] = []
  for (const line of lines.slice(1)) {
    const cells = line.split(",")
    dates.push(cells[0])
    values.push(cells.slice(1).map((c) => (c === "" ? Number.NaN : Number(c))))
  }
  return { columns, dates, values }
}
