import { Effect } from "effect"
import type { BrokerUnavailable, KeysRefused, OrderRejected, RateLimited } from "../../services/Broker.js"
import type { MarketDataError } from "../../services/MarketData.js"
import type { AlpacaRateLimiterService } from "./client.js"
import {
  classifyAlpacaError,
  type AlpacaOperation,
  type DataOperation,
  type MalformedAnswer,
  type SubmitOperation
} from "./errors.js"

/** The errors one REST call of operation `O` may fail with, before retries. */
export type CallError<O extends AlpacaOperation> = O extends SubmitOperation
  ? BrokerUnavailable | RateLimited | OrderRejected | KeysRefused | MalformedAnswer
  : O extends DataOperation
    ? MarketDataError | RateLimited | MalformedAnswer
    : BrokerUnavailable | RateLimited | KeysRefused | MalformedAnswer

/** Per-call SDK request options: interrupting the fiber aborts the request. */
export interface CallInit {
  readonly signal: AbortSignal
}

/**
 * One SDK REST call through the shared rate limiter, its failure classified. No retry here: the
 * caller decides (see `retryHealable`), so each retry spends its own token.
 */
export const alpacaCall = <O extends AlpacaOperation, A>(
  limiter: AlpacaRateLimiterService,
  operation: O,
  call: (init: CallInit) => Promise<A>
): Effect.Effect<A, CallError<O>> =>
  limiter.limit(
    operation.api === "data" ? "data" : "trading",
    Effect.tryPromise({
      try: (signal) => call({ signal }),
      catch: (cause) => classifyAlpacaError(operation, cause) as CallError<O>
    }).pipe(
      // a 429 pauses every call of that API (on real time), not just this one's retry
      Effect.tapError((e) => (e._tag === "RateLimited" ? limiter.pause(operation.api === "data" ? "data" : "trading", e.retryAfter) : Effect.void))
    )
  )
