import { describe, expect, it } from "vitest"
import { scanJournal } from "../../src/core/journal-repair.js"

const bytes = (s: string) => new TextEncoder().encode(s)

describe("scanJournal", () => {
  it("keeps every complete record and cuts a torn last line", () => {
    const intact = '{"type":"a","n":1}\n{"type":"b","n":"é"}\n'
    const scan = scanJournal(bytes(intact + '{"type":"deci'))
    expect(scan.records.map((r) => r.type)).toEqual(["a", "b"])
    expect(scan.keepBytes).toBe(bytes(intact).length)
    expect(scan.tornBytes).toBe(bytes('{"type":"deci').length)
  })

  it("reports terminated lines that are not records, and keeps them", () => {
    const scan = scanJournal(bytes('{"type":"a"}\nnot json\n[1]\n{"type":"b"}\n'))
    expect(scan.records.map((r) => r.type)).toEqual(["a", "b"])
    expect(scan.badLines).toEqual([2, 3])
    expect(scan.tornBytes).toBe(0)
  })

  it("handles an empty file and a file with no newline at all", () => {
    expect(scanJournal(bytes(""))).toEqual({ records: [], keepBytes: 0, tornBytes: 0, badLines: [] })
    const torn = scanJournal(bytes('{"type":"a"'))
    expect(torn.records).toEqual([])
    expect(torn.keepBytes).toBe(0)
    expect(torn.tornBytes).toBe(11)
  })
})
