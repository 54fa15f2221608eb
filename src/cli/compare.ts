import * as fs from "node:fs"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect } from "effect"
import { compareJournals, type SessionComparison } from "../core/compare.js"
import { loadDeployment } from "../config/deployment.js"
import { readJournal } from "../domain/Journal.js"
import { writeReport } from "../programs/report.js"
import { BarsFileError } from "../services/MarketData.js"
import { UsageError } from "./options.js"
import { runBacktest } from "./commands.js"

/**
 * Backtests the deployment over the bars a paper session decided on, and compares the two
 * journals: decision by decision, fill by fill, equity curve against equity curve, with a cause for
 * every decision that differs. The backtest starts when the paper session did (the same warm-up
 * history), replays every bar up to the paper's last decision, and decides exactly the bars the
 * paper session decided on: a bar the paper skipped only feeds the backtest's indicators.
 * Writes `DIR/compare.json`, `DIR/backtest/` and the report of the two (`DIR/report.html`, `DIR/report.json`).
 */
export const runCompare = (configFile: string, paperJournal: string, outDir: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const fs_ = yield* FileSystem.FileSystem
    const bytes = yield* Effect.try({
      try: () => fs.readFileSync(paperJournal),
      catch: () => new UsageError({ detail: `compare: cannot read the journal ${paperJournal}` })
    })
    const paper = readJournal(bytes)
    if (paper.unreadable.length > 0) {
      yield* Effect.logWarning("compare: journal lines that do not decode are left out").pipe(
        Effect.annotateLogs({ journal: paperJournal, lines: paper.unreadable.map((u) => `${u.line}: ${u.problem}`).slice(0, 5).join("; ") })
      )
    }
    const bars = [...new Set(paper.records.flatMap((r) => (r.type === "decision" ? [Date.parse(r.bar_time)] : [])).filter(Number.isFinite))].sort((a, b) => a - b)
    if (bars.length === 0) return yield* new BarsFileError({ file: paperJournal, problems: [{ line: 0, message: "the journal holds no decision to compare" }] })
    const backtestDir = path.join(outDir, "backtest")
    // the backtest starts when the paper session started, so its indicators warm up on the same
    // history, sees every bar the paper session saw, and decides exactly the bars it decided
    const started = paper.records.find((r) => r.type === "session_start")
    const start = Math.min(started === undefined ? Infinity : Date.parse(started.time), bars[0])
    yield* runBacktest(configFile, backtestDir, { start, end: bars[bars.length - 1] + 1, decideOn: new Set(bars) })
    const backtest = readJournal(yield* fs_.readFile(path.join(backtestDir, "journal.jsonl")))
    const comparison = compareJournals(paper.records, backtest.records)
    yield* fs_.writeFileString(path.join(outDir, "compare.json"), JSON.stringify(comparison, null, 2) + "\n")
    // paper against backtest, every divergence marked with its cause
    const deployment = yield* loadDeployment(configFile)
    yield* writeReport({
      journal: paperJournal,
      vs: path.join(backtestDir, "journal.jsonl"),
      compare: path.join(outDir, "compare.json"),
      out: path.join(outDir, "report.html"),
      json: path.join(outDir, "report.json"),
      modelDir: deployment.modelDir
    })
    return comparison
  })

const signed = (x: number, digits: number) => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`

export const formatComparison = (c: SessionComparison): string => {
  const causes = new Map<string, number>()
  for (const d of c.divergences) causes.set(d.cause, (causes.get(d.cause) ?? 0) + 1)
  const skipped = c.bars.backtest_only.length === 0 ? "" : `; bars the paper skipped (backtest only, not compared) ${c.bars.backtest_only.length}`
  return [
    `decisions: paper ${c.decisions.paper}, backtest ${c.decisions.backtest}, same bars ${c.decisions.common}${skipped}; ` +
      `identical orders on ${c.identical_orders} (${c.identical_orders_pct.toFixed(1)} %); action difference max ${c.action_diff.max.toFixed(4)}, mean ${c.action_diff.mean.toFixed(4)}`,
    `fills matched ${c.matched_fills}: paper prices ${signed(c.fill_price_diff_bps.mean, 2)} bps against the backtest's on average (max |${c.fill_price_diff_bps.max_abs.toFixed(2)}| bps); ` +
      `orders only in paper ${c.paper_only_orders}, only in backtest ${c.backtest_only_orders}` +
      (c.first_difference === undefined ? "" : `; first different decision at ${c.first_difference.bar_time}`),
    c.equity === undefined
      ? "equity: no portfolio records or decodable observations to compare"
      : `equity (${c.equity.points} points, from ${c.equity.source}): returns correlation ${c.equity.returns_correlation === null ? "undefined" : c.equity.returns_correlation.toFixed(4)}, ` +
        `annualised DTW ${c.equity.dtw_annualized.toFixed(4)}, final equity ${signed(c.equity.final_diff_pct, 3)} % against the backtest's`,
    ...[...causes].sort((a, b) => b[1] - a[1]).map(([cause, n]) => `  ${cause}: ${n} divergence${n === 1 ? "" : "s"}`)
  ].join("\n")
}

/** `compare --config FILE --journal PAPER.jsonl --out DIR`. */
export const compareCommand = (options: { readonly config: string; readonly journal: string; readonly out: string }) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const outDir = path.resolve(options.out)
    const comparison = yield* runCompare(options.config, options.journal, outDir)
    yield* Console.log(`${formatComparison(comparison)}\nreport ${path.join(outDir, "compare.json")}`)
    return 0
  })
