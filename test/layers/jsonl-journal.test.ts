import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { readJournal } from "../../src/domain/Journal.js"
import { JsonlJournalLive, type JsonlJournalOptions, type WriteFunction } from "../../src/layers/JsonlJournal.js"
import { ForeignJournal, Journal, JournalError, type JournalOwner, type JournalRecord } from "../../src/services/Journal.js"
import { tmpTree } from "../support/tmp.js"

const demo: JournalOwner = { deployment: "demo", model: { name: "demo", version: "1", sha256: "52e5a0c3b1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e" } }
const emu: JournalOwner = { deployment: "emu", model: { name: "demo", version: "2", sha256: "aa11b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f" } }

const sessionStart = (owner: JournalOwner): JournalRecord => ({
  type: "session_start",
  time: "2026-02-17T14:30:00.000Z",
  journal_version: 2,
  deployment: owner.deployment,
  model: owner.model,
  tickers: ["SYNA"],
  indicators: ["macd"],
  interval: "5m",
  mode: "trade"
})

const record = (n: number): JournalRecord => ({ type: "session_error", time: "2026-02-17T15:00:00.000Z", error: `record ${n} ${"x".repeat(40)}` })

const line = (r: JournalRecord) => Buffer.from(JSON.stringify(r) + "\n")

/** Opens the journal (the layer, scoped to `use`) and runs `use` on the service. */
const withJournal = <A, E>(options: JsonlJournalOptions, use: (journal: Journal["Type"]) => Effect.Effect<A, E>) =>
  Effect.flatMap(Journal, use).pipe(Effect.provide(JsonlJournalLive(options)))

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
  return exit.cause.error
}

const newJournal = (owner: JournalOwner, ...records: ReadonlyArray<JournalRecord>) => {
  const dir = tmpTree({ "journal.jsonl": Buffer.concat([sessionStart(owner), ...records].map(line)) })
  return path.join(dir, "journal.jsonl")
}

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 })

describe("the journal knows whose it is", () => {
  it.effect("refuses another deployment's and model's journal, naming both, and leaves it as it was", () =>
    Effect.gen(function* () {
      const file = newJournal(demo, record(1))
      const before = fs.readFileSync(file)
      const error = failureOf(yield* withJournal({ path: file, sync: false, owner: emu }, () => Effect.void).pipe(Effect.exit))
      expect(error).toBeInstanceOf(ForeignJournal)
      expect(error.message).toBe(
        `journal ${file} belongs to deployment "demo", model demo 1 (sha256 52e5a0c3b1d2…); this is deployment "emu", model demo 2 (sha256 aa11b2c3d4e5…): ` +
          "point journal: elsewhere, or pass --fresh-journal to start a new one (the old one is kept as journal.jsonl.<timestamp>)"
      )
      expect(fs.readFileSync(file)).toEqual(before)
    })
  )

  it.effect("refuses a journal whose model differs only in version, or only in sha256; opens its own", () =>
    Effect.gen(function* () {
      const file = newJournal(demo, record(1))
      for (const other of [
        { ...demo, model: { ...demo.model, version: "2" } },
        { ...demo, model: { ...demo.model, sha256: demo.model.sha256.replace(/.$/, "0") } },
        { ...demo, model: { ...demo.model, name: "other" } }
      ]) {
        expect(failureOf(yield* withJournal({ path: file, sync: false, owner: other }, () => Effect.void).pipe(Effect.exit))).toBeInstanceOf(ForeignJournal)
      }
      const recovered = yield* withJournal({ path: file, sync: false, owner: demo }, (j) => Effect.succeed(j.recovered))
      expect(recovered.map((r) => r.type)).toEqual(["session_start", "session_error"])
    })
  )

  it.effect("--fresh-journal moves the old journal aside, byte for byte, and starts a new one", () =>
    Effect.gen(function* () {
      const file = newJournal(demo, record(1))
      const old = fs.readFileSync(file)
      const recovered = yield* withJournal({ path: file, sync: true, owner: emu, moveAside: true }, (j) =>
        j.append(sessionStart(emu)).pipe(Effect.as(j.recovered))
      )
      expect(recovered).toEqual([])
      const kept = fs.readdirSync(path.dirname(file)).filter((f) => f !== "journal.jsonl")
      expect(kept).toHaveLength(1)
      expect(kept[0]).toMatch(/^journal\.jsonl\.\d{8}T\d{6}Z$/)
      expect(fs.readFileSync(path.join(path.dirname(file), kept[0]))).toEqual(old)
      expect(fs.readFileSync(file)).toEqual(line(sessionStart(emu)))
      // and the new journal is emu's own from now on
      expect(Exit.isSuccess(yield* withJournal({ path: file, sync: false, owner: emu }, () => Effect.void).pipe(Effect.exit))).toBe(true)
    })
  )
})

describe("no torn record, ever", () => {
  /** A disk with `room` bytes left: a write takes what fits, the next one fails with ENOSPC. */
  const fullDisk = (room: { left: number }): WriteFunction => (fd, buffer, offset, length, position) => {
    if (room.left <= 0) throw enospc()
    const n = fs.writeSync(fd, buffer, offset, Math.min(length, room.left), position)
    room.left -= n
    return n
  }

  it.effect("ENOSPC mid-record: the append fails saying so, the file is exactly as before, the next append is intact", () =>
    Effect.gen(function* () {
      const file = newJournal(demo)
      const room = { left: Infinity }
      yield* withJournal({ path: file, sync: true, owner: demo, write: fullDisk(room) }, (journal) =>
        Effect.gen(function* () {
          yield* journal.append(record(1))
          const before = fs.readFileSync(file)
          room.left = 10
          const error = failureOf(yield* journal.append(record(2)).pipe(Effect.exit))
          expect(error).toBeInstanceOf(JournalError)
          expect(error.message).toMatch(/the disk refused the write \(ENOSPC: no space left on device, write\) after 10 of \d+ bytes; the record was cut back, nothing partial was left/)
          expect(fs.readFileSync(file)).toEqual(before)
          // and again with nothing written at all
          room.left = 0
          failureOf(yield* journal.append(record(2)).pipe(Effect.exit))
          expect(fs.readFileSync(file)).toEqual(before)

          room.left = Infinity
          yield* journal.append(record(3))
          expect(fs.readFileSync(file)).toEqual(Buffer.concat([before, line(record(3))]))
        })
      )
      const read = readJournal(fs.readFileSync(file))
      expect({ torn: read.tornBytes, unreadable: read.unreadable }).toEqual({ torn: 0, unreadable: [] })
      expect(read.records).toEqual([sessionStart(demo), record(1), record(3)])
    })
  )

  it.effect("short writes are completed: a record written 7 bytes at a time is whole", () =>
    Effect.gen(function* () {
      const file = newJournal(demo)
      let calls = 0
      const trickle: WriteFunction = (fd, buffer, offset, length, position) => {
        calls++
        return fs.writeSync(fd, buffer, offset, Math.min(7, length), position)
      }
      yield* withJournal({ path: file, sync: false, owner: demo, write: trickle }, (journal) =>
        Effect.gen(function* () {
          yield* journal.append(record(1))
          yield* journal.append(record(2))
        })
      )
      expect(calls).toBe(Math.ceil(line(record(1)).length / 7) + Math.ceil(line(record(2)).length / 7))
      expect(readJournal(fs.readFileSync(file)).records).toEqual([sessionStart(demo), record(1), record(2)])
    })
  )

  it.effect("a write that makes no progress fails the append instead of spinning, leaving nothing", () =>
    Effect.gen(function* () {
      const file = newJournal(demo)
      const before = fs.readFileSync(file)
      let calls = 0
      const stuck: WriteFunction = (fd, buffer, offset, length, position) => (++calls === 1 ? fs.writeSync(fd, buffer, offset, 5, position) : 0)
      const error = failureOf(yield* withJournal({ path: file, sync: false, owner: demo, write: stuck }, (j) => j.append(record(1))).pipe(Effect.exit))
      expect(error.message).toMatch(/the disk refused the write \(the write made no progress\) after 5 of \d+ bytes; the record was cut back/)
      expect(calls).toBe(2)
      expect(fs.readFileSync(file)).toEqual(before)
    })
  )
})
