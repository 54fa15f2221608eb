import { describe, expect, it } from "vitest"
import { mergeFeatures, planFeatures } from "../../src/core/feature-plan.js"
import { looksLikeNewsFeature, NewsBook, newsFeatureValues, newsLookbackMs, parseNewsFeature } from "../../src/core/news-features.js"
import type { NewsEvent } from "../../src/domain/News.js"

const T0 = Date.parse("2026-03-02T15:00:00Z")
const MIN = 60_000
const event = (id: number, createdMin: number, over: Partial<NewsEvent> = {}): NewsEvent => ({
  id,
  createdAt: T0 + createdMin * MIN,
  updatedAt: T0 + createdMin * MIN,
  receivedAt: T0 + createdMin * MIN,
  symbols: ["AAA"],
  headline: `h${id}`,
  summary: "",
  ...over
})

describe("news feature names", () => {
  it("parses windows in minutes, hours and days, and refuses near misses", () => {
    expect(parseNewsFeature("sentiment_mean_60m")).toEqual({ name: "sentiment_mean_60m", kind: "sentiment_mean", windowMs: 60 * MIN })
    expect(parseNewsFeature("sentiment_decayed_4h")?.windowMs).toBe(4 * 60 * MIN)
    expect(parseNewsFeature("news_count_1d")?.windowMs).toBe(24 * 60 * MIN)
    expect(parseNewsFeature("macd")).toBeUndefined()
    for (const bad of ["sentiment_mean_0m", "news_count_4x", "sentiment_mean60m", "sentiment_max_1h"]) {
      expect(parseNewsFeature(bad)).toBeUndefined()
      expect(looksLikeNewsFeature(bad)).toBe(true)
    }
    expect(newsLookbackMs([parseNewsFeature("sentiment_mean_60m")!, parseNewsFeature("sentiment_decayed_1h")!])).toBe(8 * 60 * MIN)
  })

  it("splits a feature list into indicators and news, and merges them back in the model's order", () => {
    const plan = planFeatures(["macd", "sentiment_mean_60m", { name: "RSI", period: 14 }, "news_count_24h"])
    if (typeof plan === "string") throw new Error(plan)
    expect(plan.indicators).toEqual(["macd", { name: "RSI", period: 14 }])
    expect(plan.news.map((f) => f.name)).toEqual(["sentiment_mean_60m", "news_count_24h"])
    expect(mergeFeatures(plan, [1, 2], [10, 20])).toEqual([1, 10, 2, 20])
    expect(planFeatures(["macd", "sentiment_avg_1h"])).toMatch(/"sentiment_avg_1h" is not a news feature/)
  })
})

describe("NewsBook", () => {
  it("shows a decision only articles created and received before its time, each at its newest such version", () => {
    const book = new NewsBook(["AAA", "BBB"])
    book.add(event(1, -30))
    // received late: a stream that delivered it after the bar closed
    book.add(event(2, -10, { receivedAt: T0 + 2 * MIN }))
    book.add(event(3, -5, { symbols: ["BBB"] }))
    // an update of article 1, received at minute 1
    book.add(event(1, -30, { updatedAt: T0 + MIN, receivedAt: T0 + MIN, headline: "h1 v2" }))
    book.add(event(4, 3))
    const at = (t: number) => book.visible("AAA", t, 3_600_000).map((e) => `${e.id}:${e.headline}`)
    expect(at(T0)).toEqual(["1:h1"])
    expect(at(T0 + MIN + 1)).toEqual(["1:h1 v2"])
    expect(at(T0 + 2 * MIN + 1)).toEqual(["1:h1 v2", "2:h2"])
    expect(at(T0 + 4 * MIN)).toEqual(["1:h1 v2", "2:h2", "4:h4"])
    expect(book.visible("BBB", T0, 3_600_000).map((e) => e.id)).toEqual([3])
    // outside the lookback
    expect(book.visible("AAA", T0 + 10 * MIN, 10 * MIN).map((e) => e.id)).toEqual([4])
    book.prune(T0)
    expect(book.visible("AAA", T0 + 4 * MIN, 3_600_000).map((e) => e.id)).toEqual([4])
  })

  it("computes the mean, the decayed mean and the count over their windows", () => {
    const items = [event(1, -90), event(2, -30), event(3, -10)]
    const scores = new Map([[1, 1], [2, -0.5], [3, 0.25]])
    const names = ["sentiment_mean_60m", "news_count_60m", "news_count_2h", "sentiment_decayed_30m"].map((n) => parseNewsFeature(n)!)
    const [mean, count1h, count2h, decayed] = newsFeatureValues(names, items, (e) => scores.get(e.id)!, T0)
    expect(mean).toBeCloseTo((-0.5 + 0.25) / 2, 12)
    expect(count1h).toBe(2)
    expect(count2h).toBe(3)
    const w = [2 ** -3, 2 ** -1, 2 ** (-10 / 30)]
    expect(decayed).toBeCloseTo((w[0] * 1 + w[1] * -0.5 + w[2] * 0.25) / (w[0] + w[1] + w[2]), 12)
    expect(newsFeatureValues(names, [], () => 1, T0)).toEqual([0, 0, 0, 0])
  })
})
