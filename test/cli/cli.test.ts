import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { demoConfig, demoDeploymentFiles, PROJECT, tmpTree } from "../support/tmp.js"

const cli = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), ...args], { encoding: "utf8", timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const expectCleanError = (r: ReturnType<typeof cli>, code: number, pattern: RegExp) => {
  expect(r.code).toBe(code)
  expect(r.stderr).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/) // no stack trace
}

describe("backtest", () => {
  it("writes a journal and report, byte-identical across runs", () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig()))
    const runs = ["a", "b"].map((name) => {
      const out = path.join(dir, name)
      const r = cli("backtest", "--config", path.join(dir, "deploy.yaml"), "--out", out, "--max-steps", "120")
      expect(r.code, r.stderr).toBe(0)
      return { journal: fs.readFileSync(path.join(out, "journal.jsonl"), "utf8"), report: JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8")) }
    })
    expect(runs[0].journal).toBe(runs[1].journal)
    const records = runs[0].journal.trimEnd().split("\n").map((l) => JSON.parse(l))
    const decisions = records.filter((r) => r.type === "decision")
    expect(decisions).toHaveLength(120)
    expect(runs[0].report.steps).toBe(120)
    expect(runs[0].report.fills).toBe(records.filter((r) => r.type === "fill").length)
    expect(runs[0].report.orders).toBe(decisions.reduce((n, d) => n + d.orders.length, 0) - records.filter((r) => r.type === "rejection").length)
    for (const key of ["final_equity", "total_return", "sharpe", "max_drawdown", "turnover"]) expect(typeof runs[0].report[key]).toBe("number")
    for (const d of decisions) {
      expect(d.observation).toHaveLength(31)
      expect(d.action).toHaveLength(3)
      for (const o of d.orders) expect(o.client_order_id).toMatch(/^deploy-SYN[ABC]-\d{8}T\d{4}Z-[bs]$/)
    }
  })

  it("exits 2 with one clear line for a bad config", () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig("colour: blue\n")))
    expectCleanError(cli("backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o")), 2, /deploy\.yaml:\d+, field 'colour': unknown key/)
  })

  it("exits 2 when the deployment does not fit the model", () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig().replace("[SYNA, SYNB, SYNC]", "[SYNA, SYNB]")))
    expectCleanError(cli("backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o")), 2, /tickers differ.*missing SYNC/)
    const env = "tech_indicators: [macd, rsi_30]\nhmax: 100\ninitial_amount: 100000\nbuy_cost_pct: 0.001\nsell_cost_pct: 0.001\n"
    const dir2 = tmpTree(demoDeploymentFiles(demoConfig(), env))
    expectCleanError(cli("backtest", "--config", path.join(dir2, "deploy.yaml"), "--out", path.join(dir2, "o")), 2, /tech_indicators .* differ/)
  })

  it("exits 2 when the model file's sha256 or graph does not match model.yaml", () => {
    const model = path.join(PROJECT, "model_registry/demo/1")
    const yaml = fs.readFileSync(path.join(model, "model.yaml"), "utf8")
    const onnx = fs.readFileSync(path.join(model, "model.onnx"))
    const tampered = tmpTree({ ...demoDeploymentFiles(demoConfig().replace(/model: .*/, "model: m")), "m/model.yaml": yaml, "m/model.onnx": Buffer.concat([onnx, Buffer.from([0])]) })
    expectCleanError(cli("backtest", "--config", path.join(tampered, "deploy.yaml"), "--out", path.join(tampered, "o")), 2, /sha256 of model\.onnx is [0-9a-f]{64}, model\.yaml says/)
    const renamed = tmpTree({ ...demoDeploymentFiles(demoConfig().replace(/model: .*/, "model: m")), "m/model.yaml": yaml.replace("input: obs", "input: state"), "m/model.onnx": onnx })
    expectCleanError(cli("backtest", "--config", path.join(renamed, "deploy.yaml"), "--out", path.join(renamed, "o")), 2, /no input 'state'/)
  })

  it("exits 2 naming the file and line of a bad bar", () => {
    const bars = fs.readFileSync(path.join(PROJECT, "data/demo/SYNA.csv"), "utf8").split("\n")
    bars[5] = bars[5].replace(/,([\d.]+),([\d.]+),/, ",$2,$1,") // swap high and low
    const dir = tmpTree({
      ...demoDeploymentFiles(demoConfig().replace(/bars: .*/, "bars: bars")),
      "bars/SYNA.csv": bars.join("\n"),
      "bars/SYNB.csv": fs.readFileSync(path.join(PROJECT, "data/demo/SYNB.csv"), "utf8"),
      "bars/SYNC.csv": fs.readFileSync(path.join(PROJECT, "data/demo/SYNC.csv"), "utf8")
    })
    expectCleanError(cli("backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o")), 2, /SYNA\.csv:6: .*high/)
  })
})

describe("trade", () => {
  it("is paper only unless the config and the command line both allow live trading", () => {
    const live = "alpaca:\n  trading_url: https://api.alpaca.markets\n"
    const dir = tmpTree(demoDeploymentFiles(demoConfig(live)))
    const env = { APCA_API_KEY_ID: "x", APCA_API_SECRET_KEY: "y" }
    const refused = spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), "trade", "--config", path.join(dir, "deploy.yaml"), "--allow-live"], { encoding: "utf8", env: { ...process.env, ...env } })
    expect(refused.status).toBe(2)
    expect(refused.stderr).toMatch(/api\.alpaca\.markets is not Alpaca's paper API: live trading needs allow_live: true in the config and --allow-live/)
    const dir2 = tmpTree(demoDeploymentFiles(demoConfig(`allow_live: true\n${live}`)))
    const noFlag = spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), "trade", "--config", path.join(dir2, "deploy.yaml")], { encoding: "utf8", env: { ...process.env, ...env } })
    expect(noFlag.status).toBe(2)
    expect(noFlag.stderr).toMatch(/--allow-live/)
  })

  it("exits 2 naming where keys are looked for when there are none", () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig()))
    const r = spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), "trade", "--config", path.join(dir, "deploy.yaml")], {
      encoding: "utf8",
      env: { ...process.env, APCA_API_KEY_ID: "", APCA_API_SECRET_KEY: "" }
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/no Alpaca keys found: set APCA_API_KEY_ID and APCA_API_SECRET_KEY, or put alpaca\.api_key_id_paper/)
  })
})

describe("compare", () => {
  it("finds a backtest identical to itself, and says where a tampered journal differs", () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig()))
    const config = path.join(dir, "deploy.yaml")
    expect(cli("backtest", "--config", config, "--out", path.join(dir, "bt"), "--start", "2026-02-20T15:00:00Z", "--max-steps", "30").code).toBe(0)
    const journal = path.join(dir, "bt", "journal.jsonl")
    const same = cli("compare", "--config", config, "--journal", journal, "--out", path.join(dir, "c1"))
    expect(same.code, same.stderr).toBe(0)
    const report = JSON.parse(fs.readFileSync(path.join(dir, "c1", "compare.json"), "utf8"))
    expect(report.decisions).toEqual({ paper: 30, backtest: 30, common: 30 })
    expect(report.identical_orders).toBe(30)
    expect(report.action_diff.max).toBe(0)
    expect(report.fill_price_diff_bps.max_abs).toBe(0)
    expect(report.matched_fills).toBeGreaterThan(0)
    // raise every fill price by 1 %: buys cost +100 bps, sells −(−100)
    const tampered = fs.readFileSync(journal, "utf8").trimEnd().split("\n").map((l) => {
      const r = JSON.parse(l)
      return JSON.stringify(r.type === "fill" ? { ...r, price: r.price * 1.01 } : r)
    })
    fs.writeFileSync(path.join(dir, "tampered.jsonl"), tampered.join("\n") + "\n")
    const diff = cli("compare", "--config", config, "--journal", path.join(dir, "tampered.jsonl"), "--out", path.join(dir, "c2"))
    expect(diff.code, diff.stderr).toBe(0)
    const r2 = JSON.parse(fs.readFileSync(path.join(dir, "c2", "compare.json"), "utf8"))
    expect(Math.abs(r2.fill_price_diff_bps.max_abs - 100)).toBeLessThan(1e-6)
  })
})

describe("features", () => {
  it("prints date then one column per indicator, in order, empty for NaN", () => {
    const file = path.join(PROJECT, "test/fixtures/stockstats/002032.csv")
    const r = cli("features", "--indicators", "boll_ub,macd,RSI:period=14", "--bars", file)
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("date,boll_ub,macd,RSI_14")
    expect(lines).toHaveLength(2814)
    const expected = fs.readFileSync(path.join(PROJECT, "test/fixtures/stockstats/002032.finrl-indicators.csv"), "utf8").split("\n")
    const header = expected[0].split(",")
    for (const i of [1, 2, 100, 2813]) {
      const want = expected[i].split(",")
      const got = lines[i].split(",")
      expect(got[0]).toBe(want[0])
      for (const [col, name] of [[1, "boll_ub"], [2, "macd"]] as const) {
        const w = want[header.indexOf(name)]
        if (w === "") expect(got[col]).toBe("")
        else expect(Math.abs(Number(got[col]) - Number(w))).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(Number(w))))
      }
    }
    expect(lines[1].split(",")[3]).toBe("")
  })

  it("takes the indicators as a JSON list too", () => {
    const file = path.join(PROJECT, "test/fixtures/stockstats/002032.csv")
    const json = cli("features", "--indicators", '["macd", {"name": "RSI", "period": 14}]', "--bars", file)
    const plain = cli("features", "--indicators", "macd,RSI:period=14", "--bars", file)
    expect(json.code, json.stderr).toBe(0)
    expect(json.stdout.split("\n")[0]).toBe("date,macd,RSI_14")
    expect(json.stdout).toBe(plain.stdout)
    expectCleanError(cli("features", "--indicators", "[1, 2]", "--bars", file), 2, /JSON list/)
  })

  it("reports bad rows with their line numbers and exits 2", () => {
    const dir = tmpTree({ "b.csv": "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,9,11,10,100\n2024-01-01,10,11,9,10,100\n" })
    const r = cli("features", "--indicators", "macd", "--bars", path.join(dir, "b.csv"))
    expectCleanError(r, 2, /b\.csv:3: /)
    expect(r.stderr).toMatch(/b\.csv:4: /)
    expect(r.stdout).toBe("")
  })

  it("rejects unknown indicators, commands and options with exit 2", () => {
    expectCleanError(cli("features", "--indicators", "macd,bogus_9", "--bars", "x.csv"), 2, /bogus_9/)
    expectCleanError(cli("frobnicate"), 2, /^error: Invalid subcommand for rl-paper-trader - use one of 'demo', 'trade', .*'emulator'/)
    expectCleanError(cli("backtest", "--config", "x.yaml", "--out", "o", "--speed", "3"), 2, /^error: Received unknown argument: '--speed'/)
    expectCleanError(cli("backtest", "--config", "x.yaml"), 2, /^error: Expected to find option: '--out'/)
    expectCleanError(cli("backtest", "--confg", "x.yaml", "--out", "o"), 2, /^error: The flag '--confg' is not recognized\. Did you mean '--config'\?/)
  })
})
