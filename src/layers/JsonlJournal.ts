import * as fs from "node:fs"
import * as nodePath from "node:path"
import { Effect, Layer } from "effect"
import { JOURNAL_VERSION, readJournal } from "../domain/Journal.js"
import { Journal, JournalError, type JournalRecord } from "../services/Journal.js"

export interface JsonlJournalOptions {
  readonly path: string
  /** fdatasync after every record, so a crash never loses an acknowledged one (live trading). */
  readonly sync: boolean
  /** Start a new file instead of appending (a backtest's journal is its own). */
  readonly truncate?: boolean
}

/** The audit trail as JSON Lines: one record per line, appended and (optionally) synced. */
export const JsonlJournalLive = (options: JsonlJournalOptions): Layer.Layer<Journal, JournalError> =>
  Layer.scoped(
    Journal,
    Effect.gen(function* () {
      // A crash can leave the last line half-written: keep every intact record, cut the torn tail.
      const scan = yield* Effect.try({
        try: () => {
          fs.mkdirSync(nodePath.dirname(options.path), { recursive: true })
          if (options.truncate === true || !fs.existsSync(options.path)) return undefined
          const found = readJournal(fs.readFileSync(options.path))
          if (found.version !== undefined && found.version > JOURNAL_VERSION) {
            throw new Error(`written by a newer rl-paper-trader (journal version ${found.version}; this one reads up to ${JOURNAL_VERSION})`)
          }
          if (found.tornBytes > 0) fs.truncateSync(options.path, found.keepBytes)
          return found
        },
        catch: (e) => new JournalError({ path: options.path, detail: `cannot read: ${(e as Error).message}` })
      })
      const fd = yield* Effect.acquireRelease(
        Effect.try({
          try: () => fs.openSync(options.path, options.truncate === true ? "w" : "a"),
          catch: (e) => new JournalError({ path: options.path, detail: `cannot open: ${(e as Error).message}` })
        }),
        (fd) => Effect.sync(() => fs.closeSync(fd))
      )
      if (scan !== undefined && scan.tornBytes > 0) {
        yield* Effect.logWarning("journal repaired: a torn last line was cut").pipe(Effect.annotateLogs({ path: options.path, droppedBytes: scan.tornBytes }))
        fs.writeSync(fd, JSON.stringify({ type: "journal_repaired", dropped_bytes: scan.tornBytes, kept_records: scan.records.length }) + "\n")
      }
      if (scan !== undefined && scan.unreadable.length > 0) {
        yield* Effect.logWarning("journal has unreadable lines: kept on disk, not read").pipe(
          Effect.annotateLogs({ path: options.path, lines: scan.unreadable.slice(0, 5).map((u) => `${u.line}: ${u.problem}`).join("; ") })
        )
      }
      return Journal.of({
        recovered: scan?.records ?? [],
        append: (record: JournalRecord) =>
          Effect.try({
            try: () => {
              fs.writeSync(fd, JSON.stringify(record) + "\n")
              if (options.sync) fs.fdatasyncSync(fd)
            },
            catch: (e) => new JournalError({ path: options.path, detail: `cannot write: ${(e as Error).message}` })
          })
      })
    })
  )

/** A journal in memory, for tests: `records` holds what was appended. */
export const makeMemoryJournal = () => {
  const records: Array<JournalRecord> = []
  return { records, layer: Layer.succeed(Journal, Journal.of({ recovered: [], append: (r) => Effect.sync(() => void records.push(r)) })) }
}
