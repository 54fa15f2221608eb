import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { formatComparison, runCompare } from "../../src/cli/compare.js"
import { runBacktest } from "../../src/cli/commands.js"
import { demoConfig, demoDeploymentFiles, tmpTree } from "../support/tmp.js"

const jsonl = (file: string) => fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { type: string; bar_time?: string; client_order_id?: string; orders?: Array<{ client_order_id: string }> })

describe("runCompare", () => {
  it.effect("decides exactly the bars the paper session decided on; a skipped bar only feeds the indicators", () =>
    Effect.gen(function* () {
      const dir = tmpTree(demoDeploymentFiles(demoConfig()))
      const config = path.join(dir, "deploy.yaml")
      yield* runBacktest(config, path.join(dir, "bt"), { start: Date.parse("2026-02-20T15:00:00Z"), maxSteps: 30 })
      const journal = path.join(dir, "bt", "journal.jsonl")

      const same = yield* runCompare(config, journal, path.join(dir, "c1"))
      expect(same.decisions).toEqual({ paper: 30, backtest: 30, common: 30 })
      expect(same.bars).toEqual({ paper_only: [], backtest_only: [] })
      expect(same.identical_orders_pct).toBe(100)
      expect(same.equity).toMatchObject({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0, points: 30 })
      expect(same.divergences).toEqual([])
      expect(JSON.parse(fs.readFileSync(path.join(dir, "c1", "compare.json"), "utf8"))).toEqual(JSON.parse(JSON.stringify(same)))

      // a paper session that fell behind: it never decided two bars in the middle
      const records = jsonl(journal)
      const decided = records.filter((r) => r.type === "decision")
      const skipped = [decided[10], decided[11]]
      const skippedBars = new Set(skipped.map((d) => d.bar_time))
      const skippedIds = new Set(skipped.flatMap((d) => d.orders!.map((o) => o.client_order_id)))
      const paper = records.filter((r) => !(r.bar_time !== undefined && skippedBars.has(r.bar_time)) && !(r.client_order_id !== undefined && skippedIds.has(r.client_order_id)))
      fs.writeFileSync(path.join(dir, "paper.jsonl"), paper.map((r) => JSON.stringify(r)).join("\n") + "\n")

      const gap = yield* runCompare(config, path.join(dir, "paper.jsonl"), path.join(dir, "c2"))
      expect(gap.decisions).toEqual({ paper: 28, backtest: 28, common: 28 })
      // the backtest replays the skipped bars (its indicators see them) but decides only the paper's bars
      expect(gap.bars).toEqual({ paper_only: [], backtest_only: [] })
      const replayed = jsonl(path.join(dir, "c2", "backtest", "journal.jsonl"))
      expect(replayed.filter((r) => r.type === "decision")).toHaveLength(28)
      expect(replayed.some((r) => r.type === "decision" && skippedBars.has(r.bar_time!))).toBe(false)
      // the paper's later decisions read a ledger its skipped orders had changed: explained as such
      expect(gap.unexplained).toBe(0)
      expect(gap.divergences.every((d) => d.cause !== "unexplained")).toBe(true)
      expect(formatComparison(gap)).toMatch(/same bars 28/)
    }).pipe(Effect.provide(NodeContext.layer))
  , 60_000)
})
