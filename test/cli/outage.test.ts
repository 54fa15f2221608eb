import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fetchAllOrders } from "../../src/chaos/emulator-state.js"
import { type EmulatorPosition, parseJournal, verifySession } from "../../src/chaos/verifier.js"
import { readJournal } from "../../src/domain/Journal.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorHandle, type EmulatorMiddleware, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { emulatorDeployment, runCli, waitFor } from "../support/cli.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const SPEED = 600
const OUTAGE_MS = 8_000

let emulator: EmulatorHandle
const children: Array<ChildProcess> = []
/** Once armed, the next order the emulator accepts starts the outage: that order fills while nobody can hear it. */
let armed = false
/** The outage's window in market time, as the emulator saw it. */
let outageFrom = 0
beforeAll(async () => {
  const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
  const outageAfterAnOrder: EmulatorMiddleware = {
    http: async (req, next) => {
      const answer = await next()
      if (armed && req.method === "POST" && req.path === "/v2/orders" && answer.status === 200) {
        armed = false
        setImmediate(() => {
          outageFrom = emulator.marketNow()
          emulator.outage({ api: "all", forMs: OUTAGE_MS, streams: true })
        })
      }
      return answer
    }
  }
  // Alpaca as strict as it is: 200 requests a minute per key, one data socket, the basic plan; orders
  // fill a bar after they arrive, so the one that starts the outage fills in it
  emulator = await startEmulator({ bars, port: 0, speed: SPEED, start: Date.parse("2026-02-17T14:30:00Z"), middleware: [outageAfterAnOrder], faults: { slowFillBars: 1 } })
})
afterAll(() => {
  for (const c of children) c.kill("SIGKILL")
  return emulator?.close()
})

describe("Alpaca down for longer than any retry (REST 503 and the streams gone)", () => {
  it("the session holds through it, journals it once, books the fills that happened meanwhile from REST, and trades on to its last step", async () => {
    // retries a few seconds long at most: the outage outlasts every retry the layers and the step allow
    const yaml = `${emulatorDeployment(emulator.url, { deploymentId: "outage", speed: SPEED })}supervision:\n  backoff_base_seconds: 0.1\n  backoff_max_seconds: 1\n`
    const dir = tmpTree({ "deploy.yaml": yaml })
    const journalFile = path.join(dir, "journal", "journal.jsonl")
    const lines = () => (fs.existsSync(journalFile) ? fs.readFileSync(journalFile, "utf8").split("\n") : [])
    const sentOrders = () => lines().filter((l) => l.includes('"type":"decision"') && !l.includes('"orders":[]')).length
    const run = runCli(["trade", "--config", path.join(dir, "deploy.yaml"), "--max-steps", "40"], { APCA_API_KEY_ID: EMULATOR_KEY_ID, APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY }, children)
    await waitFor(() => sentOrders() >= 1, 60_000)
    armed = true
    const result = await run.done
    expect(result.code, result.stderr.slice(-2000)).toBe(0)

    const records = readJournal(fs.readFileSync(journalFile)).records
    expect(records.filter((r) => r.type === "session_error")).toEqual([])
    const outages = records.filter((r) => r.type === "outage")
    const ends = records.filter((r) => r.type === "outage_end")
    // once per service that was out, however many calls failed
    expect(outages.filter((r) => r.service === "broker")).toHaveLength(1)
    expect(ends.filter((r) => r.service === "broker")).toHaveLength(1)
    expect(outages.length).toBeLessThanOrEqual(2)
    expect(outages[0].cause).toMatch(/HTTP 503|network/)
    // the streams' backfill after the reconnect is not mistaken for bad data
    expect(records.filter((r) => r.type === "bad_bar")).toEqual([])
    const brokerOut = outages.find((r) => r.service === "broker")!
    const brokerBack = ends.find((r) => r.service === "broker")!
    // the steps decided while it was out held every ticker and sent nothing
    const decisions = records.filter((r) => r.type === "decision")
    const during = decisions.filter((d) => d.time > brokerOut.time && d.time < brokerBack.time)
    expect(during.length).toBeGreaterThan(0)
    for (const d of during) expect(d.orders).toEqual([])
    expect(decisions.filter((d) => d.time > brokerBack.time).some((d) => d.orders.length > 0)).toBe(true)
    expect(records.filter((r) => r.type === "session_end").at(-1)).toMatchObject({ steps: 40 })

    // nothing lost, nothing doubled: every fill at the broker is in the journal, positions agree
    const orders = await fetchAllOrders(emulator.url)
    const positions = (await (await fetch(`${emulator.url}/v2/positions`, { headers: { "APCA-API-KEY-ID": EMULATOR_KEY_ID, "APCA-API-SECRET-KEY": EMULATOR_SECRET_KEY } })).json()) as Array<EmulatorPosition>
    const verdict = verifySession(orders.filter((o) => o.client_order_id.startsWith("outage-")), positions, parseJournal(fs.readFileSync(journalFile, "utf8")))
    expect(verdict.details).toEqual([])
    expect(verdict).toMatchObject({ duplicate_orders: 0, lost_journal_records: 0, position_mismatches: 0 })
    // an order filled during the outage (its trade update never sent): its fill is journaled all the same
    const filledMeanwhile = orders.filter((o) => {
      const at = (o as { filled_at?: string | null }).filled_at
      return typeof at === "string" && Date.parse(at) >= outageFrom && Date.parse(at) < outageFrom + OUTAGE_MS * SPEED
    })
    expect(filledMeanwhile.length).toBeGreaterThan(0)
    for (const o of filledMeanwhile) expect(records.some((r) => r.type === "fill" && r.client_order_id === o.client_order_id)).toBe(true)
    // the outage was real: the emulator answered 503s
    expect(emulator.faultCounts().outageAnswers).toBeGreaterThan(0)
  }, 120_000)
})
