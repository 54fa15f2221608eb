/**
 * The README's "Bring your own agent", step by step as a user runs it, in a fresh folder: a
 * trained Stable-Baselines3 PPO (built as SB3 builds it, saved with its VecNormalize) exported
 * by tools/export's command line, FinRL's env_kwargs file, `register`, config/paper.yaml edited
 * as step 3 says, keys, `download`, `backtest`, `rehearse` — the emulator playing Alpaca. The
 * backtest's and the rehearsal's journaled actions are torch's own on the journaled observations.
 * Then the same road without keys: exit 2, naming what is missing. Needs `npm run build` and
 * Debian's python3-torch.
 *
 * One departure from the README's values, not its steps: `interval: 5m` (the demo market holds two
 * months, fewer daily bars than close_60_sma's warm-up) and the demo's tickers and dates.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { ofType, readJournal } from "../../src/domain/Journal.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorHandle, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { type BuiltPolicy, buildPolicies, mismatches, python, requireTorch, SB3_STUB, startTorch } from "../support/python.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const TICKERS = "SYNA,SYNB,SYNC"
/** FinRL's INDICATORS, the list every FinRL notebook passes as tech_indicator_list. */
const INDICATORS = ["macd", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma"]

let emulator: EmulatorHandle
let torch: Awaited<ReturnType<typeof startTorch>> | undefined

beforeAll(async () => {
  requireTorch()
  // Alpaca with the demo market's two months of history, its clock after the last session
  emulator = await startEmulator({ bars: await loadBarsDir(path.join(PROJECT, "data/demo")), speed: 0, now: () => 0, start: Date.parse("2026-03-09T21:00:00Z") })
  torch = await startTorch()
}, 60_000)
afterAll(async () => {
  torch?.close()
  await emulator?.close()
})

const environment = (keys: boolean): NodeJS.ProcessEnv => {
  const { APCA_API_KEY_ID: _id, APCA_API_SECRET_KEY: _secret, ...rest } = process.env
  return keys ? { ...rest, APCA_API_KEY_ID: EMULATOR_KEY_ID, APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY } : rest
}

/** `node dist/main.js ARGS…` in the user's folder (async: the emulator answers from this process). */
const cli = (args: ReadonlyArray<string>, cwd: string, keys: boolean) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT, "dist/main.js"), ...args], { cwd, env: environment(keys), stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?/)

/**
 * Steps 1–3 in a fresh folder: the trained model and its VecNormalize where training left them,
 * the export, env_kwargs.json as `json.dump(env_kwargs, …)` writes it, register, the config.
 */
const walkToConfig = (dir: string): BuiltPolicy => {
  const trained = buildPolicies(path.join(dir, "training"), { algos: ["ppo"], observation: 31, npObservation: 36, actions: 3, export: false }).ppo
  fs.copyFileSync(trained.model!, path.join(dir, "trained_ppo.zip"))
  fs.copyFileSync(trained.vecnormalize!, path.join(dir, "vec_normalize.pkl"))

  // step 1: the recipe's command line, where the model was trained (stable_baselines3 importable)
  const exported = python(
    [path.join(PROJECT, "tools/export/sb3_export.py"), "--algo", "ppo", "--model", "trained_ppo.zip", "--out", "ppo.onnx", "--vecnormalize", "vec_normalize.pkl", "--normalization-out", "vecnormalize.json"],
    { cwd: dir, env: { PYTHONPATH: SB3_STUB } }
  )
  expect(exported.stdout).toMatch(/^wrote ppo\.onnx: input 'input' float32\[batch, 31\], output 'action'/)
  expect(exported.stdout).toMatch(/wrote vecnormalize\.json: VecNormalize statistics/)
  const envKwargs = {
    hmax: 100,
    initial_amount: 1000000,
    num_stock_shares: [0, 0, 0],
    buy_cost_pct: [0.001, 0.001, 0.001],
    sell_cost_pct: [0.001, 0.001, 0.001],
    state_space: 31,
    stock_dim: 3,
    tech_indicator_list: INDICATORS,
    action_space: 3,
    reward_scaling: 1e-4
  }
  fs.writeFileSync(path.join(dir, "env_kwargs.json"), JSON.stringify(envKwargs))
  return { ...trained, model: path.join(dir, "trained_ppo.zip"), vecnormalize: path.join(dir, "vec_normalize.pkl") }
}

/** Step 3: config/paper.yaml copied and the README's keys set (and the emulator's URLs: this is a test). */
const writeConfig = (dir: string) => {
  const doc = YAML.parseDocument(fs.readFileSync(path.join(PROJECT, "config/paper.yaml"), "utf8"))
  doc.set("tickers", doc.createNode(TICKERS.split(","), { flow: true }))
  doc.set("interval", "5m")
  doc.set("model", "../model_registry/ppo/1")
  doc.set("environment", "../model_registry/ppo/1/environment.json")
  doc.set("data", { bars: "../data/alpaca" })
  const ws = emulator.url.replace(/^http/, "ws")
  doc.set("alpaca", { feed: "iex", adjustment: "raw", trading_url: emulator.url, data_url: emulator.url, data_stream_url: `${ws}/v2`, trading_stream_url: `${ws}/stream` })
  fs.mkdirSync(path.join(dir, "config"), { recursive: true })
  fs.writeFileSync(path.join(dir, "config/paper.yaml"), doc.toString())
}

const decisionsIn = (journal: string) => ofType(readJournal(fs.readFileSync(journal)).records, "decision").filter((d) => d.action.length > 0)

describe("the README's road: a trained SB3 agent to a rehearsal against Alpaca", () => {
  it("export, register, download, backtest and rehearse; the journaled actions are torch's", async () => {
    const dir = tmpTree({})
    const trained = walkToConfig(dir)

    // step 2
    const registered = await cli(["register", "--onnx", "ppo.onnx", "--env", "env_kwargs.json", "--tickers", TICKERS, "--name", "ppo", "--version", "1", "--normalization", "vecnormalize.json"], dir, false)
    expect(registered.code, registered.stderr).toBe(0)
    expect(registered.stdout).toMatch(/^registered model_registry\/ppo\/1\n/)
    expect(registered.stdout).toMatch(/action 'action' float32\[batch, 3\]: the graph's only output/)
    expect(registered.stdout).toMatch(/normalization VecNormalize statistics, clip ±5/)
    writeConfig(dir)

    // steps 4 and 5: keys in the environment, then the download
    const download = await cli(["download", "--config", "config/paper.yaml", "--start", "2026-01-02", "--end", "2026-02-02"], dir, true)
    expect(download.code, download.stderr).toBe(0)
    expect(download.stdout).toMatch(/^fetched \d+ ranges? into data\/alpaca\nSYNA: 7,800 bars \(\+7,800\), 2026-01-02T14:30:00Z → 2026-01-30T20:59:00Z\n/)
    expect(fs.readdirSync(path.join(dir, "data/alpaca")).sort()).toEqual(["SYNA.csv", "SYNB.csv", "SYNC.csv", "download.json"])

    // step 6: inside the downloaded range
    const backtest = await cli(["backtest", "--config", "config/paper.yaml", "--out", "out/ppo-backtest", "--start", "2026-01-26", "--end", "2026-01-31"], dir, true)
    expect(backtest.code, backtest.stderr).toBe(0)
    expect(backtest.stdout).toMatch(/^steps \d+ {2}orders \d+/)
    const decided = decisionsIn(path.join(dir, "out/ppo-backtest/journal.jsonl"))
    expect(decided.length).toBeGreaterThan(300) // five sessions of 78 five-minute bars, less the risk-held steps
    expect(decided.some((d) => d.orders.length > 0)).toBe(true)
    const job = { algo: "ppo", model: trained.model, vecnormalize: trained.vecnormalize }
    const expected = await torch!.act({ ...job, observations: decided.map((d) => d.observation) })
    expect(mismatches(decided.map((d) => d.action), expected)).toEqual([])

    // step 7: a later week, not downloaded yet: fetched first, then rehearsed
    const rehearsal = await cli(["rehearse", "--config", "config/paper.yaml", "--out", "out/ppo-rehearsal", "--start", "2026-02-09", "--end", "2026-02-10"], dir, true)
    expect(rehearsal.code, rehearsal.stderr).toBe(0)
    const fetched = JSON.parse(fs.readFileSync(path.join(dir, "data/alpaca/download.json"), "utf8")) as { fetched: Record<string, Array<[string, string]>> }
    expect(fetched.fetched.SYNA.some(([, end]) => end >= "2026-02-10")).toBe(true)
    const paper = decisionsIn(path.join(dir, "out/ppo-rehearsal/paper/journal.jsonl"))
    expect(paper.length).toBeGreaterThan(50)
    const rehearsed = await torch!.act({ ...job, observations: paper.map((d) => d.observation) })
    expect(mismatches(paper.map((d) => d.action), rehearsed)).toEqual([])
  }, 90_000)

  it("without keys: download, backtest and rehearse exit 2, naming what is missing and the command that fetches it", async () => {
    const dir = tmpTree({})
    walkToConfig(dir)
    const registered = await cli(["register", "--onnx", "ppo.onnx", "--env", "env_kwargs.json", "--tickers", TICKERS, "--name", "ppo", "--version", "1", "--normalization", "vecnormalize.json"], dir, false)
    expect(registered.code, registered.stderr).toBe(0)
    writeConfig(dir)

    const download = await cli(["download", "--config", "config/paper.yaml", "--start", "2026-01-02", "--end", "2026-02-02"], dir, false)
    expect(download.code).toBe(2)
    expect(download.stderr).toMatch(/no Alpaca keys found: set APCA_API_KEY_ID and APCA_API_SECRET_KEY/)
    noStackTrace(download.stderr)

    for (const [command, out] of [["backtest", "out/ppo-backtest"], ["rehearse", "out/ppo-rehearsal"]] as const) {
      const refused = await cli([command, "--config", "config/paper.yaml", "--out", out, "--start", "2026-01-26", "--end", "2026-01-31"], dir, false)
      expect(refused.code, `${command}: ${refused.stderr}`).toBe(2)
      expect(refused.stderr.trim().split("\n")).toHaveLength(1)
      expect(refused.stderr.trim()).toMatch(
        /field 'data\.bars': bars of SYNA, SYNB, SYNC from \S+ to 2026-01-31T00:00:00Z are missing from data\/alpaca and no Alpaca keys are set to download them \(.*set APCA_API_KEY_ID and APCA_API_SECRET_KEY.*\): run rl-paper-trader download --config config\/paper\.yaml --start \S+ --end 2026-01-31T00:00:00Z$/
      )
      noStackTrace(refused.stderr)
    }
    expect(fs.existsSync(path.join(dir, "data/alpaca/SYNA.csv"))).toBe(false)
  }, 60_000)
})
