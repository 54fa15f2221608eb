import { Effect, Fiber, Layer, TestClock } from "effect"
import type { TradeRules } from "../../src/core/actions.js"
import type { IndicatorDefinition } from "../../src/core/indicators/index.js"
import { IndicatorFeatureEngineLive } from "../../src/layers/IndicatorFeatureEngine.js"
import { makeMemoryJournal } from "../../src/layers/JsonlJournal.js"
import { ReplayMarketDataLive } from "../../src/layers/ReplayMarketData.js"
import { SimBrokerLive } from "../../src/layers/SimBroker.js"
import { makeBarTape, type SimExchange, SimExchangeLive } from "../../src/layers/SimExchange.js"
import { SimMarketClockLive } from "../../src/layers/SimMarketClock.js"
import type { Broker } from "../../src/services/Broker.js"
import type { Journal } from "../../src/services/Journal.js"
import type { MarketData } from "../../src/services/MarketData.js"
import type { Policy } from "../../src/services/Policy.js"
import type { randomBars } from "./fixtures.js"

/**
 * The live trade program's world in simulation: replayed bars as market data (optionally wrapped:
 * a feed that loses bars, lags…), the simulated broker (optionally wrapped), 5-minute market hours,
 * the indicators, a policy and a memory journal.
 */
export const simWorld = (options: {
  readonly bars: ReturnType<typeof randomBars>
  readonly tickers: ReadonlyArray<string>
  readonly definitions: ReadonlyArray<IndicatorDefinition>
  readonly rules: TradeRules
  readonly policy: Layer.Layer<Policy>
  readonly marketData?: ((live: Layer.Layer<MarketData>) => Layer.Layer<MarketData>) | undefined
  readonly broker?: ((sim: Layer.Layer<Broker, never, SimExchange>) => Layer.Layer<Broker, never, SimExchange>) | undefined
  /** Wraps the memory journal (a disk that fills up…); `journal.records` still holds what it took. */
  readonly journal?: ((memory: Layer.Layer<Journal>) => Layer.Layer<Journal>) | undefined
}) => {
  const journal = makeMemoryJournal()
  const { rules } = options
  const exchange = SimExchangeLive(makeBarTape(options.bars), { initialCash: 20_000, fillPrice: "next_open", slippageBps: 0, buyCostPct: rules.buyCostPct, sellCostPct: rules.sellCostPct })
  const replay = ReplayMarketDataLive.pipe(Layer.provide(exchange))
  const md = options.marketData === undefined ? replay : options.marketData(replay)
  const layer = Layer.mergeAll(replay, md, options.broker === undefined ? SimBrokerLive : options.broker(SimBrokerLive), SimMarketClockLive(300_000)).pipe(
    Layer.provideMerge(exchange),
    Layer.merge(IndicatorFeatureEngineLive(options.tickers, options.definitions)),
    Layer.merge(options.policy),
    Layer.merge(options.journal === undefined ? journal.layer : options.journal(journal.layer))
  )
  return { journal, layer }
}

/** Runs `effect` forked while TestClock moves in one-minute steps until it is done. */
export const driveOnTestClock = <A, E, R>(effect: Effect.Effect<A, E, R>, start: number, maxMinutes = 2_000) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(start)
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxMinutes && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })
