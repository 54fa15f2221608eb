import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadDeployment } from "../../src/config/deployment.js"
import { runRehearsal } from "../../src/cli/rehearse.js"
import { PROJECT, tmpTree } from "../support/tmp.js"
import { expectSelfContained, inspectReport, launchChromium } from "./browser.js"

const ARTIFACTS = path.join(PROJECT, "out/test-artifacts")
const START = Date.parse("2026-02-17T14:30:00Z")
const STEPS = 40

const run = <A, E>(effect: Effect.Effect<A, E, NodeContext.NodeContext>) =>
  Effect.runPromise(effect.pipe(Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.None)))


describe("the reports a rehearsal leaves (the paper session's own, and paper against backtest)", () => {
  let browser: Browser
  let outDir: string
  beforeAll(async () => {
    browser = await launchChromium()
    outDir = tmpTree({})
    // the sentiment demo: its paper session reads news over the emulator's stream
    await run(
      Effect.gen(function* () {
        const deployment = yield* loadDeployment(path.join(PROJECT, "config/demo-sentiment.yaml"))
        return yield* runRehearsal({ ...deployment, news: { ...deployment.news!, cache: path.join(outDir, "scores.jsonl") } }, { outDir, start: START, maxSteps: STEPS })
      })
    )
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
  })

  it("the paper session writes report.html and report.json beside its journal, and the page passes", async () => {
    const html = path.join(outDir, "paper", "report.html")
    const report = JSON.parse(fs.readFileSync(path.join(outDir, "paper", "report.json"), "utf8")) as { steps: number }
    expect(report.steps).toBe(STEPS)
    const page = await inspectReport(browser, html, path.join(ARTIFACTS, "report-paper-session.png"))
    expectSelfContained(page)
    expect(page.text).toContain("demo-sentiment")
  }, 60_000)

  it("the rehearsal writes report.html of paper against backtest, and the page passes", async () => {
    const page = await inspectReport(browser, path.join(outDir, "report.html"), path.join(ARTIFACTS, "report-rehearsal.png"))
    expectSelfContained(page)
    expect(page.text).toContain("paper session vs backtest")
    // a rehearsal decides as its backtest: nothing to mark
    expect(page.markers).toBe(0)
  }, 60_000)
})
