import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, TestClock } from "effect"
import { planRecovery } from "../../src/core/recovery.js"
import { readJournal } from "../../src/domain/Journal.js"
import { IndicatorFeatureEngineLive } from "../../src/layers/IndicatorFeatureEngine.js"
import { JsonlJournalLive } from "../../src/layers/JsonlJournal.js"
import { ReplayMarketDataLive } from "../../src/layers/ReplayMarketData.js"
import { SimBrokerLive } from "../../src/layers/SimBroker.js"
import { makeBarTape, SimExchange, SimExchangeLive } from "../../src/layers/SimExchange.js"
import { SimMarketClockLive } from "../../src/layers/SimMarketClock.js"
import { trade } from "../../src/programs/trade.js"
import { Policy } from "../../src/services/Policy.js"
import { definitionsOf, randomBars, testCard, tradeSettings } from "../support/fixtures.js"

const tickers = ["AAA", "BBB"]
const indicatorNames = ["close_5_sma"]
const definitions = definitionsOf(indicatorNames)
const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001 }
const policy = Layer.succeed(
  Policy,
  Policy.of({
    card: testCard(tickers, indicatorNames, rules.hmax),
    modelDir: "test",
    act: (obs) => Effect.sync(() => Float32Array.from(tickers, (_, i) => Math.tanh((obs[1 + 2 * 2 + i] - obs[1 + i]) * 3)))
  })
)
const settings = tradeSettings("r", rules)

const readRecords = (file: string) => readJournal(fs.readFileSync(file)).records

describe("restart", () => {
  it.scoped("repairs a torn journal, resumes after the last decision, resolves open intents, never decides a bar twice", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 120, 21)
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rlpt-restart-")), "journal.jsonl")
      // the broker outlives the trader: one exchange for both runs
      const exchange = yield* Layer.build(
        SimExchangeLive(makeBarTape(bars), { initialCash: 20_000, fillPrice: "next_open", slippageBps: 0, buyCostPct: rules.buyCostPct, sellCostPct: rules.sellCostPct })
      )
      const session = (maxSteps: number) =>
        trade({ ...settings, maxSteps }).pipe(
          Effect.provide(
            Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(300_000), IndicatorFeatureEngineLive(tickers, definitions), policy, JsonlJournalLive({ path: file, sync: true }))
          ),
          Effect.provide(exchange)
        )
      const drive = (maxSteps: number) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.fork(session(maxSteps))
          for (let i = 0; i < 3_000 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("1 minute")
          return yield* Fiber.join(fiber)
        })

      yield* TestClock.setTime(bars.get("AAA")![0].time)
      yield* drive(15)
      // a crash: the decision for the next bar was written, its orders never sent, and a write was cut
      const first = readRecords(file)
      const lastBar = Math.max(...first.filter((r) => r.type === "decision").map((r) => Date.parse(r.bar_time as string)))
      // the bar being formed now: a restarted trader would decide it next, unless it resumes after it
      const now = yield* Clock.currentTimeMillis
      const ghostBar = new Date(Math.floor(now / 300_000) * 300_000).toISOString()
      expect(Date.parse(ghostBar)).toBeGreaterThan(lastBar)
      const ghost = { type: "decision", bar_time: ghostBar, time: ghostBar, observation: [], action: [], orders: [{ ticker: "AAA", side: "buy", qty: 1, client_order_id: "r-AAA-ghost-b" }] }
      fs.appendFileSync(file, JSON.stringify(ghost) + "\n" + '{"type":"fill","ticker":"AA')

      yield* drive(10)
      const records = readRecords(file)
      expect(records.some((r) => r.type === "journal_repaired")).toBe(true)
      const recovery = records.find((r) => r.type === "recovery")!
      expect(recovery.last_decision_bar_time).toBe(ghostBar)
      expect(records.find((r) => r.type === "intent_unsent")?.client_order_id).toBe("r-AAA-ghost-b")
      const decided = records.filter((r) => r.type === "decision").map((r) => r.bar_time as string)
      expect(new Set(decided).size).toBe(decided.length)
      expect(decided.length).toBe(15 + 1 + 10)
      expect(decided.filter((t) => t > ghostBar).length).toBe(10)
      // the broker's positions equal what the journal's fills say
      const { book } = yield* Effect.provide(SimExchange, exchange)
      const journalPositions = planRecovery(records).positions
      for (const t of tickers) expect(book.positionList().find((p) => p.ticker === t)?.qty ?? 0).toBe(journalPositions.get(t) ?? 0)
      expect(records.filter((r) => r.type === "position_check")).toEqual([])
    }))
})
