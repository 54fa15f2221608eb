/**
 * `download`, `backtest` on a downloaded folder and `register` as a user runs them: the built CLI
 * (`npm run build` first) against the emulator as Alpaca, exit codes and messages.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Bar } from "../../src/core/bar.js"
import { parseBarsCsv } from "../../src/core/bars-csv.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorHandle, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { sb3LikeGraph } from "../support/onnx-graphs.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const at = (iso: string) => Date.parse(iso)
let emulator: EmulatorHandle
/** Holds (never answers) the market data request after `answered` more; says so through `held`. */
let hold: { answered: number; held: () => void } | undefined
let bars: ReadonlyMap<string, ReadonlyArray<Bar>>

beforeAll(async () => {
  const all = await loadBarsDir(path.join(PROJECT, "data/demo"))
  bars = new Map<string, ReadonlyArray<Bar>>([...all].map(([t, list]) => [t, list.filter((b) => b.time < at("2026-01-07T00:00:00Z"))]))
  // market time five minutes after the third session's close: its last minutes are "recent" for SIP
  emulator = await startEmulator({
    bars,
    speed: 0,
    now: () => 0,
    start: at("2026-01-06T21:05:00Z"),
    middleware: [
      {
        http: (req, next) => {
          if (req.api !== "data" || hold === undefined || hold.answered-- > 0) return next()
          hold.held()
          return new Promise(() => {})
        }
      }
    ]
  })
})
afterAll(() => emulator?.close())

/** The CLI's environment: no Alpaca keys unless given, whatever this machine has. */
const environment = (keys: boolean): NodeJS.ProcessEnv => {
  const { APCA_API_KEY_ID: _id, APCA_API_SECRET_KEY: _secret, ...rest } = process.env
  return keys ? { ...rest, APCA_API_KEY_ID: EMULATOR_KEY_ID, APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY } : rest
}

/** Starts `node dist/main.js ARGS…` (the emulator answers from this process, so not spawnSync). */
const start = (args: ReadonlyArray<string>, options: { readonly keys: boolean; readonly cwd?: string }) => {
  const child = spawn(process.execPath, [path.join(PROJECT, "dist/main.js"), ...args], { env: environment(options.keys), cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d) => (stdout += d))
  child.stderr.on("data", (d) => (stderr += d))
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return { child, done }
}

const cli = (args: ReadonlyArray<string>, options: { readonly keys: boolean; readonly cwd?: string }) => start(args, options).done

const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?/)

const deployment = (feed = "iex") =>
  tmpTree({
    "deploy.yaml": [
      "tickers: [SYNA, SYNB, SYNC]",
      "interval: 5m",
      `model: ${PROJECT}/model_registry/demo/1`,
      `environment: ${PROJECT}/config/environments/demo.yaml`,
      "data:",
      "  bars: bars",
      "alpaca:",
      `  data_url: ${emulator.url}`,
      `  trading_url: ${emulator.url}`,
      `  feed: ${feed}`,
      ""
    ].join("\n")
  })

describe("rl-paper-trader download", () => {
  it("downloads into data.bars, says what it fetched, and a second run fetches nothing", async () => {
    const dir = deployment()
    const args = ["download", "--config", path.join(dir, "deploy.yaml"), "--start", "2026-01-05", "--end", "2026-01-07"]
    const first = await cli(args, { keys: true, cwd: dir })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^fetched 1 range into bars\nSYNA: 780 bars \(\+780\), 2026-01-05T14:30:00Z → 2026-01-06T20:59:00Z\nSYNB: 780 bars/)
    expect(first.stderr).not.toMatch(/downloading/) // no progress line off a terminal
    const second = await cli(args, { keys: true, cwd: dir })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/^nothing to fetch: the folder had every bar of the range into bars\nSYNA: 780 bars \(\+0\)/)
  })

  it("refuses bad arguments, missing keys and a SIP request the free plan refuses: exit 2, one message", async () => {
    const dir = deployment()
    const config = path.join(dir, "deploy.yaml")
    const backwards = await cli(["download", "--config", config, "--start", "2026-01-07", "--end", "2026-01-05"], { keys: true })
    expect(backwards.code).toBe(2)
    expect(backwards.stderr).toMatch(/^error: download: --end must be after --start/)
    const noKeys = await cli(["download", "--config", config, "--start", "2026-01-05", "--end", "2026-01-06"], { keys: false })
    expect(noKeys.code).toBe(2)
    expect(noKeys.stderr).toMatch(/no Alpaca keys found: set APCA_API_KEY_ID and APCA_API_SECRET_KEY/)
    noStackTrace(noKeys.stderr)
    const sipDir = deployment("sip")
    const sip = await cli(["download", "--config", path.join(sipDir, "deploy.yaml"), "--start", "2026-01-06", "--end", "2026-01-07"], { keys: true })
    expect(sip.code).toBe(2)
    expect(sip.stderr).toMatch(/deploy\.yaml, field 'alpaca\.feed': Alpaca refuses this SIP request .*set alpaca\.feed: iex/)
    noStackTrace(sip.stderr)
    expect(fs.readdirSync(path.join(sipDir, "bars")).filter((f) => f.endsWith(".csv"))).toEqual([])
  })
})

describe("a killed download", () => {
  it("leaves only whole files and the record of what they hold; the next run fetches the rest", async () => {
    const dir = deployment()
    // 37 days of minute bars: two ranges; the first (December) holds no bars, the second is held unanswered
    const args = ["download", "--config", path.join(dir, "deploy.yaml"), "--start", "2025-12-01", "--end", "2026-01-07"]
    const held = new Promise<void>((resolve) => (hold = { answered: 1, held: resolve }))
    const run = start(args, { keys: true, cwd: dir })
    await held
    run.child.kill("SIGKILL")
    expect((await run.done).signal).toBe("SIGKILL")
    hold = undefined
    const out = path.join(dir, "bars")
    expect(fs.readdirSync(out).sort()).toEqual(["SYNA.csv", "SYNB.csv", "SYNC.csv", "download.json"])
    for (const t of ["SYNA", "SYNB", "SYNC"]) expect(parseBarsCsv(fs.readFileSync(path.join(out, `${t}.csv`), "utf8"))).toEqual({ rows: [], problems: [] })
    expect(JSON.parse(fs.readFileSync(path.join(out, "download.json"), "utf8")).fetched.SYNA).toEqual([["2025-12-01T00:00:00Z", "2025-12-31T00:00:00Z"]])
    const again = await cli(args, { keys: true, cwd: dir })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/^fetched 1 range into bars\nSYNA: 1,170 bars \(\+1,170\)/)
    const rows = parseBarsCsv(fs.readFileSync(path.join(out, "SYNA.csv"), "utf8")).rows
    expect(rows.map((r) => [r.time, r.open, r.high, r.low, r.close, r.volume])).toEqual(bars.get("SYNA")!.map((b) => [b.time, b.open, b.high, b.low, b.close, b.volume]))
  })
})

describe("backtest on a paper config whose data.bars is a download folder", () => {
  it("without keys exits 2 naming the command that downloads the period; with keys it downloads and backtests", async () => {
    const dir = deployment()
    const args = ["backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "bt"), "--start", "2026-01-06T14:30:00Z", "--end", "2026-01-06T16:00:00Z"]
    const refused = await cli(args, { keys: false, cwd: dir })
    expect(refused.code).toBe(2)
    expect(refused.stderr.trim().split("\n")).toHaveLength(1)
    const command = /run (rl-paper-trader download --config \S+ --start \S+ --end \S+)$/.exec(refused.stderr.trim())
    expect(command?.[1]).toMatch(/^rl-paper-trader download --config deploy\.yaml --start 2025-12-\d\dT00:00:00Z --end 2026-01-06T16:00:00Z$/)
    noStackTrace(refused.stderr)
    // the command it names, run as given, makes the same backtest work without keys
    const download = await cli(command![1].split(" ").slice(1), { keys: true, cwd: dir })
    expect(download.code, download.stderr).toBe(0)
    const after = await cli(args, { keys: false, cwd: dir })
    expect(after.code, after.stderr).toBe(0)
    expect(after.stdout).toMatch(/^steps \d+/)
  })
})

describe("rl-paper-trader register", () => {
  it("registers an SB3 export and says which output it took; bad input exits 2 with one message", async () => {
    const env = JSON.stringify({ hmax: 100, initial_amount: 100000, num_stock_shares: [0, 0], buy_cost_pct: [0.001, 0.001], sell_cost_pct: [0.001, 0.001], state_space: 9, stock_dim: 2, tech_indicator_list: ["macd", "rsi_30"], action_space: 2, reward_scaling: 1e-4 })
    const dir = tmpTree({ "ppo.onnx": sb3LikeGraph({ observation: 9, actions: 2 }), "env_kwargs.json": env })
    const args = (...over: Array<string>) => ["register", "--onnx", "ppo.onnx", "--env", "env_kwargs.json", "--tickers", "AAPL,MSFT", "--name", "ppo", "--version", "1", ...over]
    const ok = await cli(args(), { keys: false, cwd: dir })
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/^registered model_registry\/ppo\/1\n/)
    expect(ok.stdout).toMatch(/action '53' float32\[batch, 2\]: the only output shaped \[batch, 2\]/)
    expect(fs.readFileSync(path.join(dir, "model_registry/ppo/1/model.yaml"), "utf8")).toMatch(/output: "53"/)
    const again = await cli(args(), { keys: false, cwd: dir })
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists/)
    const tickers = await cli([...args("--registry", "other")].map((a) => (a === "AAPL,MSFT" ? "AAPL,MSFT,IBM" : a)), { keys: false, cwd: dir })
    expect(tickers.code).toBe(2)
    expect(tickers.stderr).toMatch(/env_kwargs\.json:\d+, field 'stock_dim': is 2, but the deployment trades 3 tickers/)
    noStackTrace(tickers.stderr)
    const lower = await cli([...args("--registry", "other")].map((a) => (a === "AAPL,MSFT" ? "aapl" : a)), { keys: false, cwd: dir })
    expect(lower.code).toBe(2)
    expect(lower.stderr).toMatch(/--tickers: 'aapl' is not a ticker/)
  })
})
