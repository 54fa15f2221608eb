import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { reportCommand } from "../../src/cli/report.js"
import { compareJournals } from "../../src/core/compare.js"
import type { JournalRecord } from "../../src/domain/Journal.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const cli = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), "report", ...args], { encoding: "utf8", timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const bar = (m: number) => new Date(Date.UTC(2026, 1, 17, 14, 30 + 5 * m)).toISOString()

/** A small session: buys 10 AAA, marks it at `prices`; the backtest side fills one cent higher. */
const session = (mode: "trade" | "backtest", prices: ReadonlyArray<number>): Array<JournalRecord> => {
  const fillPrice = mode === "trade" ? 10 : 10.01
  const records: Array<JournalRecord> = [
    { type: "session_start", time: bar(0), journal_version: 2, deployment: "d", model: { name: "m", version: "1", sha256: "c".repeat(64) }, tickers: ["AAA"], indicators: ["macd"], interval: "5m", mode }
  ]
  prices.forEach((price, k) => {
    const held = k === 0 ? 0 : 10
    const cash = k === 0 ? 1000 : 1000 - 10 * fillPrice
    records.push({ type: "portfolio", time: bar(k), bar_time: bar(k), cash, equity: cash + held * price, positions: held === 0 ? {} : { AAA: held }, prices: { AAA: price }, open_orders: [] })
    const orders = k === 0 ? [{ ticker: "AAA", side: "buy" as const, qty: 10, client_order_id: "d-AAA-b" }] : []
    records.push({
      type: "decision",
      time: bar(k),
      bar_time: bar(k),
      observation: [cash, price, held],
      action: [k === 0 ? 1 : 0],
      orders,
      state: { cash, holdings: [held], reserved_cash: 0, reserved_shares: [0], prices: [price] }
    })
    if (k === 0) records.push({ type: "fill", time: bar(1), ticker: "AAA", side: "buy", qty: 10, price: fillPrice, client_order_id: "d-AAA-b" })
  })
  return records
}

const write = (file: string, records: ReadonlyArray<JournalRecord>) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join("\n") + "\n")
}

/** The report's data as the page inlines it. */
const inlined = (html: string) => {
  const m = html.match(/<script type="application\/json" id="report-json">(.*?)<\/script>/s)
  expect(m, "report.html inlines its data").not.toBeNull()
  return JSON.parse(m![1]) as { steps: number; fills: number; comparison?: { divergences: number; final_equity_diff: number | null } }
}

const PRICES = [10, 10.5, 10.2, 11]

describe("report (the command)", () => {
  it("writes report.html beside a journal by default", () => {
    const dir = tmpTree({})
    const journal = path.join(dir, "run", "journal.jsonl")
    write(journal, session("backtest", PRICES))
    const r = cli("--journal", journal)
    expect(r.code, r.stderr).toBe(0)
    const html = path.join(dir, "run", "report.html")
    expect(r.stdout).toContain(`report ${html}`)
    expect(r.stdout).toMatch(/^4 steps, 1 fills, total return \+\d+\.\d{2} %/)
    const page = fs.readFileSync(html, "utf8")
    expect(page.startsWith("<!doctype html>")).toBe(true)
    expect(inlined(page)).toMatchObject({ steps: 4, fills: 1 })
    expect(fs.existsSync(path.join(dir, "run", "report.json"))).toBe(false)
  })

  it("takes a rehearsal folder: the paper journal against the backtest, with compare.json's divergences", () => {
    const dir = tmpTree({})
    const paper = session("trade", PRICES)
    const backtest = session("backtest", PRICES)
    write(path.join(dir, "paper", "journal.jsonl"), paper)
    write(path.join(dir, "backtest", "journal.jsonl"), backtest)
    const comparison = compareJournals(paper, backtest)
    fs.writeFileSync(path.join(dir, "compare.json"), JSON.stringify(comparison))
    const r = cli("--journal", dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/against backtest: \d+ divergences/)
    const page = fs.readFileSync(path.join(dir, "report.html"), "utf8")
    expect(page).toContain("paper session vs backtest")
    expect(page).toContain("compare.json")
    const data = inlined(page)
    expect(data.comparison!.divergences).toBe(comparison.divergences.length)
    // the paper bought a cent cheaper: its final equity is above the backtest's
    expect(data.comparison!.final_equity_diff).toBeGreaterThan(0)
  })

  it("--out and --json write where they are told, making the folders", () => {
    const dir = tmpTree({})
    const journal = path.join(dir, "journal.jsonl")
    write(journal, session("backtest", PRICES))
    const vs = path.join(dir, "other", "journal.jsonl")
    write(vs, session("trade", PRICES))
    const out = path.join(dir, "reports", "nested", "mine.html")
    const json = path.join(dir, "reports", "data.json")
    const r = cli("--journal", journal, "--vs", path.join(dir, "other"), "--out", out, "--json", json)
    expect(r.code, r.stderr).toBe(0)
    expect(fs.existsSync(out)).toBe(true)
    expect(fs.existsSync(path.join(dir, "report.html"))).toBe(false)
    const report = JSON.parse(fs.readFileSync(json, "utf8")) as Record<string, unknown>
    for (const key of ["steps", "orders", "fills", "initial_equity", "final_equity", "total_return", "sharpe", "max_drawdown", "turnover", "rejections", "buy_and_hold_return", "period", "metrics"]) {
      expect(report, key).toHaveProperty(key)
    }
    expect(report.comparison).toMatchObject({ divergences: compareJournals(session("backtest", PRICES), session("trade", PRICES)).divergences.length })
  })

  it("a missing journal exits 2 with one line naming it", () => {
    const dir = tmpTree({})
    const missing = path.join(dir, "nowhere", "journal.jsonl")
    const r = cli("--journal", missing)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`error: ${missing}: no such journal\n`)
    expect(r.stdout).toBe("")
  })

  it("a folder without a journal, or a file that is no journal, is a usage error naming it", async () => {
    const dir = tmpTree({ "notes.txt": "not a journal\n" })
    const failure = (journal: string) =>
      Effect.runPromise(Effect.flip(reportCommand({ journal })).pipe(Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.None)))
    const empty = await failure(dir)
    expect(empty).toMatchObject({ _tag: "UsageError", message: `${dir}: no journal in this folder (journal.jsonl, or a rehearsal's paper/journal.jsonl)` })
    const notJournal = await failure(path.join(dir, "notes.txt"))
    expect(notJournal).toMatchObject({ _tag: "UsageError", message: `${path.join(dir, "notes.txt")}: holds no journal record (line 1: not JSON)` })
    expect(fs.existsSync(path.join(dir, "report.html"))).toBe(false)
  })
})
