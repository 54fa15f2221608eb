import { Clock, Effect, Layer } from "effect"
import { Broker, OrderRejected } from "../services/Broker.js"
import { SimExchange } from "./SimExchange.js"

/** The broker port over the simulated book; market time comes from Effect's Clock. */
export const SimBrokerLive = Layer.effect(
  Broker,
  Effect.gen(function* () {
    const { book } = yield* SimExchange
    return Broker.of({
      account: Effect.sync(() => book.account()),
      positions: Effect.sync(() => book.positionList()),
      openOrders: Effect.sync(() => book.openOrders()),
      submit: (request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const result = book.submit(request, now)
          return result.ok
            ? Effect.succeed(result.order)
            : Effect.fail(new OrderRejected({ clientOrderId: request.clientOrderId, reason: result.reason, status: 422 }))
        }),
      orderByClientId: (id) => Effect.sync(() => book.orderByClientId(id)),
      cancel: (id) => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void book.cancel(id, now))),
      takeUpdates: Effect.sync(() => book.takeUpdates()),
      // the simulated book loses no update
      reconcile: Effect.void,
      adopt: () => Effect.void
    })
  })
)
