/**
 * One virtual clock for a whole rehearsal: the trader's Effect `Clock` and the market it trades
 * (an in-process emulator) both read this time, and it only moves when the system is quiescent,
 * so a rehearsal runs as fast as the machine allows and makes the same decisions every time.
 *
 * - {@link makeVirtualClock}: `sleep(d)` registers a timer (deadline, resume) in a priority queue
 *   and suspends; nothing waits for the virtual duration on a real timer.
 * - {@link makeFiberActivity}: a Supervisor that counts fiber runs, so the driver can tell that no
 *   fiber is runnable.
 * - {@link driveVirtualClock}: waits until nothing happens (no fiber runs, nothing in flight, the
 *   clock's timers unchanged) over several event-loop turns, then jumps to the earliest of the next
 *   timer deadline and the market's next event, moves the market there, wakes the timers due, and
 *   repeats. It knows nothing about Alpaca: the caller says what "busy" and "the market" are.
 */
import { Clock, Data, Duration, Effect, Scheduler, Supervisor } from "effect"

interface Timer {
  readonly deadline: number
  readonly seq: number
  readonly resume: () => void
  live: boolean
}

/** A binary min-heap of timers by (deadline, registration order): equal deadlines wake in order. */
class TimerHeap {
  private readonly items: Array<Timer> = []
  get size(): number {
    return this.items.length
  }
  peek(): Timer | undefined {
    return this.items[0]
  }
  push(t: Timer): void {
    const xs = this.items
    xs.push(t)
    let i = xs.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(xs[i], xs[p])) break
      ;[xs[i], xs[p]] = [xs[p], xs[i]]
      i = p
    }
  }
  pop(): Timer | undefined {
    const xs = this.items
    const top = xs[0]
    const last = xs.pop()
    if (xs.length > 0 && last !== undefined) {
      xs[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < xs.length && before(xs[l], xs[m])) m = l
        if (r < xs.length && before(xs[r], xs[m])) m = r
        if (m === i) break
        ;[xs[i], xs[m]] = [xs[m], xs[i]]
        i = m
      }
    }
    return top
  }
}

const before = (a: Timer, b: Timer): boolean => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq)

export interface VirtualClock {
  /** The Effect Clock to run the trader on (`Effect.withClock`). */
  readonly clock: Clock.Clock
  /** Current virtual time, epoch ms. */
  readonly now: () => number
  /** Timers registered and not yet woken or interrupted. */
  readonly pendingTimers: () => number
  /** The earliest finite deadline of a pending timer. */
  readonly nextDeadline: () => number | undefined
  /** Moves time forward to `t` (never backwards) without waking anything. */
  readonly setTime: (t: number) => void
  /** Wakes every pending timer due at the current time, earliest first; returns how many. */
  readonly wakeDue: () => number
  /**
   * Gives up being driven: wakes every pending timer (time jumps to its deadline) and from now on a
   * sleep moves time forward at once, as a backtest's clock does. For shutting down when the driver
   * is gone, so a program's own clean-up sleeps cannot hang.
   */
  readonly release: () => void
  /** Bumped by every timer registered, interrupted or woken. */
  readonly activity: () => number
}

/** A clock whose time starts at `start` and moves only when told to (see {@link driveVirtualClock}). */
export const makeVirtualClock = (start: number): VirtualClock => {
  let nowMs = start
  let seq = 0
  let live = 0
  let generation = 0
  let released = false
  const heap = new TimerHeap()

  const dropDead = () => {
    while (heap.size > 0 && !heap.peek()!.live) heap.pop()
  }
  const fire = (t: Timer) => {
    t.live = false
    live--
    generation++
    t.resume()
  }
  const wakeDue = (): number => {
    let n = 0
    for (;;) {
      dropDead()
      const top = heap.peek()
      if (top === undefined || top.deadline > nowMs) return n
      heap.pop()
      fire(top)
      n++
    }
  }
  const nanos = () => BigInt(Math.round(nowMs)) * 1_000_000n

  const sleep = (duration: Duration.Duration): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      const millis = Duration.toMillis(duration)
      if (released) {
        if (Number.isFinite(millis)) nowMs += Math.max(0, millis)
        resume(Effect.void)
        return
      }
      const timer: Timer = { deadline: nowMs + Math.max(0, millis), seq: seq++, resume: () => resume(Effect.void), live: true }
      heap.push(timer)
      live++
      generation++
      return Effect.sync(() => {
        if (!timer.live) return
        timer.live = false
        live--
        generation++
      })
    })

  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => nowMs,
    currentTimeMillis: Effect.sync(() => nowMs),
    unsafeCurrentTimeNanos: nanos,
    currentTimeNanos: Effect.sync(nanos),
    sleep
  }

  return {
    clock,
    now: () => nowMs,
    pendingTimers: () => live,
    nextDeadline: () => {
      dropDead()
      const top = heap.peek()
      return top === undefined || !Number.isFinite(top.deadline) ? undefined : top.deadline
    },
    setTime: (t) => {
      if (t > nowMs) nowMs = t
    },
    wakeDue,
    release: () => {
      released = true
      for (;;) {
        dropDead()
        const top = heap.pop()
        if (top === undefined) return
        if (Number.isFinite(top.deadline) && top.deadline > nowMs) nowMs = top.deadline
        fire(top)
      }
    },
    activity: () => generation
  }
}

/**
 * Watches the fibers of the program a driver runs: a Scheduler around Effect's default one that
 * counts the tasks it holds (a fiber to start, resume after an async wait, or continue after a
 * yield), so `runnable() === 0` means exactly that no fiber is runnable — including fibers Effect
 * parked on `setTimeout(0)` after a long run of microtasks — and a Supervisor that counts fiber
 * runs (`onResume` is called every time a fiber starts evaluating), so an unchanged `runs()` over an
 * event-loop turn means no fiber ran in it. `watch` installs both on the driven program; the
 * driver's own fiber must stay outside.
 */
export const makeFiberActivity = (inner: Scheduler.Scheduler = Scheduler.defaultScheduler) => {
  let runs = 0
  let pending = 0
  class FiberRuns extends Supervisor.AbstractSupervisor<number> {
    get value() {
      return Effect.sync(() => runs)
    }
    override onResume() {
      runs++
    }
  }
  const supervisor: Supervisor.Supervisor<number> = new FiberRuns()
  const scheduler: Scheduler.Scheduler = {
    shouldYield: (fiber) => inner.shouldYield(fiber),
    scheduleTask: (task, priority, fiber) => {
      pending++
      inner.scheduleTask(
        () => {
          pending--
          task()
        },
        priority,
        fiber
      )
    }
  }
  return {
    runs: () => runs,
    runnable: () => pending,
    watch: <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      effect.pipe(Effect.supervised(supervisor), Effect.withScheduler(scheduler))
  }
}

/** The driver found the system stuck: nothing waits on the clock, nothing is in flight. */
export class VirtualClockStalled extends Data.TaggedError("VirtualClockStalled")<{ readonly detail: string }> {
  override get message() {
    return `virtual clock stalled: ${this.detail}`
  }
}

export interface VirtualClockDriver {
  readonly clock: VirtualClock
  /** Changes whenever anything happens (fiber runs, requests start or end, frames are sent, …). */
  readonly activity: () => number
  /** Work in flight that the clock must not run past (runnable fibers, REST requests, …). */
  readonly busy: () => boolean
  /** Runnable fibers (see {@link makeFiberActivity}): while some are, the driver re-checks on the next turn. */
  readonly runnable: () => number
  /** The market's next event strictly after `after` (virtual time), if any. */
  readonly nextMarketEvent: (after: number) => number | undefined
  /** Moves the market to `t` (publishes bars, fills orders) and resolves once its messages are sent. */
  readonly advanceMarket: (t: number) => Promise<void>
  /** Processes whatever the market has due at its current time (fills of orders just placed). */
  readonly pollMarket?: () => Promise<void>
  /** Whether the market may move now (e.g. its streams are connected); while not, only timers before its next event fire. */
  readonly marketReady?: () => boolean
  /** Runs before the market moves to `t`; returns true when it changed something that must settle first (a fault). */
  readonly beforeMarketStep?: (t: number) => boolean
  /** The market never moves past this; once the program waits beyond it, `onHorizon` runs (once). */
  readonly horizon?: number
  /** Must not wait for the program (e.g. `Fiber.interruptFork`): the driver keeps its timers running. */
  readonly onHorizon?: Effect.Effect<void>
  /** Real time without a timer nor anything in flight before the driver gives up (default 15 s). */
  readonly stallMs?: number
  /** Real time to hold the market for `marketReady` before moving it anyway (default 10 s). */
  readonly holdMs?: number
  /** `setImmediate` turns a quiescence check waits (default 4). */
  readonly quietTurns?: number
  /** Add a `setTimeout(0)` and as many turns again to each check (default false; for programs whose fibers are not counted). */
  readonly timerTurn?: boolean
  /** Called with each market step and timer wake, for logs and tests. */
  readonly onStep?: (step: { readonly kind: "market" | "timers"; readonly time: number; readonly woken: number }) => void
}

const immediate = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const realDelay = (ms: number) =>
  Effect.async<void>((resume) => {
    const handle = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(handle))
  })

/**
 * Drives `options.clock` until interrupted; fails only with {@link VirtualClockStalled}. Run it in
 * a fiber that is NOT under the activity supervisor (its own runs would count as activity).
 *
 * Quiescence: nothing busy (no runnable fiber, nothing in flight) and `activity()` unchanged across
 * `quietTurns` setImmediate turns. The runnable count is exact (a counting Scheduler), so fibers
 * Effect parked on `setTimeout(0)` are seen; the turns are for what travels outside Effect: a
 * loopback socket's data written before a turn is read in that turn's poll phase (a frame the
 * market sent, an answer), and its handler offers to a queue, which schedules a fiber (runnable) and
 * counts as activity; onnxruntime runs a model on `setImmediate`, which a turn lets through.
 */
export const driveVirtualClock = (options: VirtualClockDriver): Effect.Effect<never, VirtualClockStalled> =>
  Effect.gen(function* () {
    const { clock } = options
    const turns = options.quietTurns ?? 4
    const timerTurn = options.timerTurn ?? false
    const stallMs = options.stallMs ?? 15_000
    const holdMs = options.holdMs ?? 10_000
    const horizon = options.horizon ?? Number.POSITIVE_INFINITY
    let marketTime = clock.now()
    let horizonReached = false
    let idleSince: number | undefined
    let holdingSince: number | undefined

    const quiet = Effect.gen(function* () {
      for (;;) {
        if (options.busy()) {
          yield* options.runnable() > 0 ? immediate : realDelay(1)
          continue
        }
        const before = options.activity()
        for (let i = 0; i < turns; i++) yield* immediate
        if (timerTurn) {
          yield* realDelay(0)
          for (let i = 0; i < turns; i++) yield* immediate
        }
        if (!options.busy() && options.activity() === before) return
      }
    })

    let activityAfterSettle = -1
    /** Quiet, and nothing left for the market to do at its current time. */
    const settle = Effect.gen(function* () {
      for (;;) {
        yield* quiet
        const before = options.activity()
        if (options.pollMarket !== undefined) yield* Effect.promise(options.pollMarket)
        if (options.activity() === before) {
          activityAfterSettle = before
          return
        }
      }
    })

    const wake = (kind: "market" | "timers") => {
      const woken = clock.wakeDue()
      options.onStep?.({ kind, time: clock.now(), woken })
      return woken
    }

    let settled = false
    for (;;) {
      if (!settled) yield* settle
      settled = false
      const timerAt = clock.nextDeadline()
      const next = options.nextMarketEvent(marketTime)
      const marketAt = next !== undefined && next <= horizon ? next : undefined

      if (timerAt === undefined) {
        // Nobody waits on the clock: the program is starting, finishing, or stuck. The market does
        // not move for nobody: its bars would go out before the program listens.
        idleSince ??= Date.now()
        if (Date.now() - idleSince > stallMs) {
          return yield* new VirtualClockStalled({
            detail:
              `for ${stallMs / 1000} s of real time no fiber waited on the clock and nothing was in flight ` +
              `(virtual time ${new Date(clock.now()).toISOString()}${marketAt === undefined ? "" : `, the market's next event ${new Date(marketAt).toISOString()}`})`
          })
        }
        yield* realDelay(2)
        continue
      }
      idleSince = undefined

      if (marketAt !== undefined && marketAt <= timerAt) {
        if (options.beforeMarketStep?.(marketAt) === true) continue
        if (options.marketReady !== undefined && !options.marketReady()) {
          if (timerAt < marketAt) {
            clock.setTime(timerAt)
            wake("timers")
            continue
          }
          holdingSince ??= Date.now()
          if (Date.now() - holdingSince < holdMs) {
            yield* realDelay(2)
            continue
          }
          yield* Effect.logWarning(`virtual clock: the market was not ready for ${holdMs / 1000} s of real time; moving it anyway`)
        }
        holdingSince = undefined
        clock.setTime(marketAt)
        marketTime = marketAt
        yield* Effect.promise(() => options.advanceMarket(marketAt))
        // Let the market's messages be handled before waking the timers due at the same time, so a
        // deadline that coincides with a bar sees the bar.
        yield* settle
        // nothing woken: still settled, go straight to the next step
        settled = wake("market") === 0 && options.activity() === activityAfterSettle
        continue
      }

      if (timerAt > horizon && !horizonReached) {
        // Every market event up to the horizon is done and the program waits beyond it.
        horizonReached = true
        if (options.onHorizon !== undefined) {
          yield* options.onHorizon
          continue
        }
      }
      clock.setTime(timerAt)
      wake("timers")
    }
  })
