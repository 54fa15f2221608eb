import { Context, Data, Effect } from "effect"
import type { JournalRecord } from "../domain/Journal.js"

export type { JournalRecord } from "../domain/Journal.js"

export class JournalError extends Data.TaggedError("JournalError")<{ readonly path: string; readonly detail: string }> {
  override get message() {
    return `journal ${this.path}: ${this.detail}`
  }
}

/** Another live process holds this journal's lock (a double start): the CLI exits 2. */
export class JournalLocked extends Data.TaggedError("JournalLocked")<{ readonly path: string; readonly pid: number | undefined }> {
  override get message() {
    return `journal ${this.path} is in use by another rl-paper-trader (pid ${this.pid ?? "unknown"}): stop it first`
  }
}

/** Who wrote a journal: its `session_start` records' deployment and model. */
export interface JournalOwner {
  readonly deployment: string
  readonly model: { readonly name: string; readonly version: string; readonly sha256: string }
}

const describeOwner = (o: JournalOwner) => `deployment "${o.deployment}", model ${o.model.name} ${o.model.version} (sha256 ${o.model.sha256.slice(0, 12)}…)`

/** The journal already holds another deployment's or model's sessions: the CLI exits 2. */
export class ForeignJournal extends Data.TaggedError("ForeignJournal")<{ readonly path: string; readonly found: JournalOwner; readonly expected: JournalOwner }> {
  override get message() {
    return (
      `journal ${this.path} belongs to ${describeOwner(this.found)}; this is ${describeOwner(this.expected)}: ` +
      `point journal: elsewhere, or pass --fresh-journal to start a new one (the old one is kept as ${this.path.split(/[\\/]/).pop()}.<timestamp>)`
    )
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
