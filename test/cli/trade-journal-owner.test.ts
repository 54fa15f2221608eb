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
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
})

const trade = (args: ReadonlyArray<string>) => runCli(["trade", ...args], { APCA_API_KEY_ID: EMULATOR_KEY_ID, APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY }, children)

const config = (url: string, deploymentId: string) => emulatorDeployment(url, { deploymentId, speed: SPEED })

const journalLines = (file: string): Array<{ type: string; deployment?: string }> =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)) : []

describe("trade: one writer per journal, and only its owner's", () => {
  it("a second trade on the same config exits 2 naming the first one's pid; another deployment is refused; --fresh-journal moves the old journal aside", async () => {
    const bars = await loadBarsDir(path.join(PROJECT, "data/demo"))
    const emulator = await startEmulator({ bars, port: 0, speed: SPEED, start: Date.parse(START) })
    try {
      const dir = tmpTree({ "a.yaml": config(emulator.url, "e2e"), "b.yaml": config(emulator.url, "other") })
      const journal = path.join(dir, "journal/journal.jsonl")
      const first = trade(["--config", path.join(dir, "a.yaml")])
      // its session has started: it holds the lock
      await waitFor(() => journalLines(journal).some((r) => r.type === "session_start"), 30_000, 25)

      const t0 = Date.now()
      const second = await trade(["--config", path.join(dir, "a.yaml")]).done
      const secondMs = Date.now() - t0
      expect(second.code, second.stderr).toBe(2)
      expect(second.stderr).toContain(`error: journal ${journal} is in use by another rl-paper-trader (pid ${first.child.pid}): stop it first`)
      expect(secondMs).toBeLessThan(10_000)

      first.child.kill("SIGINT")
      const firstDone = await first.done
      expect(firstDone.code, firstDone.stderr).toBe(0)
      const written = journalLines(journal)
      expect(written.filter((r) => r.type === "session_start")).toHaveLength(1)
      expect(written[written.length - 1].type).toBe("session_end")

      const foreign = await trade(["--config", path.join(dir, "b.yaml"), "--max-steps", "1"]).done
      expect(foreign.code, foreign.stderr).toBe(2)
      expect(foreign.stderr).toMatch(/belongs to deployment "e2e", model demo 1 \(sha256 \w+…\); this is deployment "other", model demo 1/)
      expect(foreign.stderr).toContain("--fresh-journal")
      const before = fs.readFileSync(journal)

      const fresh = await trade(["--config", path.join(dir, "b.yaml"), "--max-steps", "1", "--fresh-journal"]).done
      expect(fresh.code, fresh.stderr).toBe(0)
      const kept = fs.readdirSync(path.dirname(journal)).filter((f) => f.startsWith("journal.jsonl."))
      expect(kept).toHaveLength(1)
      expect(fs.readFileSync(path.join(path.dirname(journal), kept[0]))).toEqual(before)
      expect(journalLines(journal).filter((r) => r.type === "session_start").map((r) => r.deployment)).toEqual(["other"])
    } finally {
      await emulator.close()
    }
  }, 60_000)
})
