/**
 * The Progress port drawn on a terminal with `cli-progress`: one bar on stderr, only when stderr is
 * a terminal (a pipe or a log file gets nothing). The bar is redrawn at most every `everyMs` of wall
 * time, whatever clock the program runs on, so a fast backtest does not spend its time drawing.
 */
import { SingleBar } from "cli-progress"
import { Effect, Layer } from "effect"
import { noProgress, Progress, type ProgressService } from "../services/Progress.js"

export interface TerminalProgressOptions {
  /** Where to draw (default stderr); nothing is drawn unless it is a terminal. */
  readonly stream?: NodeJS.WritableStream & { readonly isTTY?: boolean }
  /** Wall time in ms (default `performance.now()`). */
  readonly now?: () => number
  /** The least wall time between two redraws, ms (default 100). */
  readonly everyMs?: number
}

const KNOWN_TOTAL = "{label} [{bar}] {percentage}%  {value}/{total}  {detail}  ETA {eta_formatted}"
const UNKNOWN_TOTAL = "{label}  {value} done  {detail}  {duration_formatted}"

export const makeTerminalProgress = (options: TerminalProgressOptions = {}): ProgressService => {
  const stream = options.stream ?? process.stderr
  if (stream.isTTY !== true) return noProgress
  const now = options.now ?? (() => performance.now())
  const everyMs = options.everyMs ?? 100
  let bar: SingleBar | undefined
  let value = 0
  let detail = ""
  let drawnAt = 0
  const draw = () => {
    bar?.update(value, { detail })
    drawnAt = now()
  }
  const stop = () => {
    if (bar === undefined) return
    draw()
    bar.stop()
    bar = undefined
  }
  return {
    start: (label, total) =>
      Effect.sync(() => {
        stop()
        value = 0
        detail = ""
        bar = new SingleBar({ stream, format: total === undefined ? UNKNOWN_TOTAL : KNOWN_TOTAL, barsize: 30, clearOnComplete: true, hideCursor: false })
        bar.start(total ?? 0, 0, { label, detail })
        drawnAt = now()
      }),
    advance: (n, at) =>
      Effect.sync(() => {
        if (bar === undefined) return
        value += n
        if (at !== undefined) detail = at
        if (now() - drawnAt >= everyMs) draw()
      }),
    done: Effect.sync(stop)
  }
}

/** A progress bar on stderr when it is a terminal, else nothing; a bar still drawn goes when the layer's scope closes. */
export const TerminalProgress: Layer.Layer<Progress> = Layer.scoped(
  Progress,
  Effect.acquireRelease(Effect.sync(() => makeTerminalProgress()), (progress) => progress.done)
)
