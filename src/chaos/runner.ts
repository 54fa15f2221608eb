/**
 * The chaos run: its sessions one after another within a time budget, their totals, and a hard stop
 * that kills every trader and reports what was done when the budget runs out.
 */
import * as nodePath from "node:path"
import { loadBarsDir } from "../emulator/index.js"
import { log, PROJECT } from "./harness.js"
import type { ChaosOptions } from "./options.js"
import { addSession, type ChaosSummary, emptyTotals, summarize } from "./report.js"
import { BAR_MS, longOutageMs, runSession } from "./session.js"
import { killAll } from "./trader.js"

/** Runs the sessions; past the budget, `onHardStop` gets the summary so far and this promise never settles. */
export const runChaos = async (options: ChaosOptions, onHardStop: (summary: ChaosSummary) => void): Promise<ChaosSummary> => {
  const t0 = Date.now()
  const barRealMs = BAR_MS / options.speed
  const outageMs = options.outage ? longOutageMs(options.speed) : 0
  const budgetMs = options.quick
    ? 55_000 + 2 * outageMs
    : options.sessions * (60_000 + options.kills * 10_000 + (options.steps + 4 * options.kills + 10) * barRealMs * 3 + 2 * outageMs)
  const deadline = t0 + budgetMs - 8_000
  const totals = emptyTotals()
  let sessionsDone = 0
  let timedOut = false
  const summary = () => summarize(options, sessionsDone, totals, timedOut)
  const hardStop = setTimeout(() => {
    timedOut = true
    killAll()
    log(`hard timeout after ${budgetMs} ms: stopping`)
    onHardStop(summary())
  }, budgetMs)

  log(
    `seed ${options.seed}, ${options.sessions} session(s) × ${options.steps} decisions, ≤ ${options.kills} kill(s) each, speed ${options.speed}× ` +
      `(a 5m bar = ${Math.round(barRealMs)} ms real), budget ${Math.round(budgetMs / 1000)} s`
  )
  const bars = await loadBarsDir(nodePath.join(PROJECT, "data", "demo"))
  const problems: Array<string> = []
  for (let i = 0; i < options.sessions; i++) {
    if (Date.now() >= deadline) {
      log(`out of time before session ${i + 1}`)
      timedOut = true
      break
    }
    try {
      addSession(totals, await runSession(i, options, bars, deadline, problems))
      sessionsDone++
    } catch (e) {
      problems.push(`session ${i + 1}: the harness failed: ${(e as Error).stack ?? String(e)}`)
      totals.unhandled_errors++
      sessionsDone++
    }
  }
  clearTimeout(hardStop)
  if (problems.length > 0) {
    log("problems:")
    for (const p of problems) process.stderr.write(`  ${p}\n`)
  }
  const result = summary()
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${result.ok ? "ok" : "NOT ok"}`)
  return result
}
