import { FileSystem, Path } from "@effect/platform"
import { Console, Effect } from "effect"
import { type ReportOptions, writeReport } from "../programs/report.js"
import { UsageError } from "./options.js"

export interface ReportCommandOptions {
  /** A journal file, or a folder: a rehearsal's (`paper/`, `backtest/`, compare.json), a compare's or a backtest's. */
  readonly journal: string
  readonly vs?: string | undefined
  readonly out?: string | undefined
  readonly json?: string | undefined
}

/**
 * What a `--journal` (or `--vs`) path stands for. A folder is a run's output: `paper/journal.jsonl`
 * (a rehearsal) or `journal.jsonl` (a backtest, a paper session), with `backtest/journal.jsonl` and
 * `compare.json` beside it when it was compared.
 */
export const resolveReportInputs = (options: ReportCommandOptions) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const isFile = (file: string) => fs.stat(file).pipe(Effect.map((i) => i.type === "File"), Effect.orElseSucceed(() => false))
    const isFolder = (file: string) => fs.stat(file).pipe(Effect.map((i) => i.type === "Directory"), Effect.orElseSucceed(() => false))
    const journalIn = (dir: string) =>
      Effect.gen(function* () {
        for (const candidate of [path.join(dir, "paper", "journal.jsonl"), path.join(dir, "journal.jsonl")]) if (yield* isFile(candidate)) return candidate
        return yield* new UsageError({ detail: `${dir}: no journal in this folder (journal.jsonl, or a rehearsal's paper/journal.jsonl)` })
      })

    const given = path.resolve(options.journal)
    const folder = yield* isFolder(given)
    const journal = folder ? yield* journalIn(given) : given
    const vsGiven = options.vs === undefined ? undefined : path.resolve(options.vs)
    const vs = vsGiven === undefined ? undefined : (yield* isFolder(vsGiven)) ? yield* journalIn(vsGiven) : vsGiven
    const folderBacktest = folder ? path.join(given, "backtest", "journal.jsonl") : undefined
    const pairedInFolder = vs === undefined && folderBacktest !== undefined && (yield* isFile(folderBacktest))
    const compareFile = folder ? path.join(given, "compare.json") : undefined
    const compare = pairedInFolder && compareFile !== undefined && (yield* isFile(compareFile)) ? compareFile : undefined
    const inputs: ReportOptions = {
      journal,
      vs: pairedInFolder ? folderBacktest : vs,
      compare,
      out: path.resolve(options.out ?? path.join(folder ? given : path.dirname(journal), "report.html")),
      json: options.json === undefined ? undefined : path.resolve(options.json)
    }
    return inputs
  })

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} %`

/** `report --journal FILE|DIR [--vs FILE] [--out FILE] [--json FILE]`. */
export const reportCommand = (options: ReportCommandOptions) =>
  Effect.gen(function* () {
    const inputs = yield* resolveReportInputs(options)
    // a journal the user named that is missing or unreadable is their input: exit 2
    const written = yield* writeReport(inputs).pipe(Effect.catchTag("ReportInputError", (e) => Effect.fail(new UsageError({ detail: e.message }))))
    const d = written.data
    const vs = d.comparison === null ? "" : `; against ${d.comparison.labels.vs}: ${d.comparison.divergences.length} divergences, returns correlation ${d.comparison.returns_correlation?.toFixed(4) ?? "undefined"}`
    yield* Console.log(
      `${d.period.steps} steps, ${d.summary.fills} fills, total return ${pct(d.summary.total_return)}${vs}\n` +
        `report ${written.html}${written.json === undefined ? "" : `  data ${written.json}`}`
    )
    return 0
  })
