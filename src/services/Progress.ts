import { Context, Effect, Layer } from "effect"

export interface ProgressService {
  /** A task of `total` units begins (`undefined`: the total is not known); it replaces any task before it. */
  readonly start: (label: string, total: number | undefined) => Effect.Effect<void>
  /** `n` more units are done; `detail` says where the task is now (a bar's date, a range). */
  readonly advance: (n: number, detail?: string) => Effect.Effect<void>
  /** The task is over (finished, failed or interrupted): whatever shows it goes away. */
  readonly done: Effect.Effect<void>
}

/** Shows nothing: the default, for tests, pipes and services. */
export const noProgress: ProgressService = { start: () => Effect.void, advance: () => Effect.void, done: Effect.void }

/**
 * How far a long task (a backtest's bars, a download's ranges, a session's steps) has come. Programs
 * report to it; a terminal draws it (src/cli/progress.ts). Nothing is shown unless a layer is provided.
 */
export class Progress extends Context.Reference<Progress>()("rl-paper-trader/Progress", { defaultValue: () => noProgress }) {}

/** The default, as a layer: shows nothing. */
export const ProgressNone: Layer.Layer<Progress> = Layer.succeed(Progress, noProgress)
