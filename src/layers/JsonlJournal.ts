import * as fs from "node:fs"
import * as nodePath from "node:path"
import { Effect, Layer } from "effect"
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
      const fd = yield* Effect.acquireRelease(
        Effect.try({
          try: () => {
            fs.mkdirSync(nodePath.dirname(options.path), { recursive: true })
            return fs.openSync(options.path, options.truncate === true ? "w" : "a")
          },
          catch: (e) => new JournalError({ path: options.path, detail: `cannot open: ${(e as Error).message}` })
        }),
        (fd) => Effect.sync(() => fs.closeSync(fd))
      )
      return Journal.of({
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
  return { records, layer: Layer.succeed(Journal, Journal.of({ append: (r) => Effect.sync(() => void records.push(r)) })) }
}
