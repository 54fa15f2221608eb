import { describe, expect, it } from "vitest"
import { RiskGuard } from "../../src/core/risk-guard.js"

describe("RiskGuard", () => {
  it("trips the kill switch once the day's loss reaches the limit, and resets the next day", () => {
    const guard = new RiskGuard({ dailyLossLimit: 500 })
    expect(guard.onStep(0, 1, 10_000)).toEqual([])
    expect(guard.onStep(1, 1, 9_600)).toEqual([])
    expect(guard.mode).toBe("normal")
    expect(guard.onStep(2, 1, 9_499)).toEqual([{ kind: "kill_switch", loss: 501, limit: 500, dayStartEquity: 10_000 }])
    expect(guard.mode).toBe("no_new_positions")
    expect(guard.onStep(3, 1, 9_000)).toEqual([]) // trips once
    expect(guard.mode).toBe("no_new_positions")
    expect(guard.onStep(4, 2, 9_000)).toEqual([])
    expect(guard.mode).toBe("normal")
  })

  it("opens the breaker after N rejections in a row, closes it after the cool-down", () => {
    const guard = new RiskGuard({ maxConsecutiveRejections: 3, breakerCooldownSteps: 5 })
    guard.onStep(10, 1, 1)
    expect(guard.onRejection()).toEqual([])
    guard.onAccepted()
    expect(guard.onRejection()).toEqual([])
    expect(guard.onRejection()).toEqual([])
    expect(guard.onRejection()).toEqual([{ kind: "circuit_open", rejections: 3, untilStep: 15 }])
    expect(guard.mode).toBe("halted")
    expect(guard.onStep(14, 1, 1)).toEqual([])
    expect(guard.mode).toBe("halted")
    expect(guard.onStep(15, 1, 1)).toEqual([{ kind: "circuit_closed" }])
    expect(guard.mode).toBe("normal")
  })

  it("does nothing without limits", () => {
    const guard = new RiskGuard({})
    guard.onStep(0, 1, 100)
    for (let i = 0; i < 50; i++) guard.onRejection()
    expect(guard.onStep(1, 1, 1)).toEqual([])
    expect(guard.mode).toBe("normal")
  })
})
