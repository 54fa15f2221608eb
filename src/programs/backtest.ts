import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { performanceReport, periodsPerYear, type PerformanceReport } from "../core/metrics.js"
import { intervalMillis } from "../domain/Config.js"
import { runSession, type SessionSettings } from "./session.js"

export interface BacktestReport extends PerformanceReport {
  readonly rejections: number
  /** Equal-weight buy & hold over the same bars, for comparison. */
  readonly buy_and_hold_return: number
}

/**
 * A backtest is a trading session over simulation layers: run it, then write `report.json` beside
 * the journal. Deterministic: the same inputs give byte-identical journals and reports.
 */
export const backtest = (settings: SessionSettings & { readonly outDir: string }) =>
  Effect.gen(function* () {
    const summary = yield* runSession(settings)
    const report: BacktestReport = {
      ...performanceReport({
        equity: summary.equity,
        orders: summary.orders,
        fills: summary.fills,
        tradedNotional: summary.tradedNotional,
        periodsPerYear: periodsPerYear(intervalMillis[settings.interval])
      }),
      rejections: summary.rejections,
      buy_and_hold_return: summary.buyAndHoldReturn
    }
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(settings.outDir, { recursive: true })
    yield* fs.writeFileString(path.join(settings.outDir, "report.json"), JSON.stringify(report, null, 2) + "\n")
    return report
  })
