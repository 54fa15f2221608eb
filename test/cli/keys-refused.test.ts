import { spawn } from "node:child_process"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import { type EmulatorHandle, type EmulatorMiddleware, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { emulatorDeployment, runCli, waitFor } from "../support/cli.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const KEY_ID = "PKRIGHTKEY5X8C3V"
const SECRET = "sk-right-0a1b2c3d4e5f-secret"
const WRONG_ID = "PKWRONGKEY7M2N9B"
const WRONG_SECRET = "sk-wrong-9z8y7x6w5v-secret"

let emulator: EmulatorHandle
let revokedEmulator: EmulatorHandle
/** Once set, the second emulator answers every trading call as Alpaca does for keys revoked mid-session. */
let revoked = false
const children: Array<ChildProcess> = []
beforeAll(async () => {
  const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
  emulator = await startEmulator({ bars, port: 0, speed: 1200, start: Date.parse("2026-02-17T14:30:00Z"), keyId: KEY_ID, secretKey: SECRET })
  const revoking: EmulatorMiddleware = {
    http: (req, next) => (revoked && req.api === "trading" ? Promise.resolve({ status: 401, body: { code: 40110000, message: "request is not authorized" } }) : next())
  }
  revokedEmulator = await startEmulator({ bars, port: 0, speed: 1200, start: Date.parse("2026-02-17T14:30:00Z"), keyId: KEY_ID, secretKey: SECRET, middleware: [revoking] })
})
afterAll(() => {
  for (const c of children) c.kill("SIGKILL")
  emulator?.close()
  revokedEmulator?.close()
})

const deployment = (files: Record<string, string> = {}) =>
  tmpTree({ "deploy.yaml": emulatorDeployment(emulator.url, { deploymentId: "keys", speed: 1200 }), ...files })

const trade = (dir: string, env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [path.join(PROJECT, "dist/main.js"), "trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "1"], {
      env: { ...process.env, APCA_API_KEY_ID: "", APCA_API_SECRET_KEY: "", LOG_LEVEL: "debug", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("exit", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }))
  })

const expectRefused = (result: Awaited<ReturnType<typeof trade>>, source: RegExp) => {
  expect(result.code, result.stderr).toBe(2)
  expect(result.ms).toBeLessThan(8_000)
  const lines = result.stderr.trimEnd().split("\n").filter((l) => !l.startsWith("{")) // debug logs are JSON lines
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: the broker refused the API keys \(HTTP 40[13] on clock\); keys read from /)
  expect(lines[0]).toMatch(source)
  expect(result.stderr).not.toMatch(/trading_url/)
  const written = result.stdout + result.stderr
  for (const key of [KEY_ID, SECRET, WRONG_ID, WRONG_SECRET]) expect(written.includes(key), key).toBe(false)
}

describe("trade with keys the broker refuses", () => {
  it("exits 2 at once, in one line naming the environment variables, never the keys", async () => {
    const result = await trade(deployment(), { APCA_API_KEY_ID: WRONG_ID, APCA_API_SECRET_KEY: WRONG_SECRET })
    expectRefused(result, /the environment \(APCA_API_KEY_ID \/ APCA_API_SECRET_KEY\)$/)
  }, 20_000)

  it("exits 2 at once, in one line naming the keys file, never the keys", async () => {
    const dir = deployment({ "api_keys.yaml": `alpaca:\n  api_key_id_paper: ${KEY_ID}\n  secret_key_paper: ${WRONG_SECRET}\n` })
    const result = await trade(dir, {})
    expectRefused(result, new RegExp(`the keys file ${path.join(dir, "api_keys.yaml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`))
  }, 20_000)
})

describe("keys revoked in the middle of a session", () => {
  it("end it: exit 2 within seconds, one line naming where the keys came from, session_error journaled", async () => {
    const dir = tmpTree({ "deploy.yaml": emulatorDeployment(revokedEmulator.url, { deploymentId: "revoked", speed: 1200 }) })
    const journal = path.join(dir, "journal", "journal.jsonl")
    const decisions = () => (fs.existsSync(journal) ? fs.readFileSync(journal, "utf8").split("\n").filter((l) => l.includes('"type":"decision"')).length : 0)
    const run = runCli(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "500"], { APCA_API_KEY_ID: KEY_ID, APCA_API_SECRET_KEY: SECRET }, children)
    await waitFor(() => decisions() >= 2, 60_000)
    revoked = true
    const revokedAt = Date.now()
    const result = await run.done
    expect(result.code, result.stderr).toBe(2)
    expect(Date.now() - revokedAt).toBeLessThan(10_000)
    const errors = result.stderr.trimEnd().split("\n").filter((l) => l.startsWith("error:"))
    expect(errors, result.stderr).toHaveLength(1)
    expect(errors[0]).toMatch(/^error: the broker refused the API keys \(HTTP 401 on [^)]+\); keys read from the environment \(APCA_API_KEY_ID \/ APCA_API_SECRET_KEY\)$/)
    expect(result.stdout + result.stderr).not.toContain(SECRET)
    const records = fs.readFileSync(journal, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { type: string; error?: string })
    expect(records.at(-1)).toMatchObject({ type: "session_error", error: expect.stringContaining("refused the API keys") })
  }, 90_000)
})
