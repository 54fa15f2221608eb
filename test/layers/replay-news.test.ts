import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { formatNewsFile } from "../../src/core/news-file.js"
import { versionKey, type NewsArticle, type NewsEvent } from "../../src/domain/News.js"
import { makeReplayNews, makeReplayNewsFrom } from "../../src/layers/ReplayNews.js"
import { tmpTree } from "../support/tmp.js"

const MIN = 60_000
/** 2024-01-02 14:30 UTC. */
const T0 = Date.UTC(2024, 0, 2, 14, 30)
const iso = (ms: number) => new Date(ms).toISOString()

const version = (id: number, created: number, updated: number, symbols: ReadonlyArray<string>, headline = `${id}@${updated - T0}`): NewsArticle => ({
  id,
  headline,
  summary: "",
  created_at: iso(created),
  updated_at: iso(updated),
  symbols
})

/**
 * In updated_at order:
 *  1 AAA created T0−60m (before the warm-up window)
 *  2 AAA created T0−30m, updated T0−10m and again T0+5m
 *  3 BBB created T0−20m
 *  4 CCC created T0−15m (no deployment ticker)
 *  5 AAA,CCC created T0+2m
 *  6 BBB created T0+10m, updated T0+20m
 */
const articles: ReadonlyArray<NewsArticle> = [
  version(1, T0 - 60 * MIN, T0 - 60 * MIN, ["AAA"]),
  version(2, T0 - 30 * MIN, T0 - 30 * MIN, ["AAA"]),
  version(3, T0 - 20 * MIN, T0 - 20 * MIN, ["BBB"]),
  version(4, T0 - 15 * MIN, T0 - 15 * MIN, ["CCC"]),
  version(2, T0 - 30 * MIN, T0 - 10 * MIN, ["AAA"]),
  version(5, T0 + 2 * MIN, T0 + 2 * MIN, ["AAA", "CCC"]),
  version(2, T0 - 30 * MIN, T0 + 5 * MIN, ["AAA", "BBB"]),
  version(6, T0 + 10 * MIN, T0 + 10 * MIN, ["BBB"]),
  version(6, T0 + 10 * MIN, T0 + 20 * MIN, ["BBB"])
]

const keys = (events: ReadonlyArray<NewsEvent>) => events.map((e) => `${e.id}@${(e.updatedAt - T0) / MIN}m`)

describe("ReplayNews", () => {
  it.effect("history: the articles of the tickers created in [from, to), each at its latest version by `to`, received at updated_at", () =>
    Effect.gen(function* () {
      const news = yield* makeReplayNewsFrom(articles, ["AAA", "BBB"])
      const warm = yield* news.history(["AAA", "BBB"], T0 - 45 * MIN, T0)
      // 1 was created before the window, 4 mentions neither ticker, 2's T0+5m version is after `to`
      expect(keys(warm)).toEqual(["3@-20m", "2@-10m"])
      expect(warm.every((e) => e.receivedAt === e.updatedAt)).toBe(true)
      expect(warm.find((e) => e.id === 2)).toMatchObject({ createdAt: T0 - 30 * MIN, symbols: ["AAA"], headline: "2@-600000" })
      // `to` is exclusive for creation; a version updated exactly at `to` is the latest by then
      expect(keys(yield* news.history(["AAA"], T0, T0 + 2 * MIN))).toEqual([])
      expect(keys(yield* news.history(["AAA"], T0, T0 + 2 * MIN + 1))).toEqual(["5@2m"])
      expect(keys(yield* news.history(["CCC"], T0 - 60 * MIN, T0 + 60 * MIN))).toEqual(["4@-15m", "5@2m"])
    }))

  it.effect("take: the versions updated before `until`, in order, each once, never before its updated_at", () =>
    Effect.gen(function* () {
      const news = yield* makeReplayNewsFrom(articles, ["AAA", "BBB"])
      // no history asked: everything of the deployment's tickers from the start of the file
      expect(keys(yield* news.take(T0 - 30 * MIN))).toEqual(["1@-60m"])
      // 2's first version is updated exactly at T0−30m: not before `until` = T0−30m, so only now
      expect(keys(yield* news.take(T0 - 30 * MIN + 1))).toEqual(["2@-30m"])
      expect(keys(yield* news.take(T0 - 30 * MIN + 1))).toEqual([])
      const next = yield* news.take(T0 + 6 * MIN)
      // 4 mentions no deployment ticker; 2's updates arrive as new versions of the same article
      expect(keys(next)).toEqual(["3@-20m", "2@-10m", "5@2m", "2@5m"])
      expect(next.every((e) => e.receivedAt === e.updatedAt && e.updatedAt < T0 + 6 * MIN)).toBe(true)
      expect(keys(yield* news.take(T0 + 60 * MIN))).toEqual(["6@10m", "6@20m"])
      expect(yield* news.take(T0 + 120 * MIN)).toEqual([])
    }))

  it.effect("take after history: what history returned is not returned again, nor an older version of it; later updates are", () =>
    Effect.gen(function* () {
      const news = yield* makeReplayNewsFrom(articles, ["AAA", "BBB"])
      const warm = yield* news.history(["AAA", "BBB"], T0 - 45 * MIN, T0)
      expect(keys(warm)).toEqual(["3@-20m", "2@-10m"])
      // 1 was outside the warm-up window, so take still hands it over; 2@-30m is superseded by 2@-10m
      const first = yield* news.take(T0 + 3 * MIN)
      expect(keys(first)).toEqual(["1@-60m", "5@2m"])
      expect(keys(yield* news.take(T0 + 30 * MIN))).toEqual(["2@5m", "6@10m", "6@20m"])
      const all = [...warm, ...first]
      expect(new Set(all.map(versionKey)).size).toBe(all.length)
    }))

  it.effect("is deterministic: two replays of one file hand over the same versions", () =>
    Effect.gen(function* () {
      const run = Effect.gen(function* () {
        const news = yield* makeReplayNewsFrom(articles, ["BBB"])
        const out: Array<string> = []
        for (let t = T0 - 60 * MIN; t <= T0 + 60 * MIN; t += 7 * MIN) out.push(...keys(yield* news.take(t)))
        return out
      })
      const a = yield* run
      expect(a).toEqual(["3@-20m", "2@5m", "6@10m", "6@20m"])
      expect(yield* run).toEqual(a)
    }))

  it.effect("reads a news file once at build", () =>
    Effect.gen(function* () {
      const dir = tmpTree({ "news.jsonl": formatNewsFile(articles) })
      const news = yield* makeReplayNews(path.join(dir, "news.jsonl"), ["AAA"])
      expect(keys(yield* news.take(T0))).toEqual(["1@-60m", "2@-30m", "2@-10m"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a bad news file is a NewsError naming the file, the line and the field", () =>
    Effect.gen(function* () {
      const text = formatNewsFile(articles.slice(0, 3)) + JSON.stringify({ ...articles[3], updated_at: "yesterday" }) + "\n"
      const dir = tmpTree({ "news.jsonl": text })
      const file = path.join(dir, "news.jsonl")
      const error = yield* Effect.flip(makeReplayNews(file, ["AAA"]))
      expect(error._tag).toBe("NewsError")
      expect(error.message).toBe(`news: ${file}:4, field 'updated_at': an RFC 3339 time such as 2026-03-02T14:31:07Z`)
      const missing = yield* Effect.flip(makeReplayNews(path.join(dir, "nope.jsonl"), ["AAA"]))
      expect(missing.message).toBe(`news: ${path.join(dir, "nope.jsonl")}: file not found (news file)`)
      const unordered = yield* Effect.flip(makeReplayNewsFrom([articles[1], articles[0]], ["AAA"]))
      expect(unordered.message).toContain("news articles:2, field 'updated_at'")
    }).pipe(Effect.provide(NodeContext.layer)))
})
