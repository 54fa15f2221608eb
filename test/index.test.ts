import { describe, expect, it } from "vitest"
import * as lib from "../src/index.js"

describe("the package's exports, for other Effect apps", () => {
  it("exports the services, the layers and the programs", () => {
    for (const name of ["Broker", "MarketData", "MarketReplay", "FeatureEngine", "Policy", "MarketClock", "Journal"]) expect(typeof (lib as Record<string, unknown>)[name], name).toBe("function")
    for (const name of ["AlpacaBrokerLive", "AlpacaMarketDataLive", "AlpacaMarketClockLive", "OnnxPolicyLive", "JsonlJournalLive", "ReplayMarketDataLive", "SimBrokerLive", "SimExchangeLive", "SimMarketClockLive", "MetricsServerLive"]) {
      expect(typeof (lib as Record<string, unknown>)[name], name).toMatch(/function|object/)
    }
    for (const name of ["trade", "runSession", "backtest", "startSession", "trainAgent"]) expect(typeof (lib as Record<string, unknown>)[name], name).toBe("function")
  })
})
