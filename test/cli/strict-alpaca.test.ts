import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorMiddleware, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { emulatorDeployment, runCli, waitFor } from "../support/cli.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const SPEED = 600
const START = Date.parse("2026-02-17T14:30:00Z")
const KEYS = { APCA_API_KEY_ID: EMULATOR_KEY_ID, APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY }
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) c.kill("SIGKILL")
})

const records = (file: string): Array<{ type: string }> =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)) : []

describe("against an emulator as strict as Alpaca", () => {
  it("a session at 600× never earns a 429: the trader's budget counts real minutes, as Alpaca's does", async () => {
    // a tight budget, so a limiter counting market minutes (600 times too loose) would overrun it at once
    const LIMIT = 30
    let tooMany = 0
    let tradingRequests = 0
    const count: EmulatorMiddleware = {
      http: async (req, next) => {
        const answer = await next()
        if (req.api === "trading") tradingRequests++
        if (answer.status === 429) tooMany++
        return answer
      }
    }
    const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
    const emulator = await startEmulator({ bars, port: 0, speed: SPEED, start: START, rateLimitPerMinute: LIMIT, middleware: [count] })
    try {
      const yaml = emulatorDeployment(emulator.url, { deploymentId: "budget", speed: SPEED }).replace("alpaca:\n", `alpaca:\n  requests_per_minute: ${LIMIT}\n`)
      const dir = tmpTree({ "deploy.yaml": yaml })
      const run = runCli(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "30"], KEYS, children)
      const result = await run.done
      expect(result.code, result.stderr.slice(-2000)).toBe(0)
      expect(tooMany).toBe(0)
      // the budget was in use (the session's reconciliations alone would ask for three calls a step,
      // 90 in these 15 s; they got the spare half), and no more than it
      expect(tradingRequests).toBeGreaterThanOrEqual(LIMIT / 2)
      expect(tradingRequests).toBeLessThanOrEqual(LIMIT)
      const journal = records(path.join(dir, "journal", "journal.jsonl"))
      expect(journal.filter((r) => r.type === "decision")).toHaveLength(30)
    } finally {
      await emulator.close()
    }
  }, 240_000)

  it("a start while Alpaca answers 503 waits for it, holding the journal: a second start is refused at once; then it trades", async () => {
    const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
    const emulator = await startEmulator({ bars, port: 0, speed: SPEED, start: START })
    try {
      emulator.outage({ api: "all", forMs: 6_000, streams: true })
      const dir = tmpTree({ "deploy.yaml": emulatorDeployment(emulator.url, { deploymentId: "waits", speed: SPEED }) })
      const journal = path.join(dir, "journal", "journal.jsonl")
      const first = runCli(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "3"], KEYS, children)
      await waitFor(() => /not answering/.test(first.output().stderr), 20_000)
      const t0 = Date.now()
      const second = await runCli(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "1"], KEYS, children).done
      expect(second.code, second.stderr).toBe(2)
      expect(second.stderr).toContain(`is in use by another rl-paper-trader (pid ${first.child.pid})`)
      expect(Date.now() - t0).toBeLessThan(10_000)
      const result = await first.done
      expect(result.code, result.stderr.slice(-2000)).toBe(0)
      const written = records(journal)
      expect(written.filter((r) => r.type === "session_start")).toHaveLength(1)
      expect(written.filter((r) => r.type === "decision")).toHaveLength(3)
    } finally {
      await emulator.close()
    }
  }, 120_000)
})
