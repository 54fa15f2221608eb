import * as fs from "node:fs"
import * as nodePath from "node:path"
import { Effect, Layer } from "effect"
import { JOURNAL_VERSION, readJournal, type RecordOf } from "../domain/Journal.js"
import { ForeignJournal, Journal, JournalError, type JournalLocked, type JournalOwner, type JournalRecord } from "../services/Journal.js"
import { acquireJournalLock } from "./JournalLock.js"

/** `fs.writeSync`'s buffer form: bytes written, possibly fewer than asked (a full disk, a signal). */
export type WriteFunction = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number

export interface JsonlJournalOptions {
  readonly path: string
  /** fdatasync after every record, so a crash never loses an acknowledged one (live trading). */
  readonly sync: boolean
  /** Start a new file instead of appending (a backtest's journal is its own). */
  readonly truncate?: boolean
  /** Start a new file, keeping the old one beside it as `<name>.<timestamp>` (`trade --fresh-journal`). */
  readonly moveAside?: boolean
  /** Whose journal this is: opening one that holds another deployment's or model's `session_start` fails. */
  readonly owner?: JournalOwner
  /** The low-level write, injectable so tests can play a full disk; default `fs.writeSync`. */
  readonly write?: WriteFunction
  /** The caller already holds the journal's lock (taken before anything else, e.g. before asking the broker). */
  readonly lockHeld?: boolean
}

const sameOwner = (a: JournalOwner, b: JournalOwner) =>
  a.deployment === b.deployment && a.model.name === b.model.name && a.model.version === b.model.version && a.model.sha256 === b.model.sha256

/** `journal.jsonl.20260217T143000Z` (a second or more apart; a suffix if that name is taken). */
const asideName = (file: string, now: Date): string => {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")
  let candidate = `${file}.${stamp}`
  for (let n = 2; fs.existsSync(candidate); n++) candidate = `${file}.${stamp}-${n}`
  return candidate
}

const errorText = (e: unknown) => {
  const err = e as NodeJS.ErrnoException
  return err.code !== undefined && !err.message.startsWith(err.code) ? `${err.code}: ${err.message}` : err.message
}

/**
 * The audit trail as JSON Lines: one record per line, appended whole or not at all, and (optionally)
 * synced. The file's lock is held for the layer's scope, so exactly one process writes it.
 */
export const JsonlJournalLive = (options: JsonlJournalOptions): Layer.Layer<Journal, JournalError | JournalLocked | ForeignJournal> =>
  Layer.scoped(
    Journal,
    Effect.gen(function* () {
      const file = options.path
      const write: WriteFunction = options.write ?? ((fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position))
      const fail = (detail: string) => (e: unknown) => new JournalError({ path: file, detail: `${detail}: ${errorText(e)}` })

      yield* Effect.try({ try: () => fs.mkdirSync(nodePath.dirname(file), { recursive: true }), catch: fail("cannot create its folder") })
      // before anything is read: a second instance must not even recover from a journal another one writes
      if (options.lockHeld !== true) yield* acquireJournalLock(file)

      if (options.moveAside === true && fs.existsSync(file) && fs.statSync(file).size > 0) {
        const aside = yield* Effect.try({
          try: () => {
            const to = asideName(file, new Date())
            fs.renameSync(file, to)
            return to
          },
          catch: fail("cannot move the old journal aside")
        })
        yield* Effect.logInfo("journal moved aside: starting a new one").pipe(Effect.annotateLogs({ path: file, kept: aside }))
      }
      const fresh = options.truncate === true || options.moveAside === true

      // A crash can leave the last line half-written: keep every intact record, cut the torn tail.
      const scan = yield* Effect.try({
        try: () => {
          if (fresh || !fs.existsSync(file)) return undefined
          const found = readJournal(fs.readFileSync(file))
          if (found.version !== undefined && found.version > JOURNAL_VERSION) {
            throw new Error(`written by a newer rl-paper-trader (journal version ${found.version}; this one reads up to ${JOURNAL_VERSION})`)
          }
          return found
        },
        catch: (e) => new JournalError({ path: file, detail: `cannot read: ${(e as Error).message}` })
      })
      if (scan !== undefined && options.owner !== undefined) {
        const expected = options.owner
        const foreign = scan.records
          .filter((r): r is RecordOf<"session_start"> => r.type === "session_start")
          .find((r) => !sameOwner({ deployment: r.deployment, model: r.model }, expected))
        if (foreign !== undefined) return yield* new ForeignJournal({ path: file, found: { deployment: foreign.deployment, model: foreign.model }, expected })
      }
      if (scan !== undefined && scan.tornBytes > 0) {
        yield* Effect.try({ try: () => fs.truncateSync(file, scan.keepBytes), catch: fail("cannot cut its torn last line") })
      }

      const fd = yield* Effect.acquireRelease(
        Effect.try({
          // positioned writes at the length we track (no O_APPEND): a refused record is cut back exactly
          try: () => fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | (fresh ? fs.constants.O_TRUNC : 0), 0o644),
          catch: fail("cannot open")
        }),
        (fd) => Effect.sync(() => fs.closeSync(fd))
      )
      let length = yield* Effect.try({ try: () => fs.fstatSync(fd).size, catch: fail("cannot stat") })
      // set when a refused record could not be cut back: the next append cuts it first
      let dirty = false

      /** Writes the whole line at the end, or leaves the file exactly as it was and throws. */
      const appendLine = (line: string) => {
        const bytes = Buffer.from(line, "utf8")
        const before = length
        let written = 0
        try {
          if (dirty) {
            fs.ftruncateSync(fd, before)
            dirty = false
          }
          while (written < bytes.length) {
            const n = write(fd, bytes, written, bytes.length - written, before + written)
            if (!(n > 0)) throw new Error(`the write made no progress`)
            written += n
          }
          if (options.sync) fs.fdatasyncSync(fd)
        } catch (e) {
          const what = `the disk refused the write (${errorText(e)}) after ${written} of ${bytes.length} bytes`
          try {
            fs.ftruncateSync(fd, before)
            if (options.sync) fs.fdatasyncSync(fd)
          } catch (cut) {
            dirty = true
            throw new Error(`${what}; cutting the partial record back also failed (${errorText(cut)}): the next append or start cuts it`)
          }
          throw new Error(`${what}; the record was cut back, nothing partial was left`)
        }
        length = before + bytes.length
      }

      if (scan !== undefined && scan.tornBytes > 0) {
        yield* Effect.logWarning("journal repaired: a torn last line was cut").pipe(Effect.annotateLogs({ path: file, droppedBytes: scan.tornBytes }))
        yield* Effect.try({
          try: () => appendLine(JSON.stringify({ type: "journal_repaired", dropped_bytes: scan.tornBytes, kept_records: scan.records.length }) + "\n"),
          catch: (e) => new JournalError({ path: file, detail: (e as Error).message })
        })
      }
      if (scan !== undefined && scan.unreadable.length > 0) {
        yield* Effect.logWarning("journal has unreadable lines: kept on disk, not read").pipe(
          Effect.annotateLogs({ path: file, lines: scan.unreadable.slice(0, 5).map((u) => `${u.line}: ${u.problem}`).join("; ") })
        )
      }
      return Journal.of({
        recovered: scan?.records ?? [],
        append: (record: JournalRecord) =>
          Effect.try({
            try: () => appendLine(JSON.stringify(record) + "\n"),
            catch: (e) => new JournalError({ path: file, detail: (e as Error).message })
          })
      })
    })
  )

/** A journal in memory, for tests: `records` holds what was appended. */
export const makeMemoryJournal = () => {
  const records: Array<JournalRecord> = []
  return { records, layer: Layer.succeed(Journal, Journal.of({ recovered: [], append: (r) => Effect.sync(() => void records.push(r)) })) }
}
