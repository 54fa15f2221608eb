import { Layer } from "effect"
import type { IndicatorDefinition } from "../core/indicators/index.js"
import type { SimulationConfig } from "../domain/Config.js"
import type { EnvironmentConfig } from "../domain/Config.js"
import { IndicatorFeatureEngineLive } from "./IndicatorFeatureEngine.js"
import { ReplayMarketDataLive } from "./ReplayMarketData.js"
import { SimBrokerLive } from "./SimBroker.js"
import { SimMarketClockLive } from "./SimMarketClock.js"
import { type BarTape, SimExchangeLive } from "./SimExchange.js"

/** Replayed bars, the simulated broker over one book, and the indicator engine: everything but the policy and the journal. */
export const SimulationLive = (options: {
  readonly tape: BarTape
  readonly tickers: ReadonlyArray<string>
  readonly indicators: ReadonlyArray<IndicatorDefinition>
  readonly environment: EnvironmentConfig
  readonly simulation: SimulationConfig
  readonly intervalMs: number
}) =>
  Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(options.intervalMs)).pipe(
    Layer.provide(
      SimExchangeLive(options.tape, {
        initialCash: options.simulation.initial_cash ?? options.environment.initial_amount,
        fillPrice: options.simulation.fill_price,
        slippageBps: options.simulation.slippage_bps,
        buyCostPct: options.environment.buy_cost_pct,
        sellCostPct: options.environment.sell_cost_pct
      })
    ),
    Layer.merge(IndicatorFeatureEngineLive(options.tickers, options.indicators))
  )
