import * as fs from "node:fs"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect } from "effect"
import { compareJournals, type SessionComparison } from "../core/compare.js"
import { scanJournal } from "../core/journal-repair.js"
import { BarsFileError } from "../services/MarketData.js"
import { checkFlags, stringFlag, UsageError } from "./args.js"
import { runBacktest } from "./commands.js"

type Flags = ReadonlyMap<string, string | true>

/**
 * Backtests the deployment over the bars a paper session decided on, and compares the two
 * journals: decision by decision, fill by fill. Writes `DIR/compare.json` and `DIR/backtest/`.
 */
export const runCompare = (configFile: string, paperJournal: string, outDir: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const fs_ = yield* FileSystem.FileSystem
    const bytes = yield* Effect.try({
      try: () => fs.readFileSync(paperJournal),
      catch: () => new UsageError({ detail: `compare: cannot read the journal ${paperJournal}` })
    })
    const paper = scanJournal(bytes).records
    const bars = paper.filter((r) => r.type === "decision").map((r) => Date.parse(String(r.bar_time))).filter(Number.isFinite)
    if (bars.length === 0) return yield* new BarsFileError({ file: paperJournal, problems: [{ line: 0, message: "the journal holds no decision to compare" }] })
    const start = Math.min(...bars)
    const end = Math.max(...bars) + 1
    const backtestDir = path.join(outDir, "backtest")
    yield* runBacktest(configFile, backtestDir, { start, end })
    const backtest = scanJournal(yield* fs_.readFile(path.join(backtestDir, "journal.jsonl"))).records
    const comparison = compareJournals(paper, backtest)
    yield* fs_.writeFileString(path.join(outDir, "compare.json"), JSON.stringify(comparison, null, 2) + "\n")
    return comparison
  })

export const formatComparison = (c: SessionComparison): string =>
  [
    `decisions: paper ${c.decisions.paper}, backtest ${c.decisions.backtest}, same bars ${c.decisions.common}; ` +
      `identical orders on ${c.identical_orders} (${c.identical_orders_pct.toFixed(1)} %); action difference max ${c.action_diff.max.toFixed(4)}, mean ${c.action_diff.mean.toFixed(4)}`,
    `fills matched ${c.matched_fills}: paper prices ${c.fill_price_diff_bps.mean >= 0 ? "+" : ""}${c.fill_price_diff_bps.mean.toFixed(2)} bps against the backtest's on average (max |${c.fill_price_diff_bps.max_abs.toFixed(2)}| bps); ` +
      `orders only in paper ${c.paper_only_orders}, only in backtest ${c.backtest_only_orders}` +
      (c.first_difference === undefined ? "" : `; first different decision at ${c.first_difference.bar_time}`)
  ].join("\n")

/** `compare --config FILE --journal PAPER.jsonl --out DIR`. */
export const compareCommand = (flags: Flags) =>
  Effect.gen(function* () {
    const bad = checkFlags("compare", flags, { required: ["config", "journal", "out"] })
    if (bad !== undefined) return yield* bad
    const path = yield* Path.Path
    const outDir = path.resolve(stringFlag(flags, "out")!)
    const comparison = yield* runCompare(stringFlag(flags, "config")!, stringFlag(flags, "journal")!, outDir)
    yield* Console.log(`${formatComparison(comparison)}\nreport ${path.join(outDir, "compare.json")}`)
    return 0
  })
