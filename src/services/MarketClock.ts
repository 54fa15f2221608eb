import { Context, Data, Effect } from "effect"

/** The calendar could not be read; `transient` when the source is out (network, 5xx, 429) rather than refusing. */
export class MarketClockError extends Data.TaggedError("MarketClockError")<{ readonly detail: string; readonly transient?: boolean | undefined }> {
  override get message() {
    return `market clock: ${this.detail}`
  }
}

/** A trading session, epoch ms; `close` is early on early-close days. */
export interface MarketSession {
  readonly open: number
  readonly close: number
}

export interface MarketClockService {
  /** Market time now, from Effect's `Clock` (so `TestClock` and simulations drive it). */
  readonly now: Effect.Effect<number>
  /** The session containing `time`, or else the next one after it; `undefined` when the calendar has no more. */
  readonly sessionAt: (time: number) => Effect.Effect<MarketSession | undefined, MarketClockError>
}

export class MarketClock extends Context.Tag("rl-paper-trader/MarketClock")<MarketClock, MarketClockService>() {}
