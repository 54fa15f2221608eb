import { Clock, Duration, Effect } from "effect"

/**
 * Market time for a session against a broker whose clock differs from this machine's: anchored
 * to the broker's time `marketStart` at real time `realStart`, running `speed` times faster (an
 * accelerated emulator); sleeping a market duration sleeps duration / speed for real.
 */
export const makeMarketTimeClock = (options: { readonly marketStart: number; readonly speed: number; readonly realNow?: () => number }): Clock.Clock => {
  const realNow = options.realNow ?? Date.now
  const realStart = realNow()
  const now = () => options.marketStart + (realNow() - realStart) * options.speed
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(now())) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(now())) * 1_000_000n),
    sleep: (duration: Duration.Duration) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Math.max(0, Duration.toMillis(duration) / options.speed))
        return Effect.sync(() => clearTimeout(timer))
      })
  }
}
