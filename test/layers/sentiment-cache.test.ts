import * as fs from "node:fs"
import * as path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { versionKey, type NewsEvent } from "../../src/domain/News.js"
import { LEXICON_SCORER_ID, LexiconSentimentScorerLive } from "../../src/layers/LexiconSentimentScorer.js"
import { cachedScorer, SentimentScoreCacheLive } from "../../src/layers/SentimentScoreCache.js"
import { SentimentError, SentimentScorer, type SentimentScorerService } from "../../src/services/SentimentScorer.js"
import { tmpTree } from "../support/tmp.js"

const T0 = Date.parse("2026-03-02T14:30:00Z")

const version = (id: number, updatedMinutes = 0, headline = `headline ${id}`): NewsEvent => ({
  id,
  createdAt: T0,
  updatedAt: T0 + updatedMinutes * 60_000,
  receivedAt: T0 + updatedMinutes * 60_000,
  symbols: ["AAPL"],
  headline,
  summary: ""
})

/** A scorer that records every batch it is asked for; its score depends on the id and the version. */
const countingScorer = (id = "counting:1") => {
  const batches: Array<ReadonlyArray<string>> = []
  const scorer: SentimentScorerService = {
    id,
    score: (items) =>
      Effect.sync(() => {
        batches.push(items.map(versionKey))
        return items.map((e) => ((e.id * 37 + e.updatedAt / 60_000) % 200) / 100 - 1)
      })
  }
  return { scorer, batches }
}

const cacheFile = () => path.join(tmpTree({}), "state", "scores.jsonl")

const open = (inner: SentimentScorerService, file: string) => cachedScorer(inner, file).pipe(Effect.provide(NodeFileSystem.layer))

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
  return exit.cause.error
}

describe("SentimentScoreCache", () => {
  it.effect("answers a version it has scored from the cache, and scores only what is missing, in one batch", () =>
    Effect.gen(function* () {
      const { scorer, batches } = countingScorer()
      const cached = yield* open(scorer, cacheFile())
      expect(cached.id).toBe(scorer.id)
      const first = yield* cached.score([version(1), version(2)])
      expect(batches).toEqual([[versionKey(version(1)), versionKey(version(2))]])
      expect(yield* cached.score([version(2), version(1)])).toEqual([first[1], first[0]])
      expect(batches).toHaveLength(1)
      yield* cached.score([version(1), version(3), version(2), version(3), version(4)])
      expect(batches[1]).toEqual([versionKey(version(3)), versionKey(version(4))])
      expect(yield* cached.score([])).toEqual([])
      expect(batches).toHaveLength(2)
    })
  )

  it.effect("scores a new version of the same article (a later updated_at), keeping the old one's score", () =>
    Effect.gen(function* () {
      const { scorer, batches } = countingScorer()
      const cached = yield* open(scorer, cacheFile())
      const [old] = yield* cached.score([version(7)])
      const [updated] = yield* cached.score([version(7, 5)])
      expect(batches).toEqual([[versionKey(version(7))], [versionKey(version(7, 5))]])
      expect(updated).not.toBe(old)
      expect(yield* cached.score([version(7), version(7, 5)])).toEqual([old, updated])
      expect(batches).toHaveLength(2)
    })
  )

  it.effect("after a restart (a fresh cache over the same file) scores nothing again, and gives the same scores", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      const before = countingScorer()
      const items = [version(1), version(2), version(2, 3)]
      const scores = yield* (yield* open(before.scorer, file)).score(items)
      const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l))
      expect(lines).toEqual(items.map((e, k) => ({ scorer: "counting:1", key: versionKey(e), score: scores[k] })))
      const after = countingScorer()
      expect(yield* (yield* open(after.scorer, file)).score(items)).toEqual(scores)
      expect(after.batches).toEqual([])
    })
  )

  it.effect("keeps scores per scorer: another scorer over the same file scores for itself", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      yield* (yield* open(countingScorer("a").scorer, file)).score([version(1)])
      const other = countingScorer("b")
      yield* (yield* open(other.scorer, file)).score([version(1)])
      expect(other.batches).toEqual([[versionKey(version(1))]])
    })
  )

  it.effect("ignores a torn last line (a crash mid-append), cuts it, and appends whole lines after it", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      const first = countingScorer()
      yield* (yield* open(first.scorer, file)).score([version(1), version(2)])
      fs.appendFileSync(file, `{"scorer":"counting:1","key":"${versionKey(version(3))}","sco`)
      const second = countingScorer()
      const cached = yield* open(second.scorer, file)
      yield* cached.score([version(1), version(2), version(3)])
      expect(second.batches).toEqual([[versionKey(version(3))]])
      const lines = fs.readFileSync(file, "utf8").split("\n")
      expect(lines.at(-1)).toBe("")
      expect(lines.slice(0, -1).map((l) => JSON.parse(l).key)).toEqual([1, 2, 3].map((id) => versionKey(version(id))))
    })
  )

  it.effect("reads a whole last line that lost only its newline, and starts the next append on a new line", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      yield* (yield* open(countingScorer().scorer, file)).score([version(1)])
      fs.truncateSync(file, fs.statSync(file).size - 1)
      const again = countingScorer()
      const cached = yield* open(again.scorer, file)
      yield* cached.score([version(1), version(2)])
      expect(again.batches).toEqual([[versionKey(version(2))]])
      expect(fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).key)).toEqual([versionKey(version(1)), versionKey(version(2))])
    })
  )

  it.effect("refuses a bad line that is not the last, naming the file and the line", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, `{"scorer":"x","key":"1@2026-03-02T14:30:00.000Z","score":0.5}\nnot json\n{"scorer":"x","key":"k","score":0}\n`)
      const error = failureOf(yield* Effect.exit(open(countingScorer().scorer, file)))
      expect(error).toBeInstanceOf(SentimentError)
      expect(error.message).toBe(`sentiment: score cache ${file}: line 2 is not JSON`)
      fs.writeFileSync(file, `{"scorer":"x","key":"k","score":1.5}\n`)
      expect(failureOf(yield* Effect.exit(open(countingScorer().scorer, file))).message).toBe(
        `sentiment: score cache ${file}: line 1 is not {"scorer": text, "key": text, "score": a number in [-1, 1]}`
      )
    })
  )

  it.effect("refuses an inner scorer's answer of the wrong length or out of range, caching nothing", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      const short: SentimentScorerService = { id: "short", score: () => Effect.succeed([0.1]) }
      const error = failureOf(yield* Effect.exit(Effect.flatMap(open(short, file), (c) => c.score([version(1), version(2)]))))
      expect(error.message).toBe("sentiment: scorer short gave 1 scores for 2 articles")
      const wild: SentimentScorerService = { id: "wild", score: (items) => Effect.succeed(items.map(() => 2)) }
      expect(failureOf(yield* Effect.exit(Effect.flatMap(open(wild, file), (c) => c.score([version(1)])))).message).toBe(
        `sentiment: scorer wild gave 2 for article ${versionKey(version(1))}, outside [-1, 1]`
      )
      expect(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "").toBe("")
    })
  )

  it.effect("as a Layer, wraps whichever scorer is provided (here the lexicon scorer)", () =>
    Effect.gen(function* () {
      const file = cacheFile()
      const scorer = yield* SentimentScorer.pipe(
        Effect.provide(SentimentScoreCacheLive(file).pipe(Layer.provide(LexiconSentimentScorerLive), Layer.provide(NodeFileSystem.layer)))
      )
      expect(scorer.id).toBe(LEXICON_SCORER_ID)
      expect(LEXICON_SCORER_ID).toBe("lexicon:afinn-165-financialmarketnews@3.0.0")
      const [score] = yield* scorer.score([version(1, 0, "Apple beats estimates, shares surge to a record")])
      expect(score).toBeGreaterThan(0)
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ scorer: LEXICON_SCORER_ID, key: versionKey(version(1)), score })
    })
  )
})
