import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { driveVirtualClock, makeFiberActivity, makeVirtualClock, type VirtualClockDriver } from "../../src/layers/VirtualClock.js"

const T0 = Date.parse("2026-02-17T14:30:00Z")
const MINUTE = 60_000

/** Lets pending callbacks and fibers run (real event-loop turns). */
const turns = (n: number) => Effect.promise(() => new Promise<void>((resolve) => {
  let left = n
  const next = () => (--left <= 0 ? resolve() : setImmediate(next))
  setImmediate(next)
}))

/** Many turns of the event loop (the driver looks for quiet over a few): no wall time involved. */
const eventLoopTurns = (n: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
  })

describe("makeVirtualClock", () => {
  it.effect("sleepers wait for wakeDue, and wake by deadline then by registration order", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const woke: Array<string> = []
      const sleeper = (name: string, ms: number) =>
        Effect.sleep(Duration.millis(ms)).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.tap((t) => Effect.sync(() => woke.push(`${name}@${(t - T0) / 1000}`))),
          Effect.withClock(vc.clock)
        )
      const fibers = yield* Effect.forEach([sleeper("b", 2000), sleeper("a", 1000), sleeper("c", 2000)], (e) => Effect.fork(e))
      yield* turns(3)
      expect(vc.pendingTimers()).toBe(3)
      expect(vc.nextDeadline()).toBe(T0 + 1000)
      expect(woke).toEqual([])
      vc.setTime(T0 + 1500)
      expect(vc.wakeDue()).toBe(1)
      yield* turns(3)
      expect(woke).toEqual(["a@1.5"])
      vc.setTime(T0 + 2000)
      expect(vc.wakeDue()).toBe(2)
      yield* Effect.forEach(fibers, Fiber.join)
      expect(woke).toEqual(["a@1.5", "b@2", "c@2"])
      expect(vc.pendingTimers()).toBe(0)
    }))

  it.effect("an interrupted sleep leaves the queue; release wakes the rest and makes later sleeps instant", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const short = yield* Effect.fork(Effect.withClock(Effect.sleep("1 minute"), vc.clock))
      const long = yield* Effect.fork(Effect.withClock(Effect.sleep("1 hour"), vc.clock))
      yield* turns(3)
      yield* Fiber.interrupt(short)
      expect(vc.pendingTimers()).toBe(1)
      expect(vc.nextDeadline()).toBe(T0 + 60 * MINUTE)
      vc.release()
      yield* Fiber.join(long)
      expect(vc.now()).toBe(T0 + 60 * MINUTE)
      yield* Effect.withClock(Effect.sleep("5 minutes"), vc.clock)
      expect(vc.now()).toBe(T0 + 65 * MINUTE)
    }))
})

/** A driver over a market whose events are every minute, recording where it moved the market. */
const driverFor = (vc: ReturnType<typeof makeVirtualClock>, fibers: ReturnType<typeof makeFiberActivity>, extra: Partial<VirtualClockDriver> = {}) => {
  const moves: Array<number> = []
  const driver: VirtualClockDriver = {
    clock: vc,
    activity: () => fibers.runs() + vc.activity(),
    busy: () => fibers.runnable() > 0,
    runnable: fibers.runnable,
    nextMarketEvent: (after) => Math.floor(after / MINUTE) * MINUTE + MINUTE,
    advanceMarket: async (t) => void moves.push(t),
    stallMs: 300,
    ...extra
  }
  return { driver, moves }
}

describe("driveVirtualClock", () => {
  it.effect("runs 100 five-minute steps in far less real time, each at exactly its deadline, the market moved minute by minute", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      const { driver, moves } = driverFor(vc, fibers)
      const program = Effect.gen(function* () {
        const seen: Array<number> = []
        for (let i = 0; i < 100; i++) {
          yield* Effect.sleep("5 minutes")
          seen.push(yield* Clock.currentTimeMillis)
        }
        return seen
      }).pipe(Effect.withClock(vc.clock), fibers.watch)
      const realStart = Date.now()
      const driving = yield* Effect.fork(driveVirtualClock(driver))
      const seen = yield* program
      yield* Fiber.interrupt(driving)
      expect(Date.now() - realStart).toBeLessThan(20_000)
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => T0 + (i + 1) * 5 * MINUTE))
      expect(moves.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6].map((m) => T0 + m * MINUTE))
      expect(moves[moves.length - 1]).toBe(T0 + 500 * MINUTE)
    }))

  it.effect("does not move time while something is in flight", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      let inFlight = true
      const { driver } = driverFor(vc, fibers, { busy: () => inFlight || fibers.runnable() > 0 })
      const sleeper = yield* Effect.fork(Effect.sleep("1 minute").pipe(Effect.withClock(vc.clock), fibers.watch))
      const driving = yield* Effect.fork(driveVirtualClock(driver))
      yield* eventLoopTurns(100)
      expect(vc.now()).toBe(T0)
      inFlight = false
      yield* Fiber.join(sleeper)
      yield* Fiber.interrupt(driving)
      expect(vc.now()).toBe(T0 + MINUTE)
    }))

  it.effect("a timer that coincides with a market event fires after the market moved", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      let published = 0
      const { driver } = driverFor(vc, fibers, { advanceMarket: async (t) => void (published = t) })
      const program = Effect.sleep("2 minutes").pipe(Effect.zipRight(Effect.sync(() => published)), Effect.withClock(vc.clock), fibers.watch)
      const driving = yield* Effect.fork(driveVirtualClock(driver))
      expect(yield* program).toBe(T0 + 2 * MINUTE)
      yield* Fiber.interrupt(driving)
    }))

  it.effect("stops the program at the horizon and keeps its clean-up sleeps running", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      const cleanedUpAt: Array<number> = []
      const program = Effect.forever(Effect.sleep("5 minutes")).pipe(
        Effect.onInterrupt(() => Effect.sleep("30 seconds").pipe(Effect.zipRight(Clock.currentTimeMillis), Effect.tap((t) => Effect.sync(() => cleanedUpAt.push(t))))),
        Effect.withClock(vc.clock),
        fibers.watch
      )
      const fiber = yield* Effect.fork(program)
      const { driver, moves } = driverFor(vc, fibers, { horizon: T0 + 12 * MINUTE, onHorizon: Fiber.interruptFork(fiber) })
      const driving = yield* Effect.fork(driveVirtualClock(driver))
      const exit = yield* Fiber.await(fiber)
      yield* Fiber.interrupt(driving)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(moves[moves.length - 1]).toBe(T0 + 12 * MINUTE)
      expect(cleanedUpAt).toEqual([T0 + 12 * MINUTE + 30_000])
    }))

  it.effect("fails with VirtualClockStalled when nothing waits on the clock for too long", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      const { driver } = driverFor(vc, fibers, { stallMs: 100 })
      const error = yield* Effect.flip(driveVirtualClock(driver))
      expect(error._tag).toBe("VirtualClockStalled")
      expect(error.message).toMatch(/no fiber waited on the clock/)
    }))

  it.effect("holds the market while it is not ready, firing only earlier timers", () =>
    Effect.gen(function* () {
      const vc = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      let ready = false
      const { driver, moves } = driverFor(vc, fibers, { marketReady: () => ready, holdMs: 60_000 })
      const early = yield* Effect.fork(Effect.sleep("10 seconds").pipe(Effect.withClock(vc.clock), fibers.watch))
      const late = yield* Effect.fork(Effect.sleep("5 minutes").pipe(Effect.withClock(vc.clock), fibers.watch))
      const driving = yield* Effect.fork(driveVirtualClock(driver))
      yield* Fiber.join(early)
      yield* eventLoopTurns(100)
      expect(moves).toEqual([])
      expect(vc.now()).toBe(T0 + 10_000)
      ready = true
      yield* Fiber.join(late)
      yield* Fiber.interrupt(driving)
      expect(moves).toEqual([1, 2, 3, 4, 5].map((m) => T0 + m * MINUTE))
    }))
})
