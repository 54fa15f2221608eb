import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runBacktest } from "../../src/cli/commands.js"
import { runCompare } from "../../src/cli/compare.js"
import { resolveReportInputs } from "../../src/cli/report.js"
import { buildReportData } from "../../src/core/report-data.js"
import type { JournalRecord } from "../../src/domain/Journal.js"
import { writeReport } from "../../src/programs/report.js"
import { echartsScriptPath, renderReportHtml } from "../../src/report/html.js"
import { PROJECT, tmpTree } from "../support/tmp.js"
import { expectSelfContained, inspectReport, launchChromium } from "./browser.js"

const CONFIG = path.join(PROJECT, "config/demo.yaml")
const ARTIFACTS = path.join(PROJECT, "out/test-artifacts")
const START = Date.parse("2026-02-17T14:30:00Z")
const STEPS = 120

const run = <A, E>(effect: Effect.Effect<A, E, NodeContext.NodeContext>) =>
  Effect.runPromise(effect.pipe(Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.None)))

const jsonl = (file: string) => fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)


describe("report.html in headless Chromium", () => {
  let browser: Browser
  let dir: string
  beforeAll(async () => {
    browser = await launchChromium()
    dir = tmpTree({})
    // a short demo backtest writes its own report.html and report.json
    await run(runBacktest(CONFIG, path.join(dir, "bt"), { start: START, maxSteps: STEPS }))
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
  })

  it("a demo backtest's report loads with no error and no request, and every chart draws", async () => {
    const file = path.join(dir, "bt", "report.html")
    const page = await inspectReport(browser, file, path.join(ARTIFACTS, "report-backtest.png"))
    expectSelfContained(page)
    const report = JSON.parse(fs.readFileSync(path.join(dir, "bt", "report.json"), "utf8")) as { steps: number; fills: number; metrics: { sharpe: { meaningful: boolean } } }
    expect(report.steps).toBe(STEPS)
    expect(page.text).toContain(`Trades (${report.fills} fills)`)
    // 120 five-minute steps are two trading days: the annualised figures say so
    expect(report.metrics.sharpe.meaningful).toBe(false)
    expect(page.text).toMatch(/Sharpe[\s\S]*not meaningful/)
    expect(page.markers).toBe(0)
  }, 60_000)

  it("with a paper/backtest pair (a compare folder) it overlays both and marks every divergence with its cause", async () => {
    // a paper session that fell behind: it never decided two bars (that sent orders) in the middle
    const records = jsonl(path.join(dir, "bt", "journal.jsonl"))
    const decided = records.filter((r) => r.type === "decision" && (r.orders as Array<unknown>).length > 0)
    const skipped = [decided[10], decided[11]]
    const skippedBars = new Set(skipped.map((d) => d.bar_time))
    const skippedIds = new Set(skipped.flatMap((d) => (d.orders as Array<{ client_order_id: string }>).map((o) => o.client_order_id)))
    const paper = records
      .filter((r) => !(typeof r.bar_time === "string" && skippedBars.has(r.bar_time)) && !(typeof r.client_order_id === "string" && skippedIds.has(r.client_order_id)))
      .map((r) => (r.type === "session_start" ? { ...r, mode: "trade" } : r))
    const pair = path.join(dir, "pair")
    fs.mkdirSync(path.join(pair, "paper"), { recursive: true })
    fs.writeFileSync(path.join(pair, "paper", "journal.jsonl"), paper.map((r) => JSON.stringify(r)).join("\n") + "\n")
    const comparison = await run(runCompare(CONFIG, path.join(pair, "paper", "journal.jsonl"), pair))
    expect(comparison.divergences.length).toBeGreaterThan(0)

    const written = await run(resolveReportInputs({ journal: pair }).pipe(Effect.flatMap(writeReport)))
    expect(written.html).toBe(path.join(pair, "report.html"))
    const page = await inspectReport(browser, written.html, path.join(ARTIFACTS, "report-vs.png"))
    expectSelfContained(page)
    expect(page.markers).toBe(comparison.divergences.length)
    expect(page.text).toContain("paper session vs backtest")
    expect(page.text).toContain("Divergences (paper against backtest)")
    expect(page.text).toMatch(/paper against backtest: returns correlation -?\d\.\d{4}, annualised DTW \d+\.\d{4}/)
    for (const d of comparison.divergences) expect(page.text).toContain(d.detail.slice(0, 60))
  }, 120_000)

  it("escapes what it inlines: tickers and reasons that look like HTML stay text", async () => {
    const evil = `<img src=x onerror="window.__injected=1">`
    const closing = `</script><script>window.__injected=2</script>`
    const bar = (m: number) => new Date(Date.UTC(2026, 1, 17, 14, 30 + 5 * m)).toISOString()
    const prices = { [evil]: 10, B: 20 }
    const records: Array<JournalRecord> = [
      { type: "session_start", time: bar(0), deployment: closing, model: { name: evil, version: "1", sha256: "b".repeat(64) }, tickers: [evil, "B"], indicators: [closing], interval: "5m", mode: "trade" },
      { type: "portfolio", time: bar(0), bar_time: bar(0), cash: 1000, equity: 1000, positions: {}, prices, open_orders: [] },
      {
        type: "decision",
        time: bar(0),
        bar_time: bar(0),
        observation: [],
        action: [1, 0],
        orders: [{ ticker: evil, side: "buy", qty: 10, client_order_id: closing }],
        holds: [{ ticker: "B", reason: closing }],
        risk: [{ ticker: evil, side: "buy", requested: 20, allowed: 10, rule: closing }],
        state: { cash: 1000, holdings: [0, 0], reserved_cash: 0, reserved_shares: [0, 0], prices: [10, 20] }
      },
      { type: "fill", time: bar(1), ticker: evil, side: "buy", qty: 10, price: 10.01, client_order_id: closing },
      { type: "rejection", time: bar(1), ticker: "B", side: "buy", qty: 1, client_order_id: "r", reason: closing },
      { type: "portfolio", time: bar(1), bar_time: bar(1), cash: 899.9, equity: 1009.9, positions: { [evil]: 10 }, prices: { [evil]: 11, B: 20 }, open_orders: [] }
    ]
    const data = buildReportData({
      records,
      comparison: { decisions: { common: 1 }, identical_orders_pct: 0, divergences: [{ bar_time: bar(0), cause: closing, detail: evil }], unexplained: 0 }
    })
    const html = renderReportHtml(data, { echarts: fs.readFileSync(echartsScriptPath(), "utf8"), sources: [{ label: closing, file: evil }] })
    const file = path.join(tmpTree({}), "report.html")
    fs.writeFileSync(file, html)
    const page = await inspectReport(browser, file, path.join(ARTIFACTS, "report-escaping.png"))
    expectSelfContained(page)
    expect(page.injected).toBeUndefined()
    expect(page.text).toContain(evil)
    expect(page.text).toContain(closing)
    expect(page.markers).toBe(1)
  }, 60_000)
})
