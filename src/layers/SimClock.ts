import { Clock, Duration, Effect } from "effect"

/**
 * A clock for sequential simulations: `sleep` moves market time forward at once instead of
 * waiting, so a backtest replays a year of bars in seconds with the same code that sleeps for
 * real when trading. Only for one timeline: concurrent sleepers are not ordered (use TestClock).
 */
export const makeSimClock = (start: number): Clock.Clock => {
  let nowMs = start
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => nowMs,
    currentTimeMillis: Effect.sync(() => nowMs),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(nowMs)) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(nowMs)) * 1_000_000n),
    sleep: (duration: Duration.Duration) =>
      Effect.sync(() => {
        nowMs += Duration.toMillis(duration)
      })
  }
}

/** Runs `effect` with market time starting at `start` and sleeping by fast-forward. */
export const withSimClock = (start: number) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withClock(effect, makeSimClock(start))
