import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import { Clock, Duration, Effect, Fiber, Logger, TestClock } from "effect"
import { keepAnchored, makeMarketTimeClock } from "../../src/layers/MarketTimeClock.js"

const MIN = 60_000

/** Injected sources: `wall` is the machine's clock (steps), `mono` the monotonic one. */
const sources = () => {
  const t = { wall: 1_700_000_000_000, mono: 1_000 }
  return { t, wallNow: () => t.wall, monotonicNow: () => t.mono }
}

/** Every message logged by `effect`, with its annotations. */
const capturingLogs = () => {
  const lines: Array<{ message: string; annotations: Record<string, unknown> }> = []
  const logger = Logger.make(({ annotations, message }) => {
    const fields: Record<string, unknown> = {}
    for (const [k, v] of annotations) fields[k] = v
    lines.push({ message: String(Array.isArray(message) ? message.join(" ") : message), annotations: fields })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("MarketTimeClock", () => {
  it("anchors market time to the broker's and runs it `speed` times faster on the monotonic clock", () => {
    const { t, ...src } = sources()
    const clock = makeMarketTimeClock({ marketStart: 5_000_000, speed: 60, ...src })
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_000_000)
    t.mono += 1_000
    t.wall += 1_000
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_060_000)
    expect(Effect.runSync(Effect.withClock(Clock.currentTimeMillis, clock))).toBe(5_060_000)
  })

  it("a 10-minute step of the wall clock does not move market time; it is reported once, with both deltas", () => {
    const { t, ...src } = sources()
    const clock = makeMarketTimeClock({ marketStart: 5_000_000, speed: 1, ...src })
    t.mono += 1_000
    t.wall += 1_000
    expect(clock.checkWallClock()).toBeUndefined()
    t.mono += 1_000
    t.wall += 10 * MIN + 1_000
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_002_000)
    expect(clock.checkWallClock()).toEqual({ wallDeltaMs: 10 * MIN + 1_000, monotonicDeltaMs: 1_000 })
    t.mono += 1_000
    t.wall += 1_000
    expect(clock.checkWallClock()).toBeUndefined()
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_003_000)
    // a step back is a jump too, and still does not move market time
    t.wall -= 10 * MIN
    expect(clock.checkWallClock()).toMatchObject({ wallDeltaMs: -10 * MIN, monotonicDeltaMs: 0 })
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_003_000)
  })

  it("re-anchors to the broker's time, never going back", () => {
    const { t, ...src } = sources()
    const clock = makeMarketTimeClock({ marketStart: 5_000_000, speed: 1, ...src })
    t.mono += 1_000
    clock.reanchor(5_000_000 + 10 * MIN) // the broker moved on while this machine was suspended
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_000_000 + 10 * MIN)
    t.mono += 1_000
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_000_000 + 10 * MIN + 1_000)
    clock.reanchor(5_000_000 + 10 * MIN + 500)
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_000_000 + 10 * MIN + 1_000)
    t.mono += 1_000
    expect(clock.unsafeCurrentTimeMillis()).toBe(5_000_000 + 10 * MIN + 1_500)
  })

  it("sleeps a market duration for duration / speed of real time, whatever the wall clock does", async () => {
    vi.useFakeTimers()
    try {
      const clock = makeMarketTimeClock({ marketStart: 0, speed: 1000 })
      let done = false
      const sleeping = Effect.runPromise(Effect.withClock(Effect.sleep("20 seconds"), clock)).then(() => (done = true))
      vi.setSystemTime(Date.now() + 10 * MIN)
      await vi.advanceTimersByTimeAsync(19)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(2)
      await sleeping
      expect(done).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it.effect("keepAnchored logs a wall-clock jump once, re-anchors at once after it, and every `reanchorEvery`", () =>
    Effect.gen(function* () {
      const { t, ...src } = sources()
      const clock = makeMarketTimeClock({ marketStart: 5_000_000, speed: 1, ...src })
      let broker = 5_000_000
      let reads = 0
      const brokerNow = Effect.sync(() => (reads++, broker))
      const logs = capturingLogs()
      const watcher = yield* keepAnchored(clock, { brokerNow, checkEvery: "10 seconds", reanchorEvery: "1 minute" }).pipe(
        Effect.provide(logs.layer),
        Effect.fork
      )
      const tick = (wallStep = 0) =>
        Effect.gen(function* () {
          t.mono += 10_000
          t.wall += 10_000 + wallStep
          broker += 10_000
          yield* TestClock.adjust("10 seconds")
        })
      yield* tick()
      yield* tick(10 * MIN)
      for (let i = 0; i < 4; i++) yield* tick()
      expect(clock.unsafeCurrentTimeMillis()).toBe(5_060_000)
      const warnings = logs.lines.filter((l) => /wall clock jumped/.test(l.message))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.annotations).toMatchObject({ wall_delta_ms: 10 * MIN + 10_000, monotonic_delta_ms: 10_000 })
      // once after the jump (20 s), once at 60 s
      expect(reads).toBe(2)
      yield* Fiber.interrupt(watcher)
    })
  )

  it.effect("keepAnchored carries on after a failed read, and stops on a fatal one", () =>
    Effect.gen(function* () {
      const { t, ...src } = sources()
      const clock = makeMarketTimeClock({ marketStart: 0, speed: 1, ...src })
      let fatal = false
      const brokerNow = Effect.suspend(() => Effect.fail({ message: fatal ? "refused" : "timeout", fatal }))
      const watcher = yield* keepAnchored(clock, { brokerNow, checkEvery: Duration.seconds(10), reanchorEvery: Duration.seconds(10), isFatal: (e) => e.fatal }).pipe(
        Effect.provide(Logger.remove(Logger.defaultLogger)),
        Effect.fork
      )
      t.mono += 10_000
      yield* TestClock.adjust("10 seconds")
      expect(watcher.unsafePoll()).toBeNull()
      fatal = true
      t.mono += 10_000
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.await(watcher)
      expect(exit._tag).toBe("Failure")
    })
  )
})
