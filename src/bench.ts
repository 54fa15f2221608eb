#!/usr/bin/env node
/**
 * `npm run bench`: the speed and memory numbers the README quotes, measured on this machine, in one
 * run; the last line is one JSON object. Start-up of a no-op command beside `node -e 0`, indicator
 * updates beside FinRL's per-step window recompute of the same values, loading bars, ONNX inference
 * latency, a whole backtest's steps per second, peak RSS.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger, Metric, type MetricState } from "effect"
import * as ort from "onnxruntime-node"
import { parseBarsCsv } from "./core/bars-csv.js"
import { resolveIndicator } from "./core/indicators/index.js"
import { runBacktest } from "./cli/commands.js"
import { runTrade } from "./cli/trade.js"
import { loadDeployment } from "./config/deployment.js"
import { loadBarsDir, startEmulator } from "./emulator/index.js"
import { alpacaSettingsForEmulator } from "./cli/alpaca-emulator.js"
import { TradingMetrics } from "./programs/metrics.js"

const file = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url))

const time = async (f: () => unknown | Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - t0) / 1e6
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Median wall time of `runs` spawns of `node ARGS…` (after one warm-up), ms. */
const spawnMs = (args: ReadonlyArray<string>, runs = 7): number => {
  const once = () => {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(process.execPath, args, { stdio: "ignore" })
    if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}`)
    return Number(process.hrtime.bigint() - t0) / 1e6
  }
  once()
  return median(Array.from({ length: runs }, once))
}

/**
 * p50, p99 (each as the upper bound of its histogram bucket: "at most") and max of a latency
 * histogram, over what it gained since `before`.
 */
const quantiles = (now: MetricState.MetricState.Histogram, before: MetricState.MetricState.Histogram) => {
  const count = now.count - before.count
  const at = (q: number) => {
    const need = Math.ceil(q * count)
    const hit = now.buckets.find(([, n], i) => n - before.buckets[i][1] >= need)
    // a bucket's bound can exceed the largest sample: the max is a tighter "at most"
    return Math.round((hit === undefined || !Number.isFinite(hit[0]) ? now.max : Math.min(hit[0], now.max)) * 100) / 100
  }
  return { samples: count, p50_at_most: at(0.5), p99_at_most: at(0.99), max: Math.round(now.max * 100) / 100 }
}

/** FinRL recomputes its indicators over this many of the latest bars at every step (its paper trader's window). */
const FINRL_WINDOW = 100

const main = async () => {
  const results: Record<string, number> = {}

  // 0. start-up: a no-op command (features on a 4-row CSV) beside node itself
  const tmp = fs.mkdtempSync(nodePath.join(os.tmpdir(), "rlpt-bench-"))
  const tiny = nodePath.join(tmp, "tiny.csv")
  fs.writeFileSync(tiny, ["date,open,high,low,close,volume", "2024-01-02,10,11,9,10,100", "2024-01-03,10,12,9,11,100", "2024-01-04,11,12,10,11,100", "2024-01-05,11,13,10,12,100", ""].join("\n"))
  results.node_noop_ms = Math.round(spawnMs(["-e", "0"]))
  results.startup_noop_ms = Math.round(spawnMs([file("dist/main.js"), "features", "--indicators", "close_5_sma", "--bars", tiny]))

  // 1. indicators: FinRL's default set over the stockstats fixture, repeated
  const rows = parseBarsCsv(fs.readFileSync(file("test/fixtures/stockstats/002032.csv"), "utf8")).rows
  const names = ["macd", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma"]
  const defs = names.map((n) => {
    const r = resolveIndicator(n)
    if (!r.ok) throw new Error(r.error)
    return r.value
  })
  const repeats = 40
  const ms = await time(() => {
    for (let k = 0; k < repeats; k++) {
      const streams = defs.map((d) => d.create())
      for (const row of rows) for (const s of streams) s.next(row)
    }
  })
  results.indicator_bar_updates_per_second = Math.round((rows.length * repeats) / (ms / 1000))
  // the same eight values per bar, in ns: one incremental update, and FinRL's recompute over its window
  results.indicator_update_ns = Math.round((ms * 1e6) / (rows.length * repeats))
  const windows = Math.min(2_000, rows.length - FINRL_WINDOW)
  const recomputeMs = await time(() => {
    for (let end = FINRL_WINDOW; end < FINRL_WINDOW + windows; end++) {
      const streams = defs.map((d) => d.create())
      for (let i = end - FINRL_WINDOW; i < end; i++) for (const st of streams) st.next(rows[i])
    }
  })
  results.window_recompute_ns = Math.round((recomputeMs * 1e6) / windows)

  // bars: parsing the demo's minute-bar CSVs (today's validation included), per row
  const texts = ["SYNA", "SYNB", "SYNC"].map((t) => fs.readFileSync(file(`data/demo/${t}.csv`), "utf8"))
  let parsedRows = 0
  const loadMs = await time(() => {
    for (const text of texts) parsedRows += parseBarsCsv(text).rows.length
  })
  results.bars_load_ns_per_row = Math.round((loadMs * 1e6) / parsedRows)

  // 2. inference: the demo policy, one observation at a time
  const session = await ort.InferenceSession.create(file("model_registry/demo/1/model.onnx"), { intraOpNumThreads: 1 })
  const input = new ort.Tensor("float32", new Float32Array(31).fill(0.1), [1, 31])
  for (let i = 0; i < 200; i++) await session.run({ obs: input })
  const calls = 2000
  const inferMs = await time(async () => {
    for (let i = 0; i < calls; i++) await session.run({ obs: input })
  })
  results.inference_microseconds_per_call = Math.round((inferMs * 1000) / calls)
  await session.release()

  // 3. a whole backtest of the demo (3 tickers, 44 days of minute bars → 5m decisions)
  const out = nodePath.join(tmp, "backtest")
  let steps = 0
  const btMs = await time(async () => {
    const report = await Effect.runPromise(runBacktest(file("config/demo.yaml"), out, {}).pipe(Effect.provide(NodeContext.layer)))
    steps = report.steps
  })
  results.backtest_steps = steps
  results.backtest_seconds = Math.round(btMs) / 1000
  results.backtest_steps_per_s = Math.round(steps / (btMs / 1000))
  results.peak_rss_mib = Math.round(process.resourceUsage().maxRSS / 1024)

  // 4. live latency: the demo's 3 tickers paper-traded through the SDK against the emulator on
  // loopback (600×, 40 steps); bar complete → decision journaled, → first order handed over
  const emulator = await startEmulator({ bars: await loadBarsDir(file("data/demo")), port: 0, speed: 600, start: Date.parse("2026-02-17T14:30:00Z") })
  const live: Record<string, unknown> = {}
  try {
    const decisionBefore = await Effect.runPromise(Metric.value(TradingMetrics.decisionLatency))
    const orderBefore = await Effect.runPromise(Metric.value(TradingMetrics.firstOrderLatency))
    await Effect.runPromise(
      Effect.gen(function* () {
        const deployment = yield* loadDeployment(file("config/demo.yaml"))
        const accelerated = { ...deployment, config: { ...deployment.config, alpaca: { ...deployment.config.alpaca, clock_speed: 600 } } }
        yield* runTrade(accelerated, { settings: alpacaSettingsForEmulator(emulator), maxSteps: 40, journalPath: nodePath.join(tmp, "live", "journal.jsonl"), freshJournal: true })
      }).pipe(Effect.provide(NodeContext.layer), Effect.provide(Logger.remove(Logger.defaultLogger)))
    )
    live.decision_latency_ms = { tickers_3: quantiles(await Effect.runPromise(Metric.value(TradingMetrics.decisionLatency)), decisionBefore) }
    live.first_order_latency_ms = { tickers_3: quantiles(await Effect.runPromise(Metric.value(TradingMetrics.firstOrderLatency)), orderBefore) }
  } finally {
    await emulator.close()
  }
  fs.rmSync(tmp, { recursive: true, force: true })

  for (const [k, v] of Object.entries(results)) process.stdout.write(`${k.padEnd(36)} ${v}\n`)
  for (const [k, v] of Object.entries(live)) process.stdout.write(`${k.padEnd(36)} ${JSON.stringify(v)}\n`)
  process.stdout.write(JSON.stringify({ ...results, ...live }) + "\n")
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`)
  process.exitCode = 1
})
