import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import { planRecovery } from "../../src/core/recovery.js"
import { decodeJournalRecord, JOURNAL_VERSION, readJournal } from "../../src/domain/Journal.js"
import { JsonlJournalLive } from "../../src/layers/JsonlJournal.js"
import { Journal } from "../../src/services/Journal.js"
import { tmpTree } from "../support/tmp.js"

const v1 = fs.readFileSync(path.join(__dirname, "../fixtures/journal-v1/trade.jsonl"))

describe("the typed journal", () => {
  it("decodes a journal written before version 2, every line, and plans its recovery", () => {
    const read = readJournal(v1)
    expect(read.unreadable).toEqual([])
    expect(read.version).toBe(1)
    expect(read.records).toHaveLength(v1.toString("utf8").trimEnd().split("\n").length)
    const plan = planRecovery(read.records)
    expect(plan.lastDecisionBarTime).toBe(Math.max(...read.records.flatMap((r) => (r.type === "decision" ? [Date.parse(r.bar_time)] : []))))
    expect([...plan.positions.values()].some((q) => q > 0)).toBe(true)
  })

  it("names the line and the field of a record of the wrong shape, and a torn tail is not read", () => {
    const text = [
      JSON.stringify({ type: "fill", time: "2026-02-17T15:00:00.000Z", ticker: "A", side: "buy", qty: 1, price: 1, client_order_id: "x" }),
      JSON.stringify({ type: "fill", time: "2026-02-17T15:00:00.000Z", ticker: "A", side: "hold", qty: 1, price: 1, client_order_id: "y" }),
      "not json",
      JSON.stringify({ type: "no_such_record" }),
      '{"type":"fill","ti'
    ].join("\n")
    const read = readJournal(new TextEncoder().encode(text))
    expect(read.records).toHaveLength(1)
    expect(read.unreadable.map((u) => u.line)).toEqual([2, 3, 4])
    expect(read.unreadable[0].problem).toMatch(/side/)
    expect(read.tornBytes).toBe('{"type":"fill","ti'.length)
    expect(Either.isLeft(decodeJournalRecord({ type: "portfolio", time: "t", bar_time: "t", cash: "100" }))).toBe(true)
  })

  it.effect("opens and resumes a version 1 journal; refuses one from a newer version, naming it", () =>
    Effect.gen(function* () {
      const dir = tmpTree({ "old/journal.jsonl": v1.toString("utf8") })
      const recovered = yield* Effect.scoped(Effect.map(openJournal(path.join(dir, "old/journal.jsonl")), (j) => j.recovered.length))
      expect(recovered).toBe(readJournal(v1).records.length)
      const newer = JSON.stringify({ type: "session_start", time: "2026-02-17T15:00:00.000Z", journal_version: JOURNAL_VERSION + 1, deployment: "d", model: { name: "m", version: "1", sha256: "s" }, tickers: [], indicators: [], interval: "5m" })
      const dir2 = tmpTree({ "new/journal.jsonl": `${newer}\n` })
      const exit = yield* Effect.exit(Effect.scoped(openJournal(path.join(dir2, "new/journal.jsonl"))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(new RegExp(`journal version ${JOURNAL_VERSION + 1}`))
    }))
})

describe("readJournal on a file a crash may have cut", () => {
  const bytes = (s: string) => new TextEncoder().encode(s)
  const cut = JSON.stringify({ type: "cancel", time: "2026-02-17T15:00:00.000Z", ticker: "É", side: "sell", qty: 1, client_order_id: "é" }) + "\n"

  it("keeps every complete record and measures a torn last line in bytes", () => {
    const read = readJournal(bytes(cut + cut + '{"type":"deci'))
    expect(read.records).toHaveLength(2)
    expect(read.keepBytes).toBe(bytes(cut + cut).length)
    expect(read.tornBytes).toBe(bytes('{"type":"deci').length)
  })

  it("handles an empty file and a file with no newline at all", () => {
    expect(readJournal(bytes(""))).toEqual({ records: [], keepBytes: 0, tornBytes: 0, unreadable: [], version: undefined })
    const torn = readJournal(bytes('{"type":"a"'))
    expect(torn.records).toEqual([])
    expect(torn.keepBytes).toBe(0)
    expect(torn.tornBytes).toBe(11)
  })
})

/** Opens a journal file as the trader does and hands back the service. */
const openJournal = (file: string) => Effect.provide(Journal, JsonlJournalLive({ path: file, sync: false }))
