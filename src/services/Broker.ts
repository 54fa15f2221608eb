import { Context, Data, Duration, Effect, FiberRef } from "effect"
import type { Account, Order, OrderRequest, Position, TradeUpdate } from "../domain/Trading.js"

/** The broker could not be reached or answered with an error that may heal (network, timeout, 5xx). */
export class BrokerUnavailable extends Data.TaggedError("BrokerUnavailable")<{
  readonly operation: string
  readonly detail: string
  readonly status?: number | undefined
}> {
  override get message() {
    return `broker ${this.operation} failed${this.status === undefined ? "" : ` (HTTP ${this.status})`}: ${this.detail}`
  }
}

/** The broker asked us to slow down (429). */
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly operation: string
  readonly retryAfter: Duration.Duration
}> {
  override get message() {
    return `broker ${this.operation} rate-limited; retry after ${Duration.format(this.retryAfter)}`
  }
}

/** The broker refused an order for good (buying power, invalid, duplicate id, …): never retried. */
export class OrderRejected extends Data.TaggedError("OrderRejected")<{
  readonly clientOrderId: string
  readonly reason: string
  readonly status?: number | undefined
}> {
  override get message() {
    return `order ${this.clientOrderId} rejected${this.status === undefined ? "" : ` (HTTP ${this.status})`}: ${this.reason}`
  }
}

/**
 * The broker refused our API keys (401, or 403 outside order placement): retrying cannot heal it.
 * `source` says where the keys were read from (never the keys); the wiring that loaded them sets it.
 */
export class KeysRefused extends Data.TaggedError("KeysRefused")<{
  readonly operation: string
  readonly status: number
  readonly source?: string | undefined
}> {
  override get message() {
    return `the broker refused the API keys (HTTP ${this.status} on ${this.operation})${this.source === undefined ? "" : `; keys read from ${this.source}`}`
  }
}

export type BrokerError = BrokerUnavailable | RateLimited | KeysRefused

export interface BrokerService {
  readonly account: Effect.Effect<Account, BrokerError>
  readonly positions: Effect.Effect<ReadonlyArray<Position>, BrokerError>
  readonly openOrders: Effect.Effect<ReadonlyArray<Order>, BrokerError>
  readonly submit: (order: OrderRequest) => Effect.Effect<Order, BrokerError | OrderRejected>
  /** `undefined` when the broker has no order with that client order id. */
  readonly orderByClientId: (clientOrderId: string) => Effect.Effect<Order | undefined, BrokerError>
  readonly cancel: (orderId: string) => Effect.Effect<void, BrokerError>
  /** Takes every trade update received since the last call, oldest first. */
  readonly takeUpdates: Effect.Effect<ReadonlyArray<TradeUpdate>>
  /**
   * Looks up every order this broker tracks that is not final, over REST, and queues the updates
   * the stream missed (a lost message is then found, not just after a reconnect).
   */
  readonly reconcile: Effect.Effect<void>
  /** Tracks an order placed before this process (found by a restart), its fills so far already journaled. */
  readonly adopt: (clientOrderId: string, reported: { readonly qty: number; readonly notional: number }) => Effect.Effect<void>
}

export class Broker extends Context.Tag("rl-paper-trader/Broker")<Broker, BrokerService>() {}

/**
 * How much a call to the broker or the market data matters now: `decision` (the default: orders,
 * what a step or a stop needs), `background` (reconciliation, which can wait) or `probe` (one try,
 * no retries: is a service that was out back?). An adapter with a request budget serves background
 * calls and probes from its spare only, so a decision's orders never queue behind them; a probe is
 * never retried, so an outage costs one request per look, not a retry storm.
 */
export type RequestKind = "decision" | "background" | "probe"
export const RequestPriority: FiberRef.FiberRef<RequestKind> = FiberRef.unsafeMake<RequestKind>("decision")

/** Runs `effect` with its calls as background work (see {@link RequestPriority}). */
export const inBackground = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.locally(effect, RequestPriority, "background")

/** Runs `effect` with its calls as probes: one try each, from the spare budget (see {@link RequestPriority}). */
export const asProbe = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.locally(effect, RequestPriority, "probe")
