import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { IndicatorFeatureEngineLive } from "../../src/layers/IndicatorFeatureEngine.js"
import { makeMemoryJournal } from "../../src/layers/JsonlJournal.js"
import { LexiconSentimentScorerLive } from "../../src/layers/LexiconSentimentScorer.js"
import { ReplayMarketDataLive } from "../../src/layers/ReplayMarketData.js"
import { ReplayNewsTest } from "../../src/layers/ReplayNews.js"
import { SimBrokerLive } from "../../src/layers/SimBroker.js"
import { SimMarketClockLive } from "../../src/layers/SimMarketClock.js"
import { withSimClock } from "../../src/layers/SimClock.js"
import { makeBarTape, SimExchangeLive } from "../../src/layers/SimExchange.js"
import { type DecisionRecord, ofType } from "../../src/domain/Journal.js"
import type { NewsArticle } from "../../src/domain/News.js"
import { runSession } from "../../src/programs/session.js"
import { Policy } from "../../src/services/Policy.js"
import { Rng } from "../../src/core/rng.js"
import { definitionsOf, randomBars, testCard } from "../support/fixtures.js"

const tickers = ["AAA", "BBB"]
const features = ["close_5_sma", "sentiment_mean_60m", "sentiment_decayed_4h", "news_count_24h"]
const definitions = definitionsOf(["close_5_sma"])
const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001 }
const settings = { deploymentId: "t", interval: "5m" as const, rules, risk: {} }
const BARS = 60
const start = Date.parse("2026-03-02T14:30:00Z")
const stamp = (t: number) => new Date(t).toISOString().replace(".000Z", "Z")

const GOOD = "beats estimates, record profit and strong growth"
const BAD = "plunges after profit warning and weak demand"

/** Seeded articles over the session (and two hours before it), some updated later; about one in three bars has one. */
const articles = (seed: number): Array<NewsArticle> => {
  const rng = new Rng(seed)
  const out: Array<NewsArticle> = []
  for (let k = 0; k < 40; k++) {
    const created = start - 2 * 3_600_000 + Math.floor(rng.uniform() * (BARS * 300 + 7200)) * 1000
    const ticker = tickers[Math.floor(rng.uniform() * tickers.length)]
    const base = { id: 1000 + k, headline: `${ticker} ${rng.uniform() < 0.5 ? GOOD : BAD}`, summary: "", symbols: [ticker], created_at: stamp(created), updated_at: stamp(created) }
    out.push(base)
    if (rng.uniform() < 0.25) out.push({ ...base, headline: `${ticker} ${BAD}`, updated_at: stamp(created + 600_000) })
  }
  return out.sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at))
}

/** Every article version after `cut` changed: tone flipped, and a new article beside it. */
const changedAfter = (list: ReadonlyArray<NewsArticle>, cut: number): Array<NewsArticle> =>
  list
    .flatMap((a) =>
      Date.parse(a.updated_at) >= cut || Date.parse(a.created_at) >= cut
        ? [{ ...a, headline: a.headline.includes(GOOD) ? a.headline.replace(GOOD, BAD) : a.headline.replace(BAD, GOOD) }, { ...a, id: a.id + 50_000, headline: `${a.symbols[0]} ${GOOD}` }]
        : [a]
    )
    .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at))

/** A policy whose action follows every observation entry, the news features included. */
const observantPolicy = Layer.succeed(
  Policy,
  Policy.of({
    card: { ...testCard(tickers, features, rules.hmax) },
    modelDir: "test",
    act: (obs) =>
      Effect.sync(() => {
        const n = tickers.length
        const at = 1 + 2 * n
        // FinRL's df layout: each feature for every ticker in turn; sentiment_mean is the second, news_count the fourth
        return Float32Array.from(tickers, (_, i) => Math.tanh(3 * obs[at + n + i] + 0.1 * obs[at + 3 * n + i] - 0.2))
      })
  })
)

const backtest = (news: ReadonlyArray<NewsArticle>) =>
  Effect.gen(function* () {
    const bars = randomBars(tickers, BARS, 11)
    const journal = makeMemoryJournal()
    const layer = Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(300_000)).pipe(
      Layer.provide(SimExchangeLive(makeBarTape(bars), { initialCash: 10_000, fillPrice: "next_open", slippageBps: 0, buyCostPct: 0.001, sellCostPct: 0.001 })),
      Layer.merge(IndicatorFeatureEngineLive(tickers, definitions)),
      Layer.merge(observantPolicy),
      Layer.merge(ReplayNewsTest(news, tickers)),
      Layer.merge(LexiconSentimentScorerLive),
      Layer.merge(journal.layer)
    )
    yield* runSession(settings).pipe(withSimClock(start), Effect.provide(layer))
    return ofType(journal.records, "decision") as ReadonlyArray<DecisionRecord>
  })

describe("news features never look ahead", () => {
  it.effect("changing every article after a cut changes no decision whose bar closed before it, and some after", () =>
    Effect.gen(function* () {
      const cut = start + 30 * 300_000 + 17_000
      const original = articles(5)
      const before = yield* backtest(original)
      const after = yield* backtest(changedAfter(original, cut))
      expect(after.length).toBe(before.length)
      const closed = (d: DecisionRecord) => Date.parse(d.bar_time) + 300_000 <= cut
      const early = before.filter(closed)
      expect(early.length).toBeGreaterThan(10)
      // the whole record: observation, action, orders and the news seen
      for (let i = 0; i < early.length; i++) expect(after[i]).toEqual(before[i])
      const late = before.map((d, i) => [d, after[i]] as const).filter(([d]) => !closed(d))
      const changed = late.filter(([a, b]) => JSON.stringify(a.observation) !== JSON.stringify(b.observation))
      expect(changed.length).toBeGreaterThan(late.length / 2)
      expect(late.some(([a, b]) => JSON.stringify(a.orders) !== JSON.stringify(b.orders))).toBe(true)
    }))

  it.effect("a decision journals the article versions it saw and its news features; an update replaces its article from its updated_at", () =>
    Effect.gen(function* () {
      const decisions = yield* backtest(articles(5))
      const withNews = decisions.filter((d) => (d.news ?? []).some((n) => n.items.length > 0))
      expect(withNews.length).toBeGreaterThan(decisions.length / 2)
      for (const d of decisions) {
        const close = Date.parse(d.bar_time) + 300_000
        expect(d.news?.map((n) => n.ticker)).toEqual(tickers)
        for (const n of d.news!) {
          expect(Object.keys(n.features)).toEqual(["sentiment_mean_60m", "sentiment_decayed_4h", "news_count_24h"])
          // each id once, at a version from before the bar's close
          expect(new Set(n.items.map((i) => i.id)).size).toBe(n.items.length)
          for (const item of n.items) expect(Date.parse(item.updated_at)).toBeLessThan(close)
        }
      }
      const updated = articles(5).filter((a) => a.updated_at !== a.created_at)
      expect(updated.length).toBeGreaterThan(0)
      const u = updated[0]
      const seen = decisions.flatMap((d) => (d.news ?? []).flatMap((n) => n.items.filter((i) => i.id === u.id).map((i) => ({ close: Date.parse(d.bar_time) + 300_000, version: i.updated_at }))))
      expect(seen.length).toBeGreaterThan(0)
      for (const s of seen) expect(Date.parse(s.version)).toBe(Date.parse(s.close > Date.parse(u.updated_at) ? u.updated_at : u.created_at))
    }))
})
