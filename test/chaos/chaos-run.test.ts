import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { PROJECT } from "../support/tmp.js"

describe("npm run chaos, bounded for CI", () => {
  it("kill -9s and restarts the trader under injected faults: no duplicate, lost or mismatched anything", () => {
    const r = spawnSync(process.execPath, [path.join(PROJECT, "dist/chaos.js"), "--quick"], { encoding: "utf8", timeout: 120_000 })
    const line = r.stdout.trim().split("\n").pop() ?? ""
    const result = JSON.parse(line)
    expect(result.kills).toBeGreaterThan(0)
    expect(result.faults.kill9).toBe(result.kills)
    expect(Object.values(result.faults as Record<string, number>).reduce((a, b) => a + b, 0)).toBeGreaterThan(result.kills)
    expect(result.decisions).toBeGreaterThan(0)
    expect({
      duplicate_orders: result.duplicate_orders,
      lost_journal_records: result.lost_journal_records,
      position_mismatches: result.position_mismatches,
      unhandled_errors: result.unhandled_errors
    }).toEqual({ duplicate_orders: 0, lost_journal_records: 0, position_mismatches: 0, unhandled_errors: 0 })
    expect(r.status, r.stderr.slice(-2000)).toBe(0)
  }, 130_000)
})
