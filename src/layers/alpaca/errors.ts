/**
 * Every SDK failure becomes one of our tagged errors, and one retry policy decides which of them
 * may heal: network errors, timeouts, 5xx and 408 (BrokerUnavailable / MarketDataError without a
 * 4xx status) and 429 (RateLimited, after its retryAfter). Order refusals, refused keys
 * (KeysRefused), other 4xx and answers of the wrong shape are final.
 */
import { ApiError, FetchError } from "@alpacahq/alpaca-trade-api"
import { Data, Duration, Effect, FiberRef, Schedule } from "effect"
import { BrokerUnavailable, KeysRefused, OrderRejected, RateLimited, RequestPriority } from "../../services/Broker.js"
import { MarketDataError } from "../../services/MarketData.js"
import type { AlpacaBackoff } from "./client.js"

/** A trading call (account, positions, orders, cancel, calendar, …). */
export interface TradingOperation {
  readonly api: "trading"
  readonly name: string
}

/** Order placement: refusals become OrderRejected. */
export interface SubmitOperation {
  readonly api: "submit"
  readonly clientOrderId: string
}

/** A market data call. */
export interface DataOperation {
  readonly api: "data"
  readonly name: string
  readonly ticker?: string | undefined
}

export type AlpacaOperation = TradingOperation | SubmitOperation | DataOperation

export const tradingOp = (name: string): TradingOperation => ({ api: "trading", name })
export const submitOp = (clientOrderId: string): SubmitOperation => ({ api: "submit", clientOrderId })
export const dataOp = (name: string, ticker?: string): DataOperation => ({ api: "data", name, ticker })

const operationName = (op: AlpacaOperation): string => (op.api === "submit" ? `submit ${op.clientOrderId}` : op.name)

/** Alpaca answered, but not in the shape we rely on (`field` is the wire name): never retried. */
export class MalformedAnswer extends Data.TaggedError("MalformedAnswer")<{
  readonly operation: string
  readonly field: string
  readonly detail: string
}> {
  override get message() {
    return `alpaca ${this.operation}: unexpected answer, field '${this.field}' ${this.detail}`
  }
}

/** What any REST call may fail with before it is narrowed to a port's errors. */
export type AlpacaError = BrokerUnavailable | RateLimited | KeysRefused | OrderRejected | MarketDataError | MalformedAnswer

const describe = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message === "" ? cause.name : `${cause.name}: ${cause.message}`
  return String(cause)
}

/** The status of an SDK ApiError (duck-typed too, in case two copies of the SDK are loaded). */
const apiStatus = (cause: unknown): number | undefined => {
  if (cause instanceof ApiError) return cause.status
  if (typeof cause === "object" && cause !== null && "status" in cause && "response" in cause) {
    const status = (cause as { status: unknown }).status
    return typeof status === "number" ? status : undefined
  }
  return undefined
}

const isFetchError = (cause: unknown): boolean =>
  cause instanceof FetchError || (cause instanceof Error && cause.name === "FetchError")

/** How long a 429 asks us to wait: the SDK's `retryAfterMs` (Retry-After, else X-RateLimit-Reset). */
const retryAfterOf = (cause: unknown): Duration.Duration => {
  const e = cause as { retryAfterMs?: unknown; rateLimit?: { reset?: unknown } }
  if (typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs)) return Duration.millis(Math.max(0, e.retryAfterMs))
  const reset = e.rateLimit?.reset
  if (reset instanceof Date && !Number.isNaN(reset.getTime())) return Duration.millis(Math.max(0, reset.getTime() - Date.now()))
  return Duration.zero
}

const apiDetail = (cause: unknown): string => {
  const e = cause as { message?: unknown; requestId?: unknown }
  const message = typeof e.message === "string" && e.message !== "" ? e.message : "error answer"
  return typeof e.requestId === "string" ? `${message} (request ${e.requestId})` : message
}

/** A 4xx on placement that means "this order, as sent, is refused". */
const REFUSED_ORDER = new Set([400, 403, 404, 422])

/**
 * Maps an SDK failure (ApiError, FetchError, anything else the call threw) to our tagged errors:
 * 429 → RateLimited; refused placement (403 buying power / qty, 422 invalid / duplicate id) →
 * OrderRejected; 401 on any trading call, and 403 on one that is not a placement → KeysRefused
 * (market data keeps its 401/403 as MarketDataError: a 403 there is the plan refusing a feed); other answers and network failures → BrokerUnavailable (trading) or
 * MarketDataError (data) carrying the status; an exception that is neither (a body that did not
 * parse) → MalformedAnswer.
 */
export function classifyAlpacaError(operation: SubmitOperation, cause: unknown): BrokerUnavailable | RateLimited | KeysRefused | OrderRejected | MalformedAnswer
export function classifyAlpacaError(operation: TradingOperation, cause: unknown): BrokerUnavailable | RateLimited | KeysRefused | MalformedAnswer
export function classifyAlpacaError(operation: DataOperation, cause: unknown): MarketDataError | RateLimited | MalformedAnswer
export function classifyAlpacaError(operation: AlpacaOperation, cause: unknown): AlpacaError
export function classifyAlpacaError(operation: AlpacaOperation, cause: unknown): AlpacaError {
  const name = operationName(operation)
  const status = apiStatus(cause)
  if (status === undefined && !isFetchError(cause)) {
    return new MalformedAnswer({ operation: name, field: "(body)", detail: `could not be read: ${describe(cause)}` })
  }
  if (status === 429) return new RateLimited({ operation: name, retryAfter: retryAfterOf(cause) })
  const detail = status === undefined ? `network: ${describe((cause as { cause?: unknown }).cause ?? cause)}` : apiDetail(cause)
  if (operation.api === "submit" && status !== undefined && REFUSED_ORDER.has(status)) {
    return new OrderRejected({ clientOrderId: operation.clientOrderId, reason: detail, status })
  }
  if (operation.api !== "data" && (status === 401 || status === 403)) return new KeysRefused({ operation: name, status })
  if (operation.api === "data") return new MarketDataError({ detail: `${operation.name}: ${detail}`, ticker: operation.ticker, status })
  return new BrokerUnavailable({ operation: name, detail, status })
}

/** Whether retrying may help: network/timeouts, 408, 5xx and 429; never refusals (orders, keys) or bad shapes. */
export const isHealable = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return false
  switch ((error as { _tag: unknown })._tag) {
    case "RateLimited":
      return true
    case "BrokerUnavailable":
    case "MarketDataError": {
      const status = (error as { status?: number | undefined }).status
      return status === undefined || status === 408 || status >= 500
    }
    default:
      return false
  }
}

const retryAfterDelay = (error: unknown): Duration.Duration =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "RateLimited"
    ? (error as RateLimited).retryAfter
    : Duration.zero

/** Exponential from `base`, jittered, no delay above `max`; forever. For reconnecting streams. */
export const backoffSchedule = (backoff: AlpacaBackoff): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential(backoff.base).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, backoff.max))
  )

/**
 * Retries healable errors only, up to `maxRetries` times, on `backoffSchedule`, and never sooner
 * than a RateLimited error's `retryAfter`.
 */
export const retryPolicy = <E>(backoff: AlpacaBackoff, maxRetries: number) =>
  backoffSchedule(backoff).pipe(
    Schedule.intersect(Schedule.identity<E>().pipe(Schedule.addDelay(retryAfterDelay))),
    Schedule.whileInput((error: E) => isHealable(error)),
    Schedule.intersect(Schedule.recurs(maxRetries))
  )

/** `effect` retried per `retryPolicy`, each healable failure logged; a probe (see `RequestPriority`) is tried once. */
export const retryHealable = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly backoff: AlpacaBackoff; readonly maxRetries: number }
): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(RequestPriority), (kind) =>
    kind === "probe"
      ? effect
      : effect.pipe(
          Effect.tapError((error) =>
            isHealable(error) ? Effect.logWarning(`alpaca: ${(error as { message?: string }).message ?? String(error)} (may heal)`) : Effect.void
          ),
          Effect.retry(retryPolicy<E>(options.backoff, options.maxRetries))
        )
  )

/** Narrows to the Broker port's errors: a bad answer is the broker being unavailable (status kept absent). */
export const toBrokerError = <E extends AlpacaError>(error: E): Exclude<E, MalformedAnswer | MarketDataError> | BrokerUnavailable => {
  if (error._tag === "MalformedAnswer") return new BrokerUnavailable({ operation: error.operation, detail: error.message })
  if (error._tag === "MarketDataError") return new BrokerUnavailable({ operation: "market data", detail: error.detail, status: error.status })
  return error as Exclude<E, MalformedAnswer | MarketDataError>
}

/** Narrows to the MarketData port's only error. */
export const toMarketDataError = (error: AlpacaError, ticker?: string): MarketDataError => {
  switch (error._tag) {
    case "MarketDataError":
      return error
    case "RateLimited":
      return new MarketDataError({ detail: error.message, ticker, status: 429 })
    case "MalformedAnswer":
      return new MarketDataError({ detail: error.message, ticker })
    case "BrokerUnavailable":
      return new MarketDataError({ detail: error.message, ticker, status: error.status })
    case "OrderRejected":
    case "KeysRefused":
      return new MarketDataError({ detail: error.message, ticker, status: error.status })
  }
}
