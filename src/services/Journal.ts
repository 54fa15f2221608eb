import { Context, Data, Effect } from "effect"

export class JournalError extends Data.TaggedError("JournalError")<{ readonly path: string; readonly detail: string }> {
  override get message() {
    return `journal ${this.path}: ${this.detail}`
  }
}

/** One line of the audit trail; `type` says what it records. */
export interface JournalRecord {
  readonly type: string
  readonly [field: string]: unknown
}

export interface JournalService {
  /** Appends one record; it is on disk when the effect succeeds. */
  readonly append: (record: JournalRecord) => Effect.Effect<void, JournalError>
  /** The records the journal already held when it was opened (a restart reads its past from here). */
  readonly recovered: ReadonlyArray<JournalRecord>
}

export class Journal extends Context.Tag("rl-paper-trader/Journal")<Journal, JournalService>() {}
