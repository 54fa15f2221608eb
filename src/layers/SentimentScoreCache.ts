import * as nodePath from "node:path"
import { FileSystem } from "@effect/platform"
import { Effect, Either, Layer, Schema } from "effect"
import { versionKey } from "../domain/News.js"
import { SentimentError, SentimentScorer, type SentimentScorerService } from "../services/SentimentScorer.js"

/** One line of the cache file. */
export const CachedScore = Schema.Struct({
  scorer: Schema.String,
  key: Schema.String,
  score: Schema.Number.pipe(Schema.between(-1, 1))
})
export type CachedScore = typeof CachedScore.Type

const decodeLine = Schema.decodeUnknownEither(CachedScore)

const failure = (file: string, detail: string) => new SentimentError({ detail: `score cache ${file}: ${detail}` })

interface CacheFile {
  /** Versions scored by this scorer, by version key. */
  readonly scores: Map<string, number>
  /** Bytes up to the end of the last whole line: a torn tail past it is cut. */
  readonly keepBytes: number
  readonly torn: boolean
  /** The last line is whole but lacks its newline: the next append starts with one. */
  readonly needsNewline: boolean
}

/** Reads the cache's lines for `scorer`; a torn last line (a crash mid-append) is not read, any other bad line fails. */
export const parseScoreCache = (file: string, bytes: Uint8Array, scorer: string): Either.Either<CacheFile, SentimentError> => {
  const text = new TextDecoder().decode(bytes)
  const lines = text.split("\n")
  const scores = new Map<string, number>()
  let torn = false
  let needsNewline = false
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]
    const last = n === lines.length - 1
    if (line.trim() === "") continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      if (last) {
        torn = true
        continue
      }
      return Either.left(failure(file, `line ${n + 1} is not JSON`))
    }
    const decoded = decodeLine(parsed)
    if (Either.isLeft(decoded)) {
      if (last) {
        torn = true
        continue
      }
      return Either.left(failure(file, `line ${n + 1} is not {"scorer": text, "key": text, "score": a number in [-1, 1]}`))
    }
    if (last) needsNewline = true
    if (decoded.right.scorer === scorer) scores.set(decoded.right.key, decoded.right.score)
  }
  return Either.right({ scores, keepBytes: bytes.lastIndexOf(10) + 1, torn, needsNewline })
}

/**
 * `inner` behind a cache of scores by article version (`inner.id` + {@link versionKey}), kept as JSON
 * lines in `file`: a restart or a replay never scores a version twice. Missing versions go to `inner`
 * in one batch; calls are serialised so two never score the same version.
 */
export const cachedScorer = (inner: SentimentScorerService, file: string): Effect.Effect<SentimentScorerService, SentimentError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const platform = (what: string) => (e: { readonly message: string }) => failure(file, `${what} (${e.message})`)

    yield* fs.makeDirectory(nodePath.dirname(file), { recursive: true }).pipe(Effect.mapError(platform("cannot create its folder")))
    const found = (yield* fs.exists(file).pipe(Effect.mapError(platform("cannot be read"))))
      ? yield* fs.readFile(file).pipe(
          Effect.mapError(platform("cannot be read")),
          Effect.flatMap((bytes) => parseScoreCache(file, bytes, inner.id))
        )
      : { scores: new Map<string, number>(), keepBytes: 0, torn: false, needsNewline: false }
    if (found.torn) {
      yield* fs.truncate(file, found.keepBytes).pipe(Effect.mapError(platform("cannot cut its torn last line")))
      yield* Effect.logWarning("sentiment score cache: a torn last line was cut").pipe(Effect.annotateLogs({ file }))
    }
    const scores = found.scores
    let needsNewline = found.needsNewline
    const lock = yield* Effect.makeSemaphore(1)

    const scoreMissing = (items: Parameters<SentimentScorerService["score"]>[0]) =>
      Effect.gen(function* () {
        const missing = new Map<string, (typeof items)[number]>()
        for (const item of items) {
          const key = versionKey(item)
          if (!scores.has(key) && !missing.has(key)) missing.set(key, item)
        }
        if (missing.size > 0) {
          const batch = [...missing.values()]
          const fresh = yield* inner.score(batch)
          if (fresh.length !== batch.length) return yield* new SentimentError({ detail: `scorer ${inner.id} gave ${fresh.length} scores for ${batch.length} articles` })
          const bad = fresh.findIndex((s) => !(s >= -1 && s <= 1))
          if (bad >= 0) return yield* new SentimentError({ detail: `scorer ${inner.id} gave ${fresh[bad]} for article ${versionKey(batch[bad])}, outside [-1, 1]` })
          const lines = batch.map((item, k) => JSON.stringify({ scorer: inner.id, key: versionKey(item), score: fresh[k] }) + "\n").join("")
          yield* fs.writeFileString(file, (needsNewline ? "\n" : "") + lines, { flag: "a" }).pipe(Effect.mapError(platform("cannot be appended to")))
          needsNewline = false
          batch.forEach((item, k) => scores.set(versionKey(item), fresh[k]))
        }
        return items.map((item) => scores.get(versionKey(item))!)
      })

    return {
      id: inner.id,
      score: (items) => lock.withPermits(1)(scoreMissing(items))
    } satisfies SentimentScorerService
  })

/** Wraps whichever SentimentScorer is provided in a cache kept in `file`. */
export const SentimentScoreCacheLive = (file: string): Layer.Layer<SentimentScorer, SentimentError, SentimentScorer | FileSystem.FileSystem> =>
  Layer.effect(
    SentimentScorer,
    Effect.flatMap(SentimentScorer, (inner) => cachedScorer(inner, file)).pipe(Effect.map(SentimentScorer.of))
  )
