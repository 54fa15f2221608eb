import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { emulatorDeployment, runCli, waitFor } from "../support/cli.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const SPEED = 1200
const START = "2026-02-17T14:30:00Z"
const children: Array<ChildProcess> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL")
})

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runCli(args, { APCA_API_KEY_ID: "", APCA_API_SECRET_KEY: "", ...env }, children)

/** A deployment of the demo agent pointed at an emulator. */
const deploymentFor = (url: string, extra: Record<string, string> = {}) =>
  tmpTree({ "deploy.yaml": emulatorDeployment(url, { deploymentId: "e2e", speed: SPEED }), ...extra })

const readJournal = (dir: string) =>
  fs.existsSync(path.join(dir, "journal/journal.jsonl"))
    ? fs.readFileSync(path.join(dir, "journal/journal.jsonl"), "utf8").trimEnd().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    : []

describe("trade against a local emulator", () => {
  it("places orders that appear in the emulator's GET /v2/orders?status=all", async () => {
    const emulator = run(["emulator", "--bars", path.join(PROJECT, "data/demo"), "--port", "0", "--speed", String(SPEED), "--start", START])
    await waitFor(() => /Alpaca emulator on (http:\/\/127\.0\.0\.1:\d+)/.test(emulator.output().stdout), 20_000)
    const url = /Alpaca emulator on (http:\/\/127\.0\.0\.1:\d+)/.exec(emulator.output().stdout)![1]
    const dir = deploymentFor(url, {
      "api_keys.yaml": `alpaca:\n  api_key_id_paper: ${EMULATOR_KEY_ID}\n  secret_key_paper: ${EMULATOR_SECRET_KEY}\n`
    })
    const trader = await run(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "8"]).done
    expect(trader.code, trader.stderr).toBe(0)
    expect(trader.stdout).toMatch(/steps 8 /)
    const journal = readJournal(dir)
    const intents = journal.filter((r) => r.type === "decision").flatMap((d) => d.orders.map((o: { client_order_id: string }) => o.client_order_id))
    expect(intents.length).toBeGreaterThan(0)
    const res = await fetch(`${url}/v2/orders?status=all&limit=500`, { headers: { "APCA-API-KEY-ID": EMULATOR_KEY_ID, "APCA-API-SECRET-KEY": EMULATOR_SECRET_KEY } })
    const orders = (await res.json()) as Array<{ client_order_id: string; status: string }>
    expect(orders.map((o) => o.client_order_id).sort()).toEqual([...intents].sort())
    expect(journal[journal.length - 1].type).toBe("session_end")
    emulator.child.kill("SIGINT")
    expect((await emulator.done).code).toBe(0)
  }, 60_000)

  it("stops on SIGINT: no new decisions, settles, flushes, exits 0", async () => {
    const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
    const emulator = await startEmulator({ bars, port: 0, speed: SPEED, start: Date.parse(START) })
    try {
      const dir = deploymentFor(emulator.url)
      const metricsPort = 30000 + Math.floor(Math.random() * 20000)
      const trader = run(["trade", "--config", path.join(dir, "deploy.yaml"), "--metrics-port", String(metricsPort)], {
        APCA_API_KEY_ID: EMULATOR_KEY_ID,
        APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY
      })
      await waitFor(() => readJournal(dir).filter((r) => r.type === "decision").length >= 3, 30_000)
      // the metrics endpoint counts what the journal holds
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
      const decisions = Number(/^rlpt_decisions_total (\d+)$/m.exec(metrics)?.[1])
      expect(decisions).toBeGreaterThanOrEqual(3)
      expect(metrics).toMatch(/^rlpt_equity \d/m)
      trader.child.kill("SIGINT")
      const result = await trader.done
      expect(result.code, result.stderr).toBe(0)
      const journal = readJournal(dir)
      expect(journal[journal.length - 1].type).toBe("session_end")
      expect(result.stderr).not.toMatch(/\n\s+at /)
    } finally {
      await emulator.close()
    }
  }, 60_000)

  it("never writes the keys anywhere: stdout, stderr, journal, metrics", async () => {
    const keyId = "PKSECRETTEST7Q2W9E4R"
    const secret = "sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0-unguessable"
    const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
    const emulator = await startEmulator({ bars, port: 0, speed: SPEED, start: Date.parse(START), keyId, secretKey: secret })
    try {
      const dir = deploymentFor(emulator.url)
      const metricsPort = String(30000 + Math.floor(Math.random() * 20000))
      const ok = await run(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "4", "--metrics-port", metricsPort], {
        APCA_API_KEY_ID: keyId,
        APCA_API_SECRET_KEY: secret,
        LOG_LEVEL: "debug"
      }).done
      expect(ok.code, ok.stderr).toBe(0)
      const wrong = await run(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "1"], {
        APCA_API_KEY_ID: keyId,
        APCA_API_SECRET_KEY: `${secret}-wrong`,
        LOG_LEVEL: "debug"
      }).done
      expect(wrong.code).not.toBe(0)
      expect(wrong.stderr).toMatch(/error/i)
      const written = [ok.stdout, ok.stderr, wrong.stdout, wrong.stderr, ...fs.readdirSync(path.join(dir, "journal")).map((f) => fs.readFileSync(path.join(dir, "journal", f), "utf8"))].join("\n")
      expect(written.length).toBeGreaterThan(1000)
      for (const needle of [secret, keyId, secret.slice(0, 16), secret.slice(-16)]) expect(written.includes(needle), needle).toBe(false)
    } finally {
      await emulator.close()
    }
  }, 60_000)
})
