import { describe, expect, it } from "vitest"
import { modelMismatches } from "../../src/core/compatibility.js"
import type { IndicatorSpec } from "../../src/domain/Config.js"
import type { ModelCard } from "../../src/domain/Model.js"

const card = (over: { tickers?: ReadonlyArray<string>; tech_indicators?: ReadonlyArray<IndicatorSpec>; hmax?: number } = {}): ModelCard => ({
  name: "ppo-dow",
  version: 3,
  tickers: over.tickers ?? ["AAPL", "MSFT", "JPM"],
  tech_indicators: over.tech_indicators ?? ["macd", "rsi_30", { name: "RSI", period: 14 }],
  observation: { layout: "finrl-stock-trading-df", size: 16 },
  action: { size: 3, hmax: over.hmax ?? 100 },
  onnx: { file: "model.onnx", sha256: "0".repeat(64), input: "obs", output: "action" }
})
const deployment = (over: { tickers?: ReadonlyArray<string>; indicators?: ReadonlyArray<IndicatorSpec>; hmax?: number } = {}) => ({
  tickers: over.tickers ?? ["AAPL", "MSFT", "JPM"],
  indicators: over.indicators ?? ["macd", "rsi_30", { name: "RSI", period: 14 }],
  hmax: over.hmax ?? 100
})

describe("modelMismatches", () => {
  it("is empty when tickers, indicators and hmax agree", () => {
    expect(modelMismatches(card(), deployment())).toEqual([])
  })

  it("accepts the tickers in another order (the model's order is used)", () => {
    expect(modelMismatches(card(), deployment({ tickers: ["JPM", "AAPL", "MSFT"] }))).toEqual([])
  })

  it("names tickers the deployment is missing", () => {
    const m = modelMismatches(card(), deployment({ tickers: ["AAPL"] }))
    expect(m).toHaveLength(1)
    expect(m[0]).toContain("missing MSFT, JPM")
    expect(m[0]).toContain("[AAPL, MSFT, JPM]")
    expect(m[0]).not.toContain("not in the model")
  })

  it("names tickers the model does not know", () => {
    const m = modelMismatches(card(), deployment({ tickers: ["AAPL", "MSFT", "JPM", "TSLA", "GS"] }))
    expect(m).toHaveLength(1)
    expect(m[0]).toContain("not in the model: TSLA, GS")
    expect(m[0]).not.toContain("missing")
  })

  it("reports missing and extra tickers in one message", () => {
    const m = modelMismatches(card(), deployment({ tickers: ["AAPL", "MSFT", "TSLA"] }))
    expect(m).toHaveLength(1)
    expect(m[0]).toMatch(/missing JPM.*not in the model: TSLA/)
  })

  it("requires the same indicators in the same order", () => {
    expect(modelMismatches(card(), deployment({ indicators: ["rsi_30", "macd", { name: "RSI", period: 14 }] }))).toHaveLength(1)
    expect(modelMismatches(card(), deployment({ indicators: ["macd", "rsi_30"] }))).toHaveLength(1)
    expect(modelMismatches(card(), deployment({ indicators: ["macd", "rsi_30", { name: "RSI", period: 14 }, "cci_30"] }))).toHaveLength(1)
    const m = modelMismatches(card(), deployment({ indicators: ["macd", "rsi_14", { name: "RSI", period: 14 }] }))
    expect(m).toHaveLength(1)
    expect(m[0]).toContain("rsi_14")
    expect(m[0]).toContain("rsi_30")
  })

  it("compares object specs by content, whatever the key order", () => {
    expect(modelMismatches(card(), deployment({ indicators: ["macd", "rsi_30", { period: 14, name: "RSI" }] }))).toEqual([])
    expect(modelMismatches(card(), deployment({ indicators: ["macd", "rsi_30", { name: "RSI", period: 21 }] }))).toHaveLength(1)
    expect(modelMismatches(card(), deployment({ indicators: ["macd", "rsi_30", { name: "RSI", period: 14, as: "rsi14" }] }))).toHaveLength(1)
    expect(modelMismatches(card(), deployment({ indicators: ["macd", "rsi_30", "RSI"] }))).toHaveLength(1)
  })

  it("reports a different hmax with both values", () => {
    const m = modelMismatches(card(), deployment({ hmax: 50 }))
    expect(m).toHaveLength(1)
    expect(m[0]).toContain("50")
    expect(m[0]).toContain("100")
  })

  it("reports every problem at once", () => {
    const m = modelMismatches(card(), deployment({ tickers: ["AAPL"], indicators: ["macd"], hmax: 10 }))
    expect(m).toHaveLength(3)
  })
})
