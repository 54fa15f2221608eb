import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Logger, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { loadDeployment } from "../../src/config/deployment.js"
import { runBacktest } from "../../src/cli/commands.js"
import { runRehearsal } from "../../src/cli/rehearse.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const CONFIG = path.join(PROJECT, "config/demo-sentiment.yaml")
const START = Date.parse("2026-02-17T14:30:00Z")
const STEPS = 100

interface Rec {
  readonly type: string
  readonly [k: string]: unknown
}
const read = (file: string): Array<Rec> => fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Rec)
const run = <A, E>(effect: Effect.Effect<A, E, NodeContext.NodeContext>) =>
  Effect.runPromise(effect.pipe(Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.None)))

type NewsSeen = ReadonlyArray<{ ticker: string; items: ReadonlyArray<{ id: number; updated_at: string }>; features: Record<string, number> }>

describe("the sentiment demo over the live path: news from the emulator's REST and stream", () => {
  it("a rehearsal decides exactly as its backtest, and its paper journal holds the news each decision saw", async () => {
    const outDir = tmpTree({})
    const result = await run(
      Effect.gen(function* () {
        const deployment = yield* loadDeployment(CONFIG)
        return yield* runRehearsal({ ...deployment, news: { ...deployment.news!, cache: path.join(outDir, "scores.jsonl") } }, { outDir, start: START, maxSteps: STEPS })
      })
    )
    expect(result.summary.steps).toBe(STEPS)
    expect(result.comparison?.identical_orders).toBe(STEPS)
    expect(result.comparison?.divergences).toEqual([])
    const paper = read(result.paperJournal).filter((r) => r.type === "decision")
    const backtest = read(path.join(outDir, "backtest", "journal.jsonl")).filter((r) => r.type === "decision")
    expect(paper.map((d) => d.news)).toEqual(backtest.map((d) => d.news))
    // articles published during the session reached the paper session over the news stream
    const seen = paper.flatMap((d) => (d.news as NewsSeen).flatMap((n) => n.items))
    const live = seen.filter((i) => Date.parse(i.updated_at) > START)
    expect(new Set(live.map((i) => i.id)).size).toBeGreaterThan(5)
    // an article appears in decisions only after its version's time, and its features move with it
    for (const d of paper) {
      const close = Date.parse(String(d.bar_time)) + 300_000
      for (const n of d.news as NewsSeen) {
        for (const i of n.items) expect(Date.parse(i.updated_at)).toBeLessThan(close)
        // the items reach back as far as the longest feature (the 4-hour half-life: 32 hours); the count covers 24
        expect(n.features.news_count_24h).toBeLessThanOrEqual(n.items.length)
      }
    }
    // scores were cached by article version: one line per version scored
    const cached = fs.readFileSync(path.join(outDir, "scores.jsonl"), "utf8").trim().split("\n")
    expect(cached.length).toBeGreaterThan(0)
    expect(new Set(cached.map((l) => JSON.parse(l).key)).size).toBe(cached.length)
  }, 120_000)

  it("a model with news features refuses a deployment without a news source, and a backtest without a news file (exit-2 errors naming the field)", async () => {
    const dir = tmpTree({})
    const base = fs.readFileSync(CONFIG, "utf8")
      .replace("../model_registry", path.join(PROJECT, "model_registry"))
      .replace("environments/", path.join(PROJECT, "config/environments") + "/")
      .replace("../data/demo\n", path.join(PROJECT, "data/demo") + "\n")
      .replace("../data/demo/news.jsonl", path.join(PROJECT, "data/demo/news.jsonl"))
      .replace("../out/journal-sentiment", path.join(dir, "journal"))
    const noNews = path.join(dir, "no-news.yaml")
    fs.writeFileSync(noNews, base.replace(/news:\n(  .*\n)+/, ""))
    const noFile = path.join(dir, "no-file.yaml")
    fs.writeFileSync(noFile, base.replace(/  file: .*\n/, ""))
    const backtest = (config: string) => run(Effect.either(runBacktest(config, path.join(dir, "out"), { start: START, maxSteps: 2 })))
    const a = await backtest(noNews)
    expect(Either.isLeft(a) && a.left._tag === "ConfigError" && a.left.message).toMatch(/news.*is missing: the model reads news features \(sentiment_mean_60m, sentiment_decayed_4h, news_count_24h\)/)
    const b = await backtest(noFile)
    expect(Either.isLeft(b) && b.left._tag === "ConfigError" && b.left.message).toMatch(/news\.file.*is missing: a simulation replays a news file/)
  }, 60_000)
})
