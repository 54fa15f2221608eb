import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Metric } from "effect"
import { IndicatorFeatureEngineLive } from "../../src/layers/IndicatorFeatureEngine.js"
import { makeMemoryJournal } from "../../src/layers/JsonlJournal.js"
import { ReplayMarketDataLive } from "../../src/layers/ReplayMarketData.js"
import { SimBrokerLive } from "../../src/layers/SimBroker.js"
import { SimMarketClockLive } from "../../src/layers/SimMarketClock.js"
import { withSimClock } from "../../src/layers/SimClock.js"
import { makeBarTape, SimExchangeLive } from "../../src/layers/SimExchange.js"
import { decodeJournalRecord, ofType } from "../../src/domain/Journal.js"
import { TradingMetrics } from "../../src/programs/metrics.js"
import type { SessionGuardLimits } from "../../src/programs/decide.js"
import { runSession } from "../../src/programs/session.js"
import { Policy } from "../../src/services/Policy.js"
import { definitionsOf, randomBars, testCard } from "../support/fixtures.js"

const tickers = ["AAA", "BBB"]
const indicatorNames = ["close_5_sma", "rsi_6"]
const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001 }

const BUY = [0.6, 0.6]
const SELL = [-0.6, -0.6]
/**
 * The policy's outputs, call by call: a good buy, a run of two bad outputs (NaN, then +Inf, which
 * FinRL's clip would make a full-size buy), a good sell, a run of five bad ones (the circuit's
 * default), then good outputs alternating buy and sell.
 */
const SCRIPT: ReadonlyArray<ReadonlyArray<number>> = [
  BUY,
  [NaN, 0.5],
  [Infinity, 0],
  SELL,
  [0, -Infinity],
  [NaN, NaN],
  [Infinity, Infinity],
  [NaN, 0],
  [Infinity, -Infinity],
  BUY
]
const BAD_CALLS = [1, 2, 4, 5, 6, 7, 8]

const scriptedPolicy = () => {
  let calls = 0
  return Layer.succeed(
    Policy,
    Policy.of({
      card: testCard(tickers, indicatorNames, rules.hmax),
      modelDir: "test",
      act: () =>
        Effect.sync(() => {
          const output = SCRIPT[calls] ?? (calls % 2 === 0 ? BUY : SELL)
          calls++
          return Float32Array.from(output)
        })
    })
  )
}

const run = (guard?: SessionGuardLimits) =>
  Effect.gen(function* () {
    const bars = randomBars(tickers, 40)
    const journal = makeMemoryJournal()
    const logs: Array<{ level: string; message: string }> = []
    const logger = Logger.make(({ logLevel, message }) => void logs.push({ level: logLevel.label, message: String(message) }))
    const layer = Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(300_000)).pipe(
      Layer.provide(SimExchangeLive(makeBarTape(bars), { initialCash: 10_000, fillPrice: "close", slippageBps: 0, buyCostPct: rules.buyCostPct, sellCostPct: rules.sellCostPct })),
      Layer.merge(IndicatorFeatureEngineLive(tickers, definitionsOf(indicatorNames))),
      Layer.merge(scriptedPolicy()),
      Layer.merge(journal.layer)
    )
    const summary = yield* runSession({ deploymentId: "t", interval: "5m", rules, risk: {}, guard }).pipe(
      withSimClock(bars.get("AAA")![0].time),
      Effect.provide(layer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
    return { summary, records: journal.records, logs }
  })

const orderStamp = (barTime: string) => barTime.replace(/[-:]/g, "").slice(0, 13)

describe("a policy that outputs NaN or ±Infinity", () => {
  it.effect("is refused per step: no orders, a policy_error record instead of the decision, orders resume after", () =>
    Effect.gen(function* () {
      const counted = (yield* Metric.value(TradingMetrics.policyErrors)).count
      const { summary, records } = yield* run()
      expect((yield* Metric.value(TradingMetrics.policyErrors)).count - counted).toBe(BAD_CALLS.length)
      // one portfolio record per step, in order: the step's policy call is its index
      const steps = ofType(records, "portfolio").map((p) => p.bar_time)
      const errors = ofType(records, "policy_error")
      const decisions = ofType(records, "decision")
      expect(errors.map((e) => e.bar_time)).toEqual(BAD_CALLS.map((i) => steps[i]))
      expect(decisions.length).toBe(steps.length - BAD_CALLS.length)
      expect(summary.steps).toBe(steps.length) // a refused step is still a step
      for (const e of errors) {
        expect(decisions.some((d) => d.bar_time === e.bar_time)).toBe(false)
        // no order of any kind carries a refused bar's time in its client order id
        const stamp = orderStamp(e.bar_time)
        expect(records.filter((r) => "client_order_id" in r && String(r.client_order_id).includes(stamp))).toEqual([])
      }
      expect(errors[0]).toMatchObject({ action: [null, 0.5], problem: expect.stringMatching(/NaN at \[0\]/) })
      expect(errors[1]).toMatchObject({ action: [null, 0], problem: expect.stringMatching(/\+Inf at \[0\]/) })
      expect(errors[2].problem).toMatch(/-Inf at \[1\]/)
      expect(errors[6].problem).toMatch(/\+Inf at \[0\]; -Inf at \[1\]/)
      // the record survives the journal's JSON round trip and decodes
      for (const e of errors) expect(decodeJournalRecord(JSON.parse(JSON.stringify(e)))._tag).toBe("Right")
      // orders resume: the first decision after each bad run trades (a sell, then a buy)
      const after = (i: number) => decisions.find((d) => d.bar_time === steps[i])!
      expect(after(0).orders.map((o) => o.side)).toEqual(["buy", "buy"])
      expect(after(3).orders.map((o) => o.side)).toEqual(["sell", "sell"])
      expect(after(9).orders.map((o) => o.side)).toEqual(["buy", "buy"])
      expect(summary.fills).toBeGreaterThan(0)
    }))

  it.effect("warns once per run of bad outputs and opens the policy circuit after 5 in a row", () =>
    Effect.gen(function* () {
      const { logs } = yield* run()
      const warnings = logs.filter((l) => l.level === "WARN" && /not finite/.test(l.message))
      expect(warnings.length).toBe(2) // two runs: calls 1–2 and 4–8
      const open = logs.filter((l) => l.level === "ERROR" && /policy circuit open/.test(l.message))
      expect(open.length).toBe(1) // only the second run reaches 5
      expect(logs.filter((l) => /policy circuit closed/.test(l.message)).length).toBe(1)
      expect(logs.filter((l) => /orders resume/.test(l.message)).length).toBe(2)
    }))

  it.effect("opens the circuit at risk.max_consecutive_policy_errors", () =>
    Effect.gen(function* () {
      const { logs } = yield* run({ maxConsecutivePolicyErrors: 2 })
      expect(logs.filter((l) => l.level === "ERROR" && /policy circuit open: 2 /.test(l.message)).length).toBe(2)
    }))
})
