import { Layer } from "effect"
import type { IndicatorDefinition } from "../core/indicators/index.js"
import type { SimulationConfig } from "../domain/Config.js"
import type { EnvironmentConfig } from "../domain/Config.js"
import { IndicatorFeatureEngineLive } from "./IndicatorFeatureEngine.js"
import { ReplayMarketDataLive } from "./ReplayMarketData.js"
import { SimBrokerLive } from "./SimBroker.js"
import { type BarTape, SimExchangeLive } from "./SimExchange.js"

/** Replayed bars, the simulated broker over one book, and the indicator engine: everything but the policy and the journal. */
export const SimulationLive = (options: {
  readonly tape: BarTape
  readonly tickers: ReadonlyArray<string>
  readonly indicators: ReadonlyArray<IndicatorDefinition>
  readonly environment: EnvironmentConfig
  readonly simulation: SimulationConfig
}) =>
  Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive).pipe(
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

/** Keeps the bars that start before `end` (epoch ms). */
export const tapeUntil = (tape: BarTape, end: number): BarTape => {
  const byTicker = new Map([...tape.byTicker].map(([t, bars]) => [t, bars.filter((b) => b.time < end)]))
  return { byTicker, times: tape.times.filter((t) => t < end) }
}
