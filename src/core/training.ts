import { actionsToOrders, type TradeRules } from "./actions.js"
import type { Bar } from "./bar.js"
import type { IndicatorDefinition } from "./indicators/index.js"
import { buildObservation } from "./layouts.js"
import { type ObservationNormalization, normalizeObservation } from "./normalize.js"
import { applyRiskLimits, type RiskLimits } from "./risk.js"
import type { Fees } from "./fill-model.js"
import { SimBook } from "./sim-book.js"
import type { LayoutName } from "../domain/Model.js"

/** Bars aligned across tickers with their indicator values, precomputed once for fast episodes. */
export interface TrainingTape {
  readonly tickers: ReadonlyArray<string>
  readonly bars: ReadonlyArray<ReadonlyArray<Bar>>
  /** `features[t][ticker]`: indicator values after bar t. */
  readonly features: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
  /** Every indicator of every ticker is warm at bar t. */
  readonly warm: ReadonlyArray<boolean>
}

/** Aligns the tickers' bars (times all tickers share) and runs the indicators over them. */
export const makeTrainingTape = (
  tickers: ReadonlyArray<string>,
  byTicker: ReadonlyMap<string, ReadonlyArray<Bar>>,
  indicators: ReadonlyArray<IndicatorDefinition>
): TrainingTape => {
  const series = tickers.map((t) => byTicker.get(t) ?? [])
  const shared = series.map((s) => new Set(s.map((b) => b.time))).reduce((a, b) => new Set([...a].filter((t) => b.has(t))))
  const aligned = series.map((s) => s.filter((b) => shared.has(b.time)))
  const streams = tickers.map(() => indicators.map((d) => d.create()))
  const warmupBars = Math.max(0, ...indicators.map((d) => d.warmupBars))
  const bars: Array<Array<Bar>> = []
  const features: Array<Array<Array<number>>> = []
  const warm: Array<boolean> = []
  for (let t = 0; t < (aligned[0]?.length ?? 0); t++) {
    bars.push(aligned.map((s) => s[t]))
    const row = aligned.map((s, i) => streams[i].map((stream) => stream.next(s[t])))
    features.push(row)
    warm.push(t + 1 >= warmupBars && row.every((values) => values.every(Number.isFinite)))
  }
  return { tickers, bars, features, warm }
}

export interface EpisodeSettings {
  readonly layout: LayoutName
  readonly rules: TradeRules
  readonly initialCash: number
  readonly fillPrice: "next_open" | "close"
  readonly slippageBps: number
  /** Fees the simulated broker books; default: the rules' costs, as FinRL's environment books them. */
  readonly fees?: Fees | undefined
  readonly normalization?: ObservationNormalization | undefined
  readonly risk?: RiskLimits | undefined
}

/**
 * One episode over bars [from, to) with the same book, observation and action rules as a
 * backtest: returns the equity after every decision. `observe` sees each raw observation.
 */
export const runEpisode = (
  tape: TrainingTape,
  from: number,
  to: number,
  act: (observation: Float64Array) => ArrayLike<number>,
  settings: EpisodeSettings,
  observe?: (observation: Float64Array) => void
): ReadonlyArray<number> => {
  const book = new SimBook({
    initialCash: settings.initialCash,
    fillPrice: settings.fillPrice,
    slippageBps: settings.slippageBps,
    buyCostPct: settings.fees?.buyPct ?? settings.rules.buyCostPct,
    sellCostPct: settings.fees?.sellPct ?? settings.rules.sellCostPct
  })
  const n = tape.tickers.length
  const cooldown = new Array<number>(n).fill(0)
  const equity: Array<number> = [settings.initialCash]
  for (let t = from; t < to; t++) {
    for (let i = 0; i < n; i++) book.onBar(tape.tickers[i], tape.bars[t][i])
    book.takeUpdates()
    if (!tape.warm[t]) continue
    const account = book.account()
    const positions = book.positionList()
    const holdings = tape.tickers.map((ticker) => positions.find((p) => p.ticker === ticker)?.qty ?? 0)
    const prices = tape.bars[t].map((b) => b.close)
    const observation = buildObservation(settings.layout, {
      cash: account.cash,
      closes: prices,
      holdings,
      indicators: tape.features[t],
      turbulence: 0,
      turbulenceThreshold: undefined,
      cooldown
    })
    observe?.(observation)
    const input = settings.normalization === undefined ? observation : normalizeObservation(observation, settings.normalization)
    const plan = actionsToOrders(act(input), { cash: account.cash, prices, holdings, tickers: tape.tickers }, settings.rules)
    const orders = settings.risk === undefined ? plan.orders : applyRiskLimits(plan.orders, { prices, holdings }, settings.risk).orders
    for (let i = 0; i < n; i++) cooldown[i]++
    for (const order of orders) {
      const ticker = tape.tickers[order.index]
      const result = book.submit({ ticker, side: order.side, qty: order.qty, type: "market", timeInForce: "day", clientOrderId: `${t}-${order.index}` }, tape.bars[t][order.index].time)
      if (result.ok) cooldown[order.index] = 0
    }
    equity.push(book.account().equity)
  }
  return equity
}

/** Running mean and variance of observations (VecNormalize's statistics). */
export class ObservationStats {
  private count = 0
  private mean: Float64Array
  private m2: Float64Array
  constructor(size: number) {
    this.mean = new Float64Array(size)
    this.m2 = new Float64Array(size)
  }
  add(x: Float64Array): void {
    this.count++
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - this.mean[i]
      this.mean[i] += d / this.count
      this.m2[i] += d * (x[i] - this.mean[i])
    }
  }
  normalization(clip = 10, epsilon = 1e-8): ObservationNormalization {
    return {
      mean: Array.from(this.mean),
      var: Array.from(this.m2, (m) => (this.count > 0 ? m / this.count : 1)),
      clip_obs: clip,
      epsilon
    }
  }
}
