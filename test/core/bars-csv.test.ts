import { describe, expect, it } from "vitest"
import { formatNumber, parseBarsCsv } from "../../src/core/bars-csv.js"

const HEADER = "date,open,high,low,close,volume"
const csv = (...lines: string[]) => lines.join("\n") + "\n"

/** The single problem on `line`, failing clearly if there is not exactly one. */
const problemAt = (text: string, line: number): string => {
  const { problems } = parseBarsCsv(text)
  const hits = problems.filter((p) => p.line === line)
  if (hits.length !== 1) throw new Error(`expected one problem on line ${line}, got ${JSON.stringify(problems)}`)
  return hits[0].message
}

describe("parseBarsCsv: good input", () => {
  it("parses rows with dates, times, line numbers and values", () => {
    const { rows, problems } = parseBarsCsv(csv(HEADER, "20240102,10,11,9,10.5,1000", "2024-01-03,10.5,12,10,11.5,0"))
    expect(problems).toEqual([])
    expect(rows).toEqual([
      { time: Date.UTC(2024, 0, 2), date: "20240102", line: 2, open: 10, high: 11, low: 9, close: 10.5, volume: 1000 },
      { time: Date.UTC(2024, 0, 3), date: "2024-01-03", line: 3, open: 10.5, high: 12, low: 10, close: 11.5, volume: 0 }
    ])
  })

  it("accepts header names in any case and order, ignores extra columns (like stockstats' amount)", () => {
    const { rows, problems } = parseBarsCsv(
      csv("Date,AMOUNT,Close,HIGH,low,Open,Volume", "20040817,90923240.0,11.2,12.21,11.03,12.21,7877900")
    )
    expect(problems).toEqual([])
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ open: 12.21, high: 12.21, low: 11.03, close: 11.2, volume: 7877900, date: "20040817" })
  })

  it("accepts timestamp/time as the date column", () => {
    for (const name of ["timestamp", "Time"]) {
      const { rows, problems } = parseBarsCsv(csv(`${name},open,high,low,close,volume`, "2024-01-02T14:30:00Z,1,2,1,2,5"))
      expect(problems).toEqual([])
      expect(rows[0].time).toBe(Date.UTC(2024, 0, 2, 14, 30))
    }
  })

  it("handles CRLF, blank lines and a missing trailing newline", () => {
    const text = `${HEADER}\r\n20240102,10,11,9,10,1\r\n\r\n20240103,10,11,9,10,1\r\n   \r\n20240104,10,11,9,10,1`
    const { rows, problems } = parseBarsCsv(text)
    expect(problems).toEqual([])
    expect(rows.map((r) => [r.line, r.date])).toEqual([
      [2, "20240102"],
      [4, "20240103"],
      [6, "20240104"]
    ])
  })

  it("parses ISO date-times with Z or offsets, and fractional seconds", () => {
    const { rows, problems } = parseBarsCsv(
      csv(
        HEADER,
        "2024-01-02T14:30:00Z,1,1,1,1,1",
        "2024-01-02T10:31:00-04:00,1,1,1,1,1",
        "2024-01-02T20:02:00+0530,1,1,1,1,1",
        "2024-01-02T14:33:00.250Z,1,1,1,1,1",
        "2024-01-02T14:34Z,1,1,1,1,1"
      )
    )
    expect(problems).toEqual([])
    expect(rows.map((r) => r.time)).toEqual([
      Date.UTC(2024, 0, 2, 14, 30),
      Date.UTC(2024, 0, 2, 14, 31),
      Date.UTC(2024, 0, 2, 14, 32),
      Date.UTC(2024, 0, 2, 14, 33, 0, 250),
      Date.UTC(2024, 0, 2, 14, 34)
    ])
  })

  it("keeps the date cell exactly as given", () => {
    const { rows } = parseBarsCsv(csv(HEADER, "2024-01-02T09:30:00-05:00,1,1,1,1,1"))
    expect(rows[0].date).toBe("2024-01-02T09:30:00-05:00")
  })
})

describe("parseBarsCsv: header problems (line 1)", () => {
  it("names every missing required column", () => {
    const { rows, problems } = parseBarsCsv(csv("date,open,close", "20240102,1,1"))
    expect(rows).toEqual([])
    expect(problems).toHaveLength(1)
    expect(problems[0].line).toBe(1)
    expect(problems[0].message).toMatch(/missing required columns: high, low, volume/)
  })

  it("names a missing date column", () => {
    expect(problemAt(csv("day,open,high,low,close,volume"), 1)).toMatch(/missing required column: date/)
  })

  it("a file without a header says so", () => {
    const message = problemAt(csv("20240102,1,1,1,1,1", "20240103,1,1,1,1,1"), 1)
    expect(message).toMatch(/missing required columns: date, open, high, low, close, volume/)
    expect(message).toMatch(/looks like data/)
  })

  it("an empty file is a problem", () => {
    expect(parseBarsCsv("")).toEqual({ rows: [], problems: [{ line: 1, message: expect.stringMatching(/header row is required/) }] })
  })

  it("a duplicated required column is a problem", () => {
    expect(problemAt(csv("date,open,high,low,close,close,volume"), 1)).toMatch(/duplicate column: close/)
  })
})

describe("parseBarsCsv: row problems carry their line and reason, and drop the row", () => {
  const cases: ReadonlyArray<[string, string, RegExp]> = [
    ["unparsable number names the column", "20240103,abc,11,9,10,1", /column 'open' is not a number \('abc'\)/],
    ["empty number cell", "20240103,10,11,9,,1", /empty value in column 'close'/],
    ["NaN text", "20240103,10,11,9,10,NaN", /column 'volume' is not a finite number/],
    ["infinite text", "20240103,10,inf,9,10,1", /column 'high' is not a finite number/],
    ["overflowing number", "20240103,10,1e400,9,10,1", /column 'high' is not a finite number/],
    ["zero price", "20240103,10,11,0,10,1", /zero or negative price in 'low' \(0\)/],
    ["negative price", "20240103,-1,11,9,10,1", /zero or negative price in 'open' \(-1\)/],
    ["negative volume", "20240103,10,11,9,10,-5", /negative volume \(-5\)/],
    ["high below low", "20240103,10,9,11,10,1", /high \(9\) is below low \(11\)/],
    ["open outside range", "20240103,12,11,9,10,1", /open \(12\) is outside \[low, high\] = \[9, 11\]/],
    ["close outside range", "20240103,10,11,9,8.5,1", /close \(8.5\) is outside \[low, high\]/],
    ["duplicate time", "20240102,10,11,9,10,1", /duplicate time: '20240102' is the same time as line 2/],
    ["duplicate time across formats", "2024-01-02T00:00:00Z,10,11,9,10,1", /duplicate time.*line 2/],
    ["time going backwards", "20240101,10,11,9,10,1", /time goes backwards: '20240101' is before line 2/],
    ["unknown date format", "01/03/2024,10,11,9,10,1", /unrecognised date '01\/03\/2024'/],
    ["impossible date", "20240230,10,11,9,10,1", /unrecognised date '20240230' \(day out of range/],
    ["date-time without zone", "2024-01-03T10:00:00,10,11,9,10,1", /without Z or UTC offset/],
    ["too few cells", "20240103,10,11", /expected at least 6 columns, got 3/]
  ]

  for (const [what, row, reason] of cases) {
    it(what, () => {
      const text = csv(HEADER, "20240102,10,11,9,10,1", row, "20240105,10,11,9,10,1")
      expect(problemAt(text, 3)).toMatch(reason)
      const { rows, problems } = parseBarsCsv(text)
      expect(problems).toHaveLength(1)
      expect(rows.map((r) => r.line)).toEqual([2, 4])
    })
  }

  it("several reasons in one row are all reported", () => {
    const message = problemAt(csv(HEADER, "20240102,10,11,9,10,1", "20240101,10,9,11,10,-1"), 3)
    expect(message).toMatch(/negative volume/)
    expect(message).toMatch(/high \(9\) is below low \(11\)/)
    expect(message).toMatch(/time goes backwards/)
  })

  it("ordering is checked against the last accepted row, with correct line numbers after blank lines", () => {
    const { rows, problems } = parseBarsCsv(
      csv(HEADER, "20240102,10,11,9,10,1", "", "20240103,bad,11,9,10,1", "20240103,10,11,9,10,1", "20240103,10,11,9,10,1")
    )
    expect(rows.map((r) => r.line)).toEqual([2, 5])
    expect(problems.map((p) => p.line)).toEqual([4, 6])
    expect(problems[1].message).toMatch(/duplicate time: '20240103' is the same time as line 5/)
  })
})

describe("formatNumber", () => {
  it("is the shortest round-trip decimal, empty for NaN", () => {
    expect(formatNumber(0.1 + 0.2)).toBe("0.30000000000000004")
    expect(formatNumber(11.2)).toBe("11.2")
    expect(formatNumber(-0.020416666666665861)).toBe(String(-0.020416666666665861))
    expect(Number(formatNumber(Math.PI))).toBe(Math.PI)
    expect(formatNumber(1e21)).toBe("1e+21")
    expect(formatNumber(Number.NaN)).toBe("")
  })
})
