/**
 * The Broker port on Alpaca: REST through the SDK's trading namespace (shared rate limiter,
 * healable errors retried), and the `trade_updates` websocket kept alive forever. After every
 * (re)connect, once the stream listens again, our orders that are not final are looked up by
 * client order id, and whatever the stream missed (fills, cancels, …) is emitted, exactly once.
 */
import type { streaming } from "@alpacahq/alpaca-trade-api"
import { Chunk, Clock, Effect, FiberHandle, Layer, Option, Queue } from "effect"
import type { ConfigError } from "../config/errors.js"
import type { Order, OrderRequest, TradeUpdate } from "../domain/Trading.js"
import { Broker, BrokerUnavailable, OrderRejected } from "../services/Broker.js"
import { AlpacaRateLimiter, makeAlpacaClient, type AlpacaSettings } from "./alpaca/client.js"
import { array, decimal, decodeAccount, decodeAnswer, decodeOrder, decodePositions, orderEventTime } from "./alpaca/decode.js"
import { isHealable, retryHealable, submitOp, toBrokerError, tradingOp } from "./alpaca/errors.js"
import { alpacaCall } from "./alpaca/rest.js"
import { superviseStream } from "./alpaca/stream.js"
import { OrderTracker, type Execution } from "./alpaca/tracker.js"

const isDuplicateClientOrderId = (e: OrderRejected): boolean => e.status === 422 && /client_order_id/i.test(e.reason) && /unique|duplicate|exist/i.test(e.reason)

const FILL_EVENTS = new Set(["fill", "partial_fill"])

/** Builds the Broker service; the stream supervisor and update processor live in the layer's scope. */
export const makeAlpacaBroker = (settings: AlpacaSettings) =>
  Effect.gen(function* () {
    const limiter = yield* AlpacaRateLimiter
    const client = yield* makeAlpacaClient(settings)
    const trading = client.trading
    const tracker = new OrderTracker()
    const updates = yield* Queue.unbounded<TradeUpdate>()
    // Raw stream events, offered synchronously from SDK callbacks, processed in order by one fiber.
    const inbox = yield* Queue.unbounded<streaming.TradeUpdate>()
    const retry = <A, E, R>(effect: Effect.Effect<A, E, R>) => retryHealable(effect, settings)

    // Observing and enqueueing in one synchronous step keeps updates in the order they were observed.
    const emit = (order: Order, time: number, execution?: Execution) =>
      Effect.sync(() => {
        for (const update of tracker.observe(order, time, execution)) Queue.unsafeOffer(updates, update)
      })

    /** The SDK order with that client order id, `None` on 404. */
    const lookup = (clientOrderId: string) =>
      alpacaCall(limiter, tradingOp("order by client order id"), (init) => trading.orders.getOrderByClientOrderId({ clientOrderId }, init)).pipe(
        Effect.map((raw): Option.Option<unknown> => Option.some(raw)),
        Effect.catchIf(
          (e) => e._tag === "BrokerUnavailable" && e.status === 404,
          () => Effect.succeed(Option.none<unknown>())
        )
      )

    const handleStreamUpdate = (u: streaming.TradeUpdate) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const { order, execution, time } = yield* decodeAnswer("trade update", () => ({
          order: decodeOrder(u.order),
          execution: FILL_EVENTS.has(u.event) ? { qty: decimal(u.qty, "qty"), price: decimal(u.price, "price") } : undefined,
          time: u.timestamp instanceof Date && !Number.isNaN(u.timestamp.getTime()) ? u.timestamp.getTime() : undefined
        }))
        yield* emit(order, time ?? orderEventTime(u.order) ?? now, execution)
      }).pipe(Effect.catchAll((e) => Effect.logWarning(`trade_updates: ignored an update (${u.event}): ${e.message}`)))

    yield* Queue.take(inbox).pipe(Effect.flatMap(handleStreamUpdate), Effect.forever, Effect.forkScoped)

    /** Looks up every pending order of ours; a lookup that keeps failing is retried `maxRetries` times. */
    const reconcileWith = (maxRetries: number, log: (message: string) => Effect.Effect<void>) => Effect.gen(function* () {
      const pending = yield* Effect.sync(() => tracker.pending())
      if (pending.length === 0) return
      yield* log(`trade_updates: reconciling ${pending.length} open order(s) over REST`)
      yield* Effect.forEach(
        pending,
        ({ clientOrderId }) =>
          retryHealable(lookup(clientOrderId), { backoff: settings.backoff, maxRetries }).pipe(
            Effect.flatMap(
              Option.match({
                onNone: () => Effect.void,
                onSome: (raw) =>
                  Effect.gen(function* () {
                    const order = yield* decodeAnswer("order by client order id", () => decodeOrder(raw))
                    yield* emit(order, orderEventTime(raw) ?? (yield* Clock.currentTimeMillis))
                  })
              })
            ),
            Effect.catchAll((e) => Effect.logError(`trade_updates: could not reconcile order ${clientOrderId}: ${e.message}`))
          ),
        { discard: true }
      )
    })

    const reconciliation = yield* FiberHandle.make<void, never>()
    yield* superviseStream({
      name: "trade_updates stream",
      backoff: settings.backoff,
      clock: limiter.clock,
      open: (signals) => {
        const stream = trading.stream({ url: settings.tradingStreamUrl, reconnect: false })
        stream.onTradeUpdate((u) => void Queue.unsafeOffer(inbox, u))
        stream.on("subscription", (streams: unknown) => {
          if (Array.isArray(streams) && streams.includes("trade_updates")) signals.ready()
        })
        stream.subscribeTradeUpdates()
        return stream
      },
      // Every connection, the first included: an order may have been submitted before it listened.
      onReady: () => FiberHandle.run(reconciliation, reconcileWith(Number.MAX_SAFE_INTEGER, Effect.logInfo)).pipe(Effect.asVoid)
    }).pipe(Effect.forkScoped)

    const submit = (request: OrderRequest) => {
      const id = request.clientOrderId
      if (request.type === "limit" && (request.limitPrice === undefined || !Number.isFinite(request.limitPrice))) {
        return Effect.fail(new OrderRejected({ clientOrderId: id, reason: "a limit order needs a finite limit price" }))
      }
      const body = {
        symbol: request.ticker,
        qty: String(request.qty),
        side: request.side,
        type: request.type,
        timeInForce: request.timeInForce,
        limitPrice: request.type === "limit" ? String(request.limitPrice) : undefined,
        clientOrderId: id
      }
      return Effect.suspend(() => {
        // An attempt that failed without an answer may have placed the order: a retry refused as a
        // duplicate client order id then means "placed", and the order is looked up.
        let ambiguous = false
        const post = alpacaCall(limiter, submitOp(id), (init) => trading.orders.postOrder({ postOrderRequest: body }, init)).pipe(
          Effect.catchAll((e) => {
            if (e._tag === "OrderRejected" && ambiguous && isDuplicateClientOrderId(e)) {
              return lookup(id).pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(e), onSome: Effect.succeed })))
            }
            if (e._tag === "BrokerUnavailable" && isHealable(e)) ambiguous = true
            return Effect.fail(e)
          })
        )
        // Tracked before the request, so a fill racing the answer is known to be ours.
        return Effect.sync(() => tracker.track(id)).pipe(
          Effect.zipRight(retry(post)),
          Effect.flatMap((raw) => Effect.map(decodeAnswer(`submit ${id}`, () => decodeOrder(raw)), (order) => ({ raw, order }))),
          Effect.tap(({ raw, order }) => Effect.flatMap(Clock.currentTimeMillis, (now) => emit(order, orderEventTime(raw) ?? now))),
          Effect.map(({ order }) => order),
          Effect.tapError((e) => (e._tag === "OrderRejected" ? Effect.sync(() => tracker.forget(id)) : Effect.void)),
          Effect.mapError(toBrokerError)
        )
      })
    }

    return Broker.of({
      account: retry(alpacaCall(limiter, tradingOp("account"), (init) => trading.account.getAccount(init))).pipe(
        Effect.flatMap((raw) => decodeAnswer("account", () => decodeAccount(raw))),
        Effect.mapError(toBrokerError)
      ),
      positions: retry(alpacaCall(limiter, tradingOp("positions"), (init) => trading.positions.getAllOpenPositions(init))).pipe(
        Effect.flatMap((raw) => decodeAnswer("positions", () => decodePositions(raw))),
        Effect.mapError(toBrokerError)
      ),
      openOrders: retry(
        alpacaCall(limiter, tradingOp("open orders"), (init) => trading.orders.getAllOrders({ status: "open", limit: 500, direction: "asc" }, init))
      ).pipe(
        Effect.flatMap((raw) => decodeAnswer("open orders", () => array(raw, "orders").map((o, i) => decodeOrder(o, `orders[${i}]`)))),
        Effect.mapError(toBrokerError)
      ),
      submit,
      orderByClientId: (clientOrderId) =>
        retry(lookup(clientOrderId)).pipe(
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.succeed(undefined),
              onSome: (raw) => decodeAnswer("order by client order id", () => decodeOrder(raw))
            })
          ),
          Effect.mapError(toBrokerError)
        ),
      cancel: (orderId) =>
        retry(alpacaCall(limiter, tradingOp("cancel"), (init) => trading.orders.deleteOrderByOrderID({ orderId }, init))).pipe(
          // 404/422: the order is gone or already final; its trade update says how it ended.
          Effect.catchIf(
            (e) => e._tag === "BrokerUnavailable" && (e.status === 404 || e.status === 422),
            (e) => Effect.logInfo(`alpaca: cancel ${orderId} not needed: ${e instanceof BrokerUnavailable ? e.detail : ""}`)
          ),
          Effect.mapError(toBrokerError)
        ),
      takeUpdates: Effect.map(Queue.takeAll(updates), Chunk.toReadonlyArray),
      reconcile: reconcileWith(settings.maxRetries, Effect.logDebug),
      adopt: (clientOrderId, reported) => Effect.sync(() => tracker.adopt(clientOrderId, reported.qty, reported.notional))
    })
  })

/** The Broker port on Alpaca; needs the process-wide AlpacaRateLimiter. */
export const AlpacaBrokerLive = (settings: AlpacaSettings): Layer.Layer<Broker, ConfigError, AlpacaRateLimiter> =>
  Layer.scoped(Broker, makeAlpacaBroker(settings))
