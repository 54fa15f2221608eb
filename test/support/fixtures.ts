import { Duration } from "effect"
import type { Bar } from "../../src/core/bar.js"
import type { TradeRules } from "../../src/core/actions.js"
import type { TradeSettings } from "../../src/programs/trade.js"
import { resolveIndicator } from "../../src/core/indicators/index.js"
import { Rng } from "../../src/core/rng.js"
import type { ModelCard } from "../../src/domain/Model.js"

/** A seeded random-walk market of 5-minute bars, all tickers at the same times. */
export const randomBars = (tickers: ReadonlyArray<string>, count: number, seed = 1, start = Date.parse("2026-03-02T14:30:00Z")) => {
  const rng = new Rng(seed)
  const out = new Map<string, Array<Bar>>()
  tickers.forEach((ticker, i) => {
    let price = 50 + 25 * i
    const bars: Array<Bar> = []
    for (let k = 0; k < count; k++) {
      const open = price
      const close = Math.round(open * Math.exp(rng.normal() * 0.004) * 100) / 100
      bars.push({ time: start + k * 300_000, open, high: Math.max(open, close) + 0.05, low: Math.min(open, close) - 0.05, close, volume: 1000 + k })
      price = close
    }
    out.set(ticker, bars)
  })
  return out
}

export const testCard = (tickers: ReadonlyArray<string>, indicators: ReadonlyArray<string>, hmax = 10): ModelCard => ({
  name: "test",
  version: "1",
  tickers,
  tech_indicators: indicators,
  observation: { layout: "finrl-stock-trading-df", size: 1 + 2 * tickers.length + tickers.length * indicators.length },
  action: { size: tickers.length, hmax },
  onnx: { file: "model.onnx", sha256: "0".repeat(64), input: "obs", output: "action" }
})

/** Indicator definitions for names the tests know to be valid. */
export const definitionsOf = (names: ReadonlyArray<string>) =>
  names.map((n) => {
    const r = resolveIndicator(n)
    if (!r.ok) throw new Error(r.error)
    return r.value
  })

/** Trade settings for replayed 5-minute bars: 5 s grace, backoff 1–30 s, no closing rules. */
export const tradeSettings = (deploymentId: string, rules: TradeRules): TradeSettings => ({
  deploymentId,
  interval: "5m",
  rules,
  risk: {},
  grace: Duration.seconds(5),
  stopOpeningBeforeClose: Duration.minutes(0),
  flattenAtClose: false,
  backoff: { base: Duration.seconds(1), max: Duration.seconds(30) },
  settleTimeout: Duration.minutes(10)
})
