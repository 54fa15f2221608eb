import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { loadDeployment } from "../../src/config/deployment.js"
import { runRehearsal, type RehearsalResult } from "../../src/cli/rehearse.js"
import type { FaultOptions } from "../../src/emulator/index.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const CONFIG = path.join(PROJECT, "config/demo.yaml")
const START = Date.parse("2026-02-17T14:30:00Z")
const STEPS = 60
const FIVE_MINUTES = 5 * 60_000

interface Record_ {
  readonly type: string
  readonly [k: string]: unknown
}

const rehearse = (faults?: FaultOptions, compare = true) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const deployment = yield* loadDeployment(CONFIG)
      const outDir = tmpTree({})
      const result = yield* runRehearsal(deployment, { outDir, start: START, maxSteps: STEPS, faults, compare })
      const read = (file: string): Array<Record_> =>
        fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record_) : []
      return { result, paper: read(result.paperJournal), backtest: read(path.join(outDir, "backtest", "journal.jsonl")) }
    }).pipe(Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.None))
  )

type Run = { readonly result: RehearsalResult; readonly paper: Array<Record_>; readonly backtest: Array<Record_> }
let baseline: Promise<Run> | undefined
/** The fault-free rehearsal, shared by the tests that compare against it. */
const fautFree = () => (baseline ??= rehearse())

const decisions = (records: ReadonlyArray<Record_>) => records.filter((r) => r.type === "decision")
const decided = (records: ReadonlyArray<Record_>) => decisions(records).map((d) => ({ bar_time: d.bar_time, orders: d.orders, action: d.action }))
const fills = (records: ReadonlyArray<Record_>) =>
  records
    .filter((r) => r.type === "fill" || r.type === "partial_fill")
    .map((f) => ({ id: f.client_order_id, qty: f.qty, price: f.price }))
    .sort((a, b) => String(a.id).localeCompare(String(b.id)))

describe("rehearse (the live path against the emulator on one virtual clock)", () => {
  it("runs far faster than the market, deciding at exactly each bar's end", async () => {
    const { result, paper } = await fautFree()
    expect(result.summary.steps).toBe(STEPS)
    const virtualSpan = result.stats.end - result.stats.start
    expect(virtualSpan).toBeGreaterThanOrEqual(STEPS * FIVE_MINUTES)
    // 60 five-minute bars are five market hours; the rehearsal takes seconds
    expect(result.stats.realMs).toBeLessThan(virtualSpan / 100)
    for (const d of decisions(paper)) expect(Date.parse(String(d.time))).toBe(Date.parse(String(d.bar_time)) + FIVE_MINUTES)
    expect(result.summary.fills).toBe(result.summary.orders)
  }, 60_000)

  it("two rehearsals of the same config journal the same decisions, orders and fills", async () => {
    const a = await fautFree()
    const b = await rehearse(undefined, false)
    expect(decided(b.paper)).toEqual(decided(a.paper))
    expect(decisions(b.paper).map((d) => d.time)).toEqual(decisions(a.paper).map((d) => d.time))
    expect(fills(b.paper)).toEqual(fills(a.paper))
  }, 60_000)

  it("decides like its backtest: the same bars and features, the same fill prices, the same orders on every common bar", async () => {
    const { result, paper, backtest } = await fautFree()
    const comparison = result.comparison!
    expect(comparison.decisions.common).toBe(STEPS)
    expect(comparison.matched_fills).toBe(result.summary.fills)
    expect(comparison.fill_price_diff_bps.max_abs).toBe(0)
    const byBar = new Map(decisions(backtest).map((d) => [d.bar_time, d]))
    for (const p of decisions(paper)) {
      const q = byBar.get(p.bar_time)!
      // one kernel, one ledger: the same observation to the last bit (cash included), ledger state, action and orders
      expect({ bar_time: p.bar_time, observation: p.observation, state: p.state, action: p.action, orders: p.orders }).toEqual({
        bar_time: q.bar_time,
        observation: q.observation,
        state: q.state,
        action: q.action,
        orders: q.orders
      })
    }
    expect(comparison.equity).toMatchObject({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0 })
    expect(comparison.divergences).toEqual([])
    expect(comparison.unexplained).toBe(0)
    expect(comparison.identical_orders).toBe(STEPS)
  }, 60_000)

  it("with healable faults (429, 5xx, latency, stream drops, lost trade updates) decides and fills as without them", async () => {
    const faults: FaultOptions = { seed: 7, http429Rate: 0.1, http5xxRate: 0.05, latencyMs: 2, lostTradeUpdatesRate: 0.1, wsDropEverySeconds: 900 }
    const [clean, faulty] = await Promise.all([fautFree(), rehearse(faults, false)])
    const counts = faulty.result.faults!
    expect(counts.http429).toBeGreaterThan(0)
    expect(counts.http5xx).toBeGreaterThan(0)
    expect(counts.lostTradeUpdates).toBeGreaterThan(0)
    expect(counts.wsDrops).toBeGreaterThan(0)
    expect(decided(faulty.paper)).toEqual(decided(clean.paper))
    // a fill whose trade update was lost is journaled from the order's filled_avg_price: the same price up to rounding
    const [got, want] = [fills(faulty.paper), fills(clean.paper)]
    expect(got.map(({ id, qty }) => ({ id, qty }))).toEqual(want.map(({ id, qty }) => ({ id, qty })))
    got.forEach((f, i) => expect(f.price as number).toBeCloseTo(want[i].price as number, 9))
  }, 60_000)

  it("refuses a config without data.bars, and bad flags, with exit 2", () => {
    const dir = tmpTree({
      "deploy.yaml": `tickers: [SYNA, SYNB, SYNC]\ninterval: 5m\nmodel: ${PROJECT}/model_registry/demo/1\nenvironment: ${PROJECT}/config/environments/demo.yaml\n`
    })
    const run = (...args: Array<string>) => spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), "rehearse", ...args], { encoding: "utf8" })
    const noBars = run("--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "out"))
    expect(noBars.status).toBe(2)
    expect(noBars.stderr.trim().split("\n")).toHaveLength(1)
    expect(noBars.stderr).toMatch(/data\.bars/)
    const badRate = run("--config", CONFIG, "--out", path.join(dir, "out"), "--rate-429", "2")
    expect(badRate.status).toBe(2)
    expect(badRate.stderr).toMatch(/^error: --rate-429 must be a number between 0 and 1, got '2'\n$/)
  }, 30_000)
})
