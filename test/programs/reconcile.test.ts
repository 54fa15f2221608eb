import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Metric } from "effect"
import { ofType } from "../../src/domain/Journal.js"
import { IndicatorFeatureEngineLive } from "../../src/layers/IndicatorFeatureEngine.js"
import { makeMemoryJournal } from "../../src/layers/JsonlJournal.js"
import { ReplayMarketDataLive } from "../../src/layers/ReplayMarketData.js"
import { SimBrokerLive } from "../../src/layers/SimBroker.js"
import { withSimClock } from "../../src/layers/SimClock.js"
import { makeBarTape, SimExchange, SimExchangeLive } from "../../src/layers/SimExchange.js"
import { startSession } from "../../src/programs/decide.js"
import { TradingMetrics } from "../../src/programs/metrics.js"
import { Broker } from "../../src/services/Broker.js"
import { Policy } from "../../src/services/Policy.js"
import { definitionsOf, randomBars, testCard } from "../support/fixtures.js"

const tickers = ["AAA", "BBB"]
const indicatorNames = ["close_5_sma"]
const rules = { hmax: 10, buyCostPct: 0, sellCostPct: 0 }
const settings = { deploymentId: "r", interval: "5m" as const, rules, risk: {} }

/** A SimBroker whose positions answer waits while `gate.closed` (a slow broker), and a policy that always buys. */
const world = (bars: ReturnType<typeof randomBars>, gate: { closed: boolean; open: Deferred.Deferred<void> }) => {
  const journal = makeMemoryJournal()
  const exchange = SimExchangeLive(makeBarTape(bars), { initialCash: 10_000, fillPrice: "next_open", slippageBps: 0, buyCostPct: 0, sellCostPct: 0 })
  const slowBroker = Layer.effect(
    Broker,
    Effect.map(Broker, (b) => Broker.of({ ...b, positions: Effect.suspend(() => (gate.closed ? Deferred.await(gate.open) : Effect.void)).pipe(Effect.zipRight(b.positions)) }))
  ).pipe(Layer.provide(SimBrokerLive))
  const policy = Layer.succeed(Policy, Policy.of({ card: testCard(tickers, indicatorNames, rules.hmax), modelDir: "test", act: () => Effect.succeed(Float32Array.of(0.5, 0.5)) }))
  const layer = Layer.mergeAll(ReplayMarketDataLive, slowBroker).pipe(
    Layer.provideMerge(exchange),
    Layer.merge(IndicatorFeatureEngineLive(tickers, definitionsOf(indicatorNames))),
    Layer.merge(policy),
    Layer.merge(journal.layer)
  )
  return { journal, layer }
}

describe("reconciling the ledger with the broker", () => {
  it.effect("stands back when a step books new order intents while it asks the broker, and adopts nothing wrong later", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 30, 3)
      const gate = { closed: false, open: yield* Deferred.make<void>() }
      const { journal, layer } = world(bars, gate)
      const at = (i: number) => new Map(tickers.map((t) => [t, bars.get(t)![i]] as const))
      const start = bars.get("AAA")![20].time
      yield* Effect.gen(function* () {
        const session = yield* startSession(settings)
        const { book } = yield* SimExchange
        const stepOn = (i: number) => {
          const time = bars.get("AAA")![i].time
          for (const t of tickers) book.onBar(t, bars.get(t)![i])
          return session.step({ barTime: time, barEnd: time + 300_000, close: Infinity, bars: at(i), holds: [] })
        }
        // the broker is slow to answer while the step decides and books its intents
        gate.closed = true
        const asking = yield* Effect.fork(session.reconcile)
        yield* Effect.yieldNow()
        const requests = yield* stepOn(20)
        expect(requests.length).toBe(2)
        gate.closed = false
        yield* Deferred.succeed(gate.open, undefined)
        expect(yield* Fiber.join(asking)).toBeUndefined()
        expect(session.hasOpenOrders()).toBe(true)
        // once the orders are at the broker, a reconciliation finds the two sides equal
        for (const r of requests) expect(yield* session.submit(r)).toBe(true)
        expect(yield* session.reconcile).toEqual([])
        expect(session.hasOpenOrders()).toBe(true)
        // a position the broker has and the ledger never heard of is adopted, and journaled with both sides
        book.onBar("AAA", bars.get("AAA")![21])
        book.onBar("BBB", bars.get("BBB")![21])
        yield* session.applyUpdates
        expect(session.hasOpenOrders()).toBe(false)
        book.submit({ ticker: "AAA", side: "buy", qty: 3, type: "market", timeInForce: "day", clientOrderId: "someone-else" }, bars.get("AAA")![22].time)
        book.onBar("AAA", bars.get("AAA")![22])
        book.takeUpdates()
        const counted = (yield* Metric.value(TradingMetrics.reconciliations)).count
        const differences = yield* session.reconcile
        expect(differences?.map((d) => d.what)).toEqual(["cash", "position"])
        expect((yield* Metric.value(TradingMetrics.reconciliations)).count - counted).toBe(2)
      }).pipe(Effect.scoped, Effect.provide(layer), withSimClock(start))
      const reconciled = ofType(journal.records, "reconcile")
      expect(reconciled).toHaveLength(1)
      expect(reconciled[0].differences[1]).toMatchObject({ what: "position", ticker: "AAA" })
      expect(reconciled[0].differences[1].broker! - reconciled[0].differences[1].ledger!).toBe(3)
    }))
})
