import { Clock, Duration, Effect } from "effect"

/** This machine's wall clock moved `wallDeltaMs` while `monotonicDeltaMs` really passed (NTP step, VM resume). */
export interface WallClockJump {
  readonly wallDeltaMs: number
  readonly monotonicDeltaMs: number
}

/** Market time that follows the broker, immune to steps of this machine's wall clock. */
export interface MarketTimeClock extends Clock.Clock {
  /** Re-anchors market time to the broker's time `brokerNow` (ms), just read; market time never goes back. */
  readonly reanchor: (brokerNow: number) => void
  /** The wall-clock jump since the previous check (or since start), if the two clocks disagree by more than the threshold. */
  readonly checkWallClock: () => WallClockJump | undefined
}

export interface MarketTimeClockOptions {
  /** The broker's time at start, ms since the epoch. */
  readonly marketStart: number
  /** Market ms per real ms (an accelerated emulator runs faster than 1). */
  readonly speed: number
  /** Real elapsed ms from a source no wall-clock step moves; default `performance.now`. */
  readonly monotonicNow?: () => number
  /** This machine's wall clock, only watched to report its jumps; default `Date.now`. */
  readonly wallNow?: () => number
  /** Wall and monotonic deltas differing by more than this are a jump; default 2 s. */
  readonly jumpThreshold?: Duration.DurationInput
}

/**
 * Market time for a live session: anchored to the broker's time `marketStart`, advanced by a
 * monotonic clock `speed` times faster (an accelerated emulator), re-anchored by `reanchor`.
 * Sleeping a market duration sleeps duration / speed of real time (Node timers are monotonic).
 */
export const makeMarketTimeClock = (options: MarketTimeClockOptions): MarketTimeClock => {
  const monotonicNow = options.monotonicNow ?? (() => performance.now())
  const wallNow = options.wallNow ?? Date.now
  const threshold = Duration.toMillis(Duration.decode(options.jumpThreshold ?? Duration.seconds(2)))
  let anchorMarket = options.marketStart
  let anchorMonotonic = monotonicNow()
  let latest = options.marketStart
  let lastWall = wallNow()
  let lastMonotonic = anchorMonotonic

  const now = () => {
    latest = Math.max(latest, anchorMarket + (monotonicNow() - anchorMonotonic) * options.speed)
    return latest
  }
  const nanos = () => BigInt(Math.round(now())) * 1_000_000n
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: nanos,
    currentTimeNanos: Effect.sync(nanos),
    sleep: (duration: Duration.Duration) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Math.max(0, Duration.toMillis(duration) / options.speed))
        return Effect.sync(() => clearTimeout(timer))
      }),
    reanchor: (brokerNow) => {
      if (!Number.isFinite(brokerNow)) return
      anchorMarket = brokerNow
      anchorMonotonic = monotonicNow()
    },
    checkWallClock: () => {
      const wall = wallNow()
      const monotonic = monotonicNow()
      const jump = { wallDeltaMs: wall - lastWall, monotonicDeltaMs: monotonic - lastMonotonic }
      lastWall = wall
      lastMonotonic = monotonic
      return Math.abs(jump.wallDeltaMs - jump.monotonicDeltaMs) > threshold ? jump : undefined
    }
  }
}

/**
 * Keeps `clock` on the broker's time until interrupted: every `checkEvery` it checks this machine's
 * wall clock (a jump is logged once, with both deltas, and re-anchors at once: a VM resume also
 * stops the monotonic clock), and every `reanchorEvery` it re-anchors to `brokerNow`. A failed read
 * is logged and tried again later, except those `isFatal` says end the session.
 */
export const keepAnchored = <E extends { readonly message: string }>(
  clock: MarketTimeClock,
  options: {
    readonly brokerNow: Effect.Effect<number, E>
    readonly checkEvery: Duration.DurationInput
    readonly reanchorEvery: Duration.DurationInput
    readonly isFatal?: (error: E) => boolean
  }
): Effect.Effect<never, E> => {
  const checkEvery = Duration.decode(options.checkEvery)
  const checksPerAnchor = Math.max(1, Math.ceil(Duration.toMillis(options.reanchorEvery) / Math.max(1, Duration.toMillis(checkEvery))))
  const reanchor = options.brokerNow.pipe(
    Effect.flatMap((brokerNow) => Effect.sync(() => clock.reanchor(brokerNow))),
    Effect.catchIf(
      (e) => options.isFatal?.(e) !== true,
      (e) => Effect.logWarning("could not read the broker's clock to re-anchor market time; trying again later").pipe(Effect.annotateLogs({ error: e.message }))
    )
  )
  return Effect.gen(function* () {
    for (let checks = 1; ; checks++) {
      yield* Effect.sleep(checkEvery)
      const jump = clock.checkWallClock()
      if (jump !== undefined) {
        yield* Effect.logWarning("this machine's wall clock jumped; market time follows the monotonic clock and the broker's").pipe(
          Effect.annotateLogs({ wall_delta_ms: Math.round(jump.wallDeltaMs), monotonic_delta_ms: Math.round(jump.monotonicDeltaMs) })
        )
      }
      if (jump !== undefined || checks % checksPerAnchor === 0) yield* reanchor
    }
  })
}
