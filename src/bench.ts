#!/usr/bin/env node
/**
 * `npm run bench`: the speed and memory numbers the README quotes, measured on this machine.
 * Indicator updates per second, ONNX inference latency, backtest steps per second, peak RSS.
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import * as ort from "onnxruntime-node"
import { parseBarsCsv } from "./core/bars-csv.js"
import { resolveIndicator } from "./core/indicators/index.js"
import { runBacktest } from "./cli/commands.js"

const file = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url))

const time = async (f: () => unknown | Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - t0) / 1e6
}

const main = async () => {
  const results: Record<string, number> = {}

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
  const out = fs.mkdtempSync("/tmp/rlpt-bench-")
  let steps = 0
  const btMs = await time(async () => {
    const report = await Effect.runPromise(runBacktest(file("config/demo.yaml"), out, {}).pipe(Effect.provide(NodeContext.layer)))
    steps = report.steps
  })
  results.backtest_steps = steps
  results.backtest_seconds = Math.round(btMs) / 1000
  results.backtest_steps_per_second = Math.round(steps / (btMs / 1000))
  results.peak_rss_mib = Math.round(process.resourceUsage().maxRSS / 1024)
  fs.rmSync(out, { recursive: true, force: true })

  for (const [k, v] of Object.entries(results)) process.stdout.write(`${k.padEnd(36)} ${v}\n`)
  process.stdout.write(JSON.stringify(results) + "\n")
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`)
  process.exitCode = 1
})
