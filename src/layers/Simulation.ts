import { Layer } from "effect"
import type { IndicatorDefinition } from "../core/indicators/index.js"
import type { Fees } from "../core/fill-model.js"
import type { EnvironmentConfig, SimulationConfig } from "../domain/Config.js"
import { IndicatorFeatureEngineLive } from "./IndicatorFeatureEngine.js"
import { ReplayMarketDataLive } from "./ReplayMarketData.js"
import { SimBrokerLive } from "./SimBroker.js"
import { SimMarketClockLive } from "./SimMarketClock.js"
import { barInProgress, type BarTape, SimExchangeLive } from "./SimExchange.js"

/** Replayed bars, the simulated broker over one book, and the indicator engine: everything but the policy and the journal. */
export const SimulationLive = (options: {
  readonly tape: BarTape
  readonly tickers: ReadonlyArray<string>
  readonly indicators: ReadonlyArray<IndicatorDefinition>
  readonly environment: EnvironmentConfig
  readonly simulation: SimulationConfig
  readonly intervalMs: number
  /** What the simulated broker charges per fill (`simulation.fees`). */
  readonly fees: Fees
}) =>
  Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(options.intervalMs)).pipe(
    Layer.provide(
      SimExchangeLive(options.tape, {
        initialCash: options.simulation.initial_cash ?? options.environment.initial_amount,
        // FinRL's `num_stock_shares`: what the account holds at the start
        initialPositions: new Map(Object.entries(options.environment.initial_holdings)),
        fillPrice: options.simulation.fill_price,
        slippageBps: options.simulation.slippage_bps,
        buyCostPct: options.fees.buyPct,
        sellCostPct: options.fees.sellPct,
        barMs: options.intervalMs,
        barInProgress: barInProgress(options.tape, options.intervalMs)
      })
    ),
    Layer.merge(IndicatorFeatureEngineLive(options.tickers, options.indicators))
  )
