import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { PROJECT } from "./tmp.js"

/** A deployment of the demo agent pointed at an emulator (YAML text; the journal in `journal/`). */
export const emulatorDeployment = (url: string, options: { readonly deploymentId: string; readonly speed: number }): string => {
  const ws = url.replace(/^http/, "ws")
  return [
    "tickers: [SYNA, SYNB, SYNC]",
    "interval: 5m",
    `model: ${PROJECT}/model_registry/demo/1`,
    `environment: ${PROJECT}/config/environments/demo.yaml`,
    "journal: journal",
    `deployment_id: ${options.deploymentId}`,
    "alpaca:",
    `  trading_url: ${url}`,
    `  data_url: ${url}`,
    `  data_stream_url: ${ws}/v2`,
    `  trading_stream_url: ${ws}/stream`,
    `  clock_speed: ${options.speed}`,
    ""
  ].join("\n")
}

/**
 * Polls `predicate` until it holds (another process's output or file: end-to-end tests wait on I/O,
 * not on time); fails after `ms`.
 */
export const waitFor = async (predicate: () => boolean, ms: number, pollMs = 50) => {
  const until = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > until) throw new Error("timed out waiting")
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

/** `node dist/main.js ARGS…` with its output collected; `children` gets it, so a test can kill what is left. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>, children: Array<ChildProcess>) => {
  const child = spawn(process.execPath, [path.join(PROJECT, "dist/main.js"), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })))
  return { child, done, output: () => ({ stdout, stderr }) }
}
