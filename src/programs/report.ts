import { FileSystem, Path } from "@effect/platform"
import { Data, Effect, ParseResult, Schema } from "effect"
import { buildReportData, type ComparisonInput, type ModelDetails, type ReportData, reportJson } from "../core/report-data.js"
import { decodeDocument, readYaml } from "../config/yaml.js"
import { type JournalContents, readJournal } from "../domain/Journal.js"
import { ModelCard } from "../domain/Model.js"
import { echartsScriptPath, renderReportHtml } from "../report/html.js"
import { writeFileAtomic } from "./atomic.js"

/** A report's input (a journal, compare.json, a model folder) is missing or cannot be read: the message names the file. */
export class ReportInputError extends Data.TaggedError("ReportInputError")<{ readonly file: string; readonly detail: string }> {
  override get message() {
    return `${this.file}: ${this.detail}`
  }
}

/** report.html or report.json could not be written. */
export class ReportWriteError extends Data.TaggedError("ReportWriteError")<{ readonly file: string; readonly detail: string }> {
  override get message() {
    return `cannot write the report ${this.file}: ${this.detail}`
  }
}

export interface ReportOptions {
  /** The run's journal (a backtest's, or the paper session's). */
  readonly journal: string
  /** A second journal to overlay: the backtest of the same bars. */
  readonly vs?: string | undefined
  /** compare.json of the two journals (written by `compare` and `rehearse`); computed from them when absent. */
  readonly compare?: string | undefined
  /** Where report.html goes. */
  readonly out: string
  /** Where report.json goes, when wanted. */
  readonly json?: string | undefined
  /** The model's registry folder, for the model card's details beyond what the journal names. */
  readonly modelDir?: string | undefined
}

export interface ReportWritten {
  readonly data: ReportData
  readonly html: string
  readonly json: string | undefined
}

/** The part of compare.json a report shows (src/core/compare.ts `SessionComparison`). */
const CompareFile = Schema.Struct({
  decisions: Schema.Struct({ common: Schema.Number }),
  identical_orders_pct: Schema.Number,
  divergences: Schema.Array(Schema.Struct({ bar_time: Schema.String, cause: Schema.String, detail: Schema.String })),
  unexplained: Schema.Number,
  equity: Schema.optional(
    Schema.Struct({
      returns_correlation: Schema.NullOr(Schema.Number),
      dtw_annualized: Schema.NullOr(Schema.Number),
      final_diff_pct: Schema.NullOr(Schema.Number)
    })
  )
})

const systemDetail = (e: { readonly _tag: string; readonly reason?: string; readonly message: string }) =>
  e._tag === "SystemError" && e.reason === "NotFound" ? "not found" : e.message

/** Reads a journal with the one reader; a missing, unreadable or record-less file is a {@link ReportInputError}. */
export const readJournalFile = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(Effect.mapError((e) => new ReportInputError({ file, detail: e._tag === "SystemError" && e.reason === "NotFound" ? "no such journal" : `cannot read the journal: ${e.message}` })))
    if (info.type !== "File") return yield* new ReportInputError({ file, detail: "is not a journal file (a folder? give the journal.jsonl in it, or a rehearsal or compare folder)" })
    const bytes = yield* fs.readFile(file).pipe(Effect.mapError((e) => new ReportInputError({ file, detail: `cannot read the journal: ${systemDetail(e)}` })))
    const contents: JournalContents = readJournal(bytes)
    if (contents.records.length === 0) {
      const first = contents.unreadable[0]
      return yield* new ReportInputError({ file, detail: first === undefined ? "holds no journal record" : `holds no journal record (line ${first.line}: ${first.problem})` })
    }
    return contents
  })

const readComparison = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(Effect.mapError((e) => new ReportInputError({ file, detail: `cannot read compare.json: ${systemDetail(e)}` })))
    const value = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => new ReportInputError({ file, detail: "is not JSON" }) })
    const decoded: ComparisonInput = yield* Schema.decodeUnknown(CompareFile)(value).pipe(
      Effect.mapError((e) => new ReportInputError({ file, detail: `is not a comparison: ${ParseResult.TreeFormatter.formatErrorSync(e).split("\n").slice(0, 3).join(" ")}` }))
    )
    return decoded
  })

const readModelDetails = (modelDir: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const file = path.join(modelDir, "model.yaml")
    const card = yield* readYaml(file, "model.yaml").pipe(
      Effect.flatMap((doc) => decodeDocument(ModelCard, doc, { unknownKeys: "ignore" })),
      Effect.mapError((e) => new ReportInputError({ file, detail: e.detail }))
    )
    const details: ModelDetails = {
      layout: card.observation.layout,
      observation_size: card.observation.size,
      action_size: card.action.size,
      hmax: card.action.hmax,
      normalization: card.normalization !== undefined,
      ...(card.description === undefined ? {} : { description: card.description })
    }
    return details
  })

const unreadableNote = (file: string, contents: JournalContents): ReadonlyArray<string> =>
  contents.unreadable.length === 0
    ? []
    : [`${file}: ${contents.unreadable.length} line${contents.unreadable.length === 1 ? "" : "s"} could not be read and are left out (first: line ${contents.unreadable[0].line}, ${contents.unreadable[0].problem})`]

/**
 * Reads a run's journal (and a second one, their compare.json, the model's card), builds the
 * report's data, and writes report.html (and report.json when asked), each replaced whole.
 */
export const writeReport = (options: ReportOptions) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const journal = yield* readJournalFile(options.journal)
    const vs = options.vs === undefined ? undefined : yield* readJournalFile(options.vs)
    const comparison = options.compare === undefined ? undefined : yield* readComparison(options.compare)
    const model = options.modelDir === undefined ? undefined : yield* readModelDetails(options.modelDir)
    const data = buildReportData({
      records: journal.records,
      vs: vs?.records,
      comparison,
      model,
      notes: [...unreadableNote(options.journal, journal), ...(vs === undefined ? [] : unreadableNote(options.vs!, vs))]
    })
    const echartsFile = echartsScriptPath()
    const echarts = yield* fs.readFileString(echartsFile).pipe(Effect.mapError((e) => new ReportInputError({ file: echartsFile, detail: `cannot read the charting library: ${systemDetail(e)}` })))
    // named from the report's folder, so a report moved with its run still says where its data is
    const shown = (file: string) => path.relative(path.dirname(path.resolve(options.out)), path.resolve(file)) || file
    const sources = [
      { label: "journal", file: shown(options.journal) },
      ...(options.vs === undefined ? [] : [{ label: "vs", file: shown(options.vs) }]),
      ...(options.compare === undefined ? [] : [{ label: "comparison", file: shown(options.compare) }])
    ]
    const write = (file: string, text: string) =>
      fs.makeDirectory(path.dirname(path.resolve(file)), { recursive: true }).pipe(
        Effect.zipRight(writeFileAtomic(file, text)),
        Effect.mapError((e) => new ReportWriteError({ file, detail: systemDetail(e) }))
      )
    yield* write(options.out, renderReportHtml(data, { echarts, sources }))
    if (options.json !== undefined) yield* write(options.json, JSON.stringify(reportJson(data), null, 2) + "\n")
    const written: ReportWritten = { data, html: options.out, json: options.json }
    return written
  })
