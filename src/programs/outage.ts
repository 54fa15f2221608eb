import { Clock, Duration, Effect, Metric, Schedule } from "effect"
import { formatUtc } from "../core/nytime.js"
import { Journal, type JournalError } from "../services/Journal.js"
import { TradingMetrics } from "./metrics.js"

/** What can be out: the broker (trading API and its stream) or the market data. */
export type Service = "broker" | "market_data"

/** An outage under way: since when, and what failed first. */
export interface OutageState {
  readonly since: number
  readonly cause: string
}

/**
 * Whether a failure is the service being out — a network error, a timeout, 5xx, 408 or 429 — and
 * so weather to wait out, not an error a person must fix (refused keys, a 4xx, a bad answer's shape).
 */
export const isOutage = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return false
  const tag = (error as { _tag: unknown })._tag
  if (tag === "RateLimited") return true
  if (tag === "MarketClockError" || tag === "NewsError") return (error as { transient?: boolean | undefined }).transient === true
  if (tag !== "BrokerUnavailable" && tag !== "MarketDataError") return false
  const status = (error as { status?: number | undefined }).status
  return status === undefined || status === 408 || status === 429 || status >= 500
}

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" ? error.message : String(error)

/** Waits between tries while a service is out: from `base`, doubled, at most `max` apart, forever. */
export interface OutageBackoff {
  readonly base: Duration.Duration
  readonly max: Duration.Duration
}

export const DEFAULT_OUTAGE_BACKOFF: OutageBackoff = { base: Duration.seconds(1), max: Duration.seconds(60) }

/**
 * The session's view of its services' health. An outage is journaled once when it starts (`outage`,
 * with its cause) and once when it ends (`outage_end`), however many calls failed in between.
 */
export const makeOutages = (backoff: OutageBackoff = DEFAULT_OUTAGE_BACKOFF) =>
  Effect.gen(function* () {
    const journal = yield* Journal
    const current = new Map<Service, OutageState>()

    /** `service` failed with an outage: journaled and logged if it is the first failure of one. */
    const down = (service: Service, error: unknown) =>
      Effect.gen(function* () {
        if (current.has(service)) return
        const now = yield* Clock.currentTimeMillis
        const cause = messageOf(error)
        current.set(service, { since: now, cause })
        yield* Metric.increment(TradingMetrics.outages)
        if (service === "broker") yield* Metric.set(TradingMetrics.brokerDown, 1)
        yield* journal.append({ type: "outage", time: formatUtc(now), service, cause })
        yield* Effect.logError(`${service === "broker" ? "the broker" : "the market data"} is not answering: holding until it does (journaled once, not per retry)`).pipe(
          Effect.annotateLogs({ cause })
        )
      })

    /** `service` answered: ends its outage, if one is under way. */
    const up = (service: Service) =>
      Effect.gen(function* () {
        const outage = current.get(service)
        if (outage === undefined) return
        current.delete(service)
        if (service === "broker") yield* Metric.set(TradingMetrics.brokerDown, 0)
        const now = yield* Clock.currentTimeMillis
        const seconds = Math.round((now - outage.since) / 100) / 10
        yield* journal.append({ type: "outage_end", time: formatUtc(now), service, since: formatUtc(outage.since), seconds })
        yield* Effect.logInfo(`${service === "broker" ? "the broker" : "the market data"} answers again`).pipe(Effect.annotateLogs({ outage_seconds: seconds }))
      })

    /**
     * Runs `effect` until `service` answers it: an outage is waited out (retried with backoff, for
     * as long as it lasts); any other failure — refused keys, a refusal — fails as it is.
     */
    const untilAnswered = <A, E, R>(service: Service, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | JournalError, R> =>
      effect.pipe(
        Effect.tapError((e) => (isOutage(e) ? down(service, e) : Effect.void)),
        Effect.retry({
          schedule: Schedule.exponential(backoff.base).pipe(Schedule.jittered, Schedule.modifyDelay((d) => Duration.min(d, backoff.max))),
          while: isOutage
        }),
        Effect.tap(() => up(service))
      )

    return {
      down,
      up,
      untilAnswered,
      /** The outage of `service` under way, if any. */
      current: (service: Service): OutageState | undefined => current.get(service)
    }
  })

export type Outages = Effect.Effect.Success<ReturnType<typeof makeOutages>>
