import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { type ReportJson, reportJson } from "../core/report-data.js"
import { writeReport } from "./report.js"
import { runSession, type SessionSettings } from "./session.js"

/**
 * report.json: `steps`, `orders`, `fills`, `initial_equity`, `final_equity`, `total_return`,
 * `sharpe`, `max_drawdown`, `turnover`, `rejections`, `buy_and_hold_return` as always, then the
 * period, the metrics, costs, per-ticker figures and daily returns (src/core/report-data.ts).
 */
export type BacktestReport = ReportJson

/**
 * A backtest is a trading session over simulation layers: run it, then build the report from the
 * journal it wrote (as for a rehearsal or a paper session) and write `report.json` and
 * `report.html` beside it. Deterministic: the same inputs give byte-identical journals and reports.
 */
export const backtest = (
  settings: SessionSettings & {
    readonly outDir: string
    /** The journal the session's Journal layer writes (default `outDir/journal.jsonl`). */
    readonly journalFile?: string | undefined
    /** The model's registry folder, for the report's model card. */
    readonly modelDir?: string | undefined
  }
) =>
  Effect.gen(function* () {
    yield* runSession(settings)
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(settings.outDir, { recursive: true })
    const written = yield* writeReport({
      journal: settings.journalFile ?? path.join(settings.outDir, "journal.jsonl"),
      out: path.join(settings.outDir, "report.html"),
      json: path.join(settings.outDir, "report.json"),
      modelDir: settings.modelDir
    })
    const report: BacktestReport = reportJson(written.data)
    return report
  })
