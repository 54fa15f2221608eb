import { Context, Data, Effect } from "effect"
import type { JournalRecord } from "../domain/Journal.js"

export type { JournalRecord } from "../domain/Journal.js"

export class JournalError extends Data.TaggedError("JournalError")<{ readonly path: string; readonly detail: string }> {
  override get message() {
    return `journal ${this.path}: ${this.detail}`
  }
}

export interface JournalService {
  /** Appends one record; it is on disk when the effect succeeds. */
  readonly append: (record: JournalRecord) => Effect.Effect<void, JournalError>
  /** The records the journal already held when it was opened, decoded (a restart reads its past from here). */
  readonly recovered: ReadonlyArray<JournalRecord>
}

/** The audit trail: the one writer of the typed records in `domain/Journal.ts`. */
export class Journal extends Context.Tag("rl-paper-trader/Journal")<Journal, JournalService>() {}
