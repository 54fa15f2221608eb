import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { MAX_BYTES } from "../../src/config/files.js"
import { MetricsServerLive } from "../../src/layers/MetricsServer.js"
import { demoConfig, demoDeploymentFiles, PROJECT, tmpTree } from "../support/tmp.js"

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  readonly ms: number
}

/** Runs the built CLI with a bounded heap and a deadline: a hang or a runaway read fails the test instead of the machine. */
const cli = (...args: Array<string>): Promise<Run> =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = execFile(process.execPath, ["--max-old-space-size=128", path.join(PROJECT, "dist/main.js"), ...args], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, LOG_FORMAT: "json" }
    }, (_error, _stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stderr, ms: Date.now() - started }))
  })

/** Several runs, as many at a time as there are cores: each CLI start loads onnxruntime and the SDKs (about 2 s of CPU). */
const clis = async (runs: ReadonlyArray<ReadonlyArray<string>>): Promise<Array<Run>> => {
  const results = new Array<Run>(runs.length)
  let next = 0
  const worker = async () => {
    while (next < runs.length) {
      const i = next++
      results[i] = await cli(...runs[i])
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(os.availableParallelism(), 4)) }, worker))
  return results
}

/** Exit 2, one line on stderr matching `pattern`, no stack trace, no "internal error". */
const expectOneLine = (r: Run, pattern: RegExp) => {
  expect(r.signal, r.stderr).toBeNull()
  expect(r.code, r.stderr).toBe(2)
  const lines = r.stderr.trimEnd().split("\n")
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toContain("    at ")
  expect(r.stderr).not.toMatch(/internal error/)
}

/** A usage error: the message on the first line, then the usage; still no stack trace. */
const expectUsage = (r: Run, pattern: RegExp) => {
  expect(r.code, r.stderr).toBe(2)
  expect(r.stderr.split("\n")[0]).toMatch(pattern)
  expect(r.stderr).not.toContain("    at ")
  expect(r.stderr).not.toMatch(/internal error/)
}

/** Nine levels of nine aliases each: 9^9 strings if expanded. */
const aliasBomb = ["bomb_a: &a [x, x, x, x, x, x, x, x, x]", ..."bcdefghi".split("").map((c, i) => `bomb_${c}: &${c} [${new Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`)].join("\n") + "\n"

const modelYaml = fs.readFileSync(path.join(PROJECT, "model_registry/demo/1/model.yaml"), "utf8")

const SLOW = 120_000

describe("bad input files: exit 2, one line naming the file", () => {
  it("a YAML alias bomb in the deployment config, quickly, in a 128 MB heap", async () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig(aliasBomb)))
    const r = await cli("backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o"))
    expectOneLine(r, /deploy\.yaml: too many YAML alias expansions \(limit 100\)/)
    expect(r.ms).toBeLessThan(20_000)
  })

  it("a YAML alias bomb in the environment config and in model.yaml", async () => {
    const env = tmpTree(demoDeploymentFiles(demoConfig(), aliasBomb))
    const model = tmpTree({ ...demoDeploymentFiles(demoConfig().replace(/model: .*/, "model: m")), "m/model.yaml": modelYaml + aliasBomb })
    const [a, b] = await clis([env, model].map((dir) => ["backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o")]))
    expectOneLine(a, /env\.yaml: too many YAML alias expansions/)
    expectOneLine(b, /model\.yaml: too many YAML alias expansions/)
  }, SLOW)

  it("onnx.file: /dev/zero is refused unread (not a regular file)", async () => {
    const dir = tmpTree({ ...demoDeploymentFiles(demoConfig().replace(/model: .*/, "model: m")), "m/model.yaml": modelYaml.replace(/^(\s*file:).*$/m, "$1 /dev/zero") })
    const r = await cli("backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o"))
    expectOneLine(r, /\/dev\/zero: the ONNX file \(onnx\.file in model\.yaml\) is a character device, not a regular file/)
  })

  it("--config a FIFO (no hang) or a directory", async () => {
    const dir = tmpTree({})
    const fifo = path.join(dir, "deploy.yaml")
    execFileSync("mkfifo", [fifo])
    const [a, b] = await clis([["backtest", "--config", fifo, "--out", path.join(dir, "o")], ["backtest", "--config", dir, "--out", path.join(dir, "o")]])
    expectOneLine(a, /deploy\.yaml: deployment config is a FIFO \(named pipe\), not a regular file/)
    expectOneLine(b, /deployment config is a directory, not a regular file/)
  }, SLOW)

  it("files over their size bound (sparse: nothing is written)", async () => {
    const yaml = tmpTree(demoDeploymentFiles(demoConfig()))
    fs.truncateSync(path.join(yaml, "env.yaml"), MAX_BYTES.yaml + 1)
    const bars = tmpTree({
      ...demoDeploymentFiles(demoConfig().replace(/bars: .*/, "bars: bars")),
      "bars/SYNA.csv": "",
      "bars/SYNB.csv": fs.readFileSync(path.join(PROJECT, "data/demo/SYNB.csv"), "utf8"),
      "bars/SYNC.csv": fs.readFileSync(path.join(PROJECT, "data/demo/SYNC.csv"), "utf8")
    })
    fs.truncateSync(path.join(bars, "bars/SYNA.csv"), MAX_BYTES.barsCsv + 1)
    const onnx = tmpTree({ ...demoDeploymentFiles(demoConfig().replace(/model: .*/, "model: m")), "m/model.yaml": modelYaml, "m/model.onnx": "" })
    fs.truncateSync(path.join(onnx, "m/model.onnx"), MAX_BYTES.onnx + 1)
    const features = tmpTree({ "big.csv": "" })
    fs.truncateSync(path.join(features, "big.csv"), MAX_BYTES.barsCsv + 1)
    const runs = await clis([
      ...[yaml, bars, onnx].map((dir) => ["backtest", "--config", path.join(dir, "deploy.yaml"), "--out", path.join(dir, "o")]),
      ["features", "--indicators", "macd", "--bars", path.join(features, "big.csv")]
    ])
    expectOneLine(runs[0], /env\.yaml: environment config is 1 MiB \(1048577 bytes\), larger than the limit of 1 MiB/)
    expectOneLine(runs[1], /SYNA\.csv: the bars file for SYNA is 256 MiB \(268435457 bytes\), larger than the limit of 256 MiB/)
    expectOneLine(runs[2], /model\.onnx: the ONNX file .* is 512 MiB \(536870913 bytes\), larger than the limit of 512 MiB/)
    expectOneLine(runs[3], /big\.csv: the bars file is 256 MiB/)
  }, SLOW)
})

describe("numeric options are range-checked: exit 2 naming the flag, the value and the range", () => {
  it("--metrics-port 70000", async () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig()))
    const [high, zero] = await clis(["70000", "0"].map((port) => ["trade", "--config", path.join(dir, "deploy.yaml"), "--metrics-port", port]))
    expectUsage(high, /^error: --metrics-port must be a whole number from 1 to 65535, got '70000'$/)
    expectUsage(zero, /--metrics-port must be a whole number from 1 to 65535, got '0'/)
  }, SLOW)

  it("every other numeric flag", async () => {
    const dir = tmpTree(demoDeploymentFiles(demoConfig()))
    const config = path.join(dir, "deploy.yaml")
    const out = path.join(dir, "o")
    const cases: Array<[Array<string>, RegExp]> = [
      [["backtest", "--config", config, "--out", out, "--max-steps", "0"], /--max-steps must be a whole number ≥ 1, got '0'/],
      [["rehearse", "--config", config, "--out", out, "--max-steps", "1e3"], /--max-steps must be a whole number ≥ 1, got '1e3'/],
      [["rehearse", "--config", config, "--out", out, "--max-steps", "2.5"], /--max-steps must be a whole number ≥ 1, got '2\.5'/],
      [["trade", "--config", config, "--max-steps", "-1"], /--max-steps must be a whole number ≥ 1, got '-1'/],
      [["emulator", "--bars", dir, "--port", "65536"], /--port must be a whole number from 0 to 65535, got '65536'/],
      [["emulator", "--bars", dir, "--speed", "0"], /--speed must be a finite number > 0 and ≤ 1000000, got '0'/],
      [["emulator", "--bars", dir, "--speed", "Infinity"], /--speed must be a finite number > 0 and ≤ 1000000, got 'Infinity'/],
      [["train", "--config", config, "--out", out, "--seed", "-1"], /--seed must be a whole number ≥ 0, got '-1'/],
      [["train", "--config", config, "--out", out, "--iterations", "0"], /--iterations must be a whole number ≥ 1, got '0'/],
      [["synth", "--out", out, "--seed", "0x10"], /--seed must be a whole number ≥ 0, got '0x10'/]
    ]
    const runs = await clis(cases.map(([args]) => args))
    runs.forEach((r, i) => expectUsage(r, cases[i][1]))
  }, SLOW)
})

describe("the metrics server", () => {
  const build = (port: number) => Effect.runPromiseExit(Effect.scoped(Layer.build(MetricsServerLive(port))))

  it("a port in use is a typed MetricsServerError naming the port, not a defect", async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const exit = await build(port)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : exit).toMatchObject({
        _tag: "MetricsServerError",
        message: `cannot serve metrics on 127.0.0.1:${port} (--metrics-port): the port is already in use (another process, or another session's metrics)`
      })
    } finally {
      blocker.close()
    }
  })

  it("a port out of range is a typed error too (node throws instead of emitting 'error')", async () => {
    const exit = await build(70_000)
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : exit).toMatchObject({ _tag: "MetricsServerError", message: expect.stringMatching(/not a port/) })
  })
})
