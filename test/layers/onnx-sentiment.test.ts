import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { NewsEvent } from "../../src/domain/News.js"
import { articleText, makeOnnxSentimentScorer, OnnxSentimentScorerLive } from "../../src/layers/OnnxSentimentScorer.js"
import { SentimentError, SentimentScorer } from "../../src/services/SentimentScorer.js"
import { textClassifierFiles, type ClassifierFolderOptions } from "../support/onnx-text-classifier.js"
import { tmpTree } from "../support/tmp.js"

const T0 = Date.parse("2026-03-02T14:30:00Z")

const article = (id: number, headline: string, summary = ""): NewsEvent => ({
  id,
  createdAt: T0,
  updatedAt: T0,
  receivedAt: T0,
  symbols: ["AAPL"],
  headline,
  summary
})

const GOOD = article(1, "Apple beats estimates, shares surge to record")
const BAD = article(2, "Apple misses estimates", "The stock plunges on a lawsuit.")
const FLAT = article(3, "Apple shares")

const NATIVE = ["positive", "negative", "neutral"]
const SWAPPED = ["negative", "positive", "neutral"]

const folder = (options: ClassifierFolderOptions) => tmpTree(textClassifierFiles(options))

const scoresIn = (dir: string, items: ReadonlyArray<NewsEvent>) =>
  Effect.scoped(Effect.flatMap(makeOnnxSentimentScorer(dir), (scorer) => scorer.score(items)))

const loadError = (dir: string) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(scoresIn(dir, [GOOD]))
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
    expect(exit.cause.error).toBeInstanceOf(SentimentError)
    return exit.cause.error.message
  })

describe("OnnxSentimentScorer on a tiny FinBERT-style model", () => {
  it.scoped("scores positive headlines above 0, negative below, a neutral one at 0; id is onnx: and the model's sha256 prefix", () =>
    Effect.gen(function* () {
      const dir = folder({ labelsJson: NATIVE })
      const scorer = yield* makeOnnxSentimentScorer(dir)
      const [good, bad, flat] = yield* scorer.score([GOOD, BAD, FLAT])
      expect(good).toBeGreaterThan(0.9)
      expect(bad).toBeLessThan(-0.9)
      expect(flat).toBeCloseTo(0, 12)
      const sha = createHash("sha256").update(fs.readFileSync(path.join(dir, "model.onnx"))).digest("hex")
      expect(scorer.id).toBe(`onnx:${sha.slice(0, 12)}`)
    })
  )

  it.effect("follows the label order of labels.json: swapped labels swap the sign", () =>
    Effect.gen(function* () {
      const native = yield* scoresIn(folder({ labelsJson: NATIVE }), [GOOD, BAD])
      const swapped = yield* scoresIn(folder({ labelsJson: SWAPPED }), [GOOD, BAD])
      expect(swapped[0]).toBeLessThan(0)
      expect(swapped[1]).toBeGreaterThan(0)
      expect(swapped[0]).toBeCloseTo(-native[0], 6)
      expect(swapped[1]).toBeCloseTo(-native[1], 6)
    })
  )

  it.effect("reads the label order from config.json id2label when there is no labels.json; labels.json wins when both are there", () =>
    Effect.gen(function* () {
      const [good, bad] = yield* scoresIn(folder({ id2label: NATIVE }), [GOOD, BAD])
      expect(good).toBeGreaterThan(0.9)
      expect(bad).toBeLessThan(-0.9)
      const [goodSwapped] = yield* scoresIn(folder({ id2label: ["Negative", "Positive", "Neutral"] }), [GOOD])
      expect(goodSwapped).toBeLessThan(-0.9)
      const [both] = yield* scoresIn(folder({ labelsJson: NATIVE, id2label: SWAPPED }), [GOOD])
      expect(both).toBeGreaterThan(0.9)
    })
  )

  it.effect("a batch scores each article as alone: padding is masked, order kept, more articles than one batch", () =>
    Effect.gen(function* () {
      const dir = folder({ labelsJson: NATIVE })
      const kinds = [GOOD, FLAT, BAD, article(4, "Apple record profit after a quarter of loss", "Shares surge.")]
      const alone = yield* Effect.forEach(kinds, (item) => scoresIn(dir, [item]))
      const items = Array.from({ length: 21 }, (_, k) => kinds[k % kinds.length])
      const together = yield* scoresIn(dir, items)
      expect(together).toHaveLength(items.length)
      together.forEach((score, k) => expect(score).toBeCloseTo(alone[k % kinds.length][0], 6))
      expect(yield* scoresIn(dir, [])).toEqual([])
    })
  )

  it.effect("feeds only the inputs the graph declares: input_ids alone, or with token_type_ids too", () =>
    Effect.gen(function* () {
      const [idsOnly] = yield* scoresIn(folder({ labelsJson: NATIVE, inputs: ["input_ids"] }), [GOOD])
      expect(idsOnly).toBeGreaterThan(0.9)
      const all = yield* scoresIn(folder({ labelsJson: NATIVE, inputs: ["input_ids", "attention_mask", "token_type_ids"] }), [GOOD, BAD])
      expect(all[0]).toBeGreaterThan(0.9)
      expect(all[1]).toBeLessThan(-0.9)
    })
  )

  it.effect("truncates to tokenizer.json's max_length, keeping [CLS] and [SEP]", () =>
    Effect.gen(function* () {
      const late = article(5, "Apple shares beats")
      const [full] = yield* scoresIn(folder({ labelsJson: NATIVE }), [late])
      const [cut] = yield* scoresIn(folder({ labelsJson: NATIVE, maxLength: 4 }), [late])
      expect(full).toBeGreaterThan(0.5)
      expect(cut).toBeCloseTo(0, 12)
    })
  )

  it.effect("reads headline then summary", () =>
    Effect.sync(() => {
      expect(articleText(article(1, "Apple beats", "Shares surge."))).toBe("Apple beats. Shares surge.")
      expect(articleText(article(1, "Apple beats!", "Shares surge."))).toBe("Apple beats! Shares surge.")
      expect(articleText(article(1, "Apple beats"))).toBe("Apple beats")
    })
  )

  it.effect("is also a Layer for the SentimentScorer tag", () =>
    Effect.gen(function* () {
      const scorer = yield* SentimentScorer
      const [good] = yield* scorer.score([GOOD])
      expect(good).toBeGreaterThan(0.9)
    }).pipe(Effect.provide(OnnxSentimentScorerLive(folder({ labelsJson: NATIVE }))))
  )
})

describe("OnnxSentimentScorer refuses a folder it cannot use, naming the folder and the problem", () => {
  it.effect("no tokenizer.json", () =>
    Effect.gen(function* () {
      const dir = folder({ labelsJson: NATIVE })
      fs.rmSync(path.join(dir, "tokenizer.json"))
      const message = yield* loadError(dir)
      expect(message).toContain(dir)
      expect(message).toContain("file not found (tokenizer.json)")
    })
  )

  it.effect("no model.onnx", () =>
    Effect.gen(function* () {
      const dir = folder({ labelsJson: NATIVE })
      fs.rmSync(path.join(dir, "model.onnx"))
      expect(yield* loadError(dir)).toBe(`sentiment: model folder ${dir}: file not found (model.onnx)`)
    })
  )

  it.effect("tokenizer.json that is not JSON, or not a tokenizer", () =>
    Effect.gen(function* () {
      const dir = folder({ labelsJson: NATIVE })
      fs.writeFileSync(path.join(dir, "tokenizer.json"), '{"version": "1.0", "model": ')
      expect(yield* loadError(dir)).toMatch(new RegExp(`^sentiment: model folder ${dir}: tokenizer.json is not valid JSON`))
      fs.writeFileSync(path.join(dir, "tokenizer.json"), '{"version": "1.0"}')
      expect(yield* loadError(dir)).toMatch(new RegExp(`^sentiment: model folder ${dir}: tokenizer.json cannot be used as a Hugging Face tokenizer`))
    })
  )

  it.effect("no label order at all, labels without positive/negative, id2label with a gap", () =>
    Effect.gen(function* () {
      const none = folder({})
      expect(yield* loadError(none)).toBe(`sentiment: model folder ${none}: neither labels.json nor config.json is there: the order of the model's labels is unknown`)
      const generic = folder({ id2label: ["LABEL_0", "LABEL_1", "LABEL_2"] })
      expect(yield* loadError(generic)).toBe(
        `sentiment: model folder ${generic}: the labels ["LABEL_0","LABEL_1","LABEL_2"] (from config.json id2label) must include "positive" and "negative"`
      )
      const gap = folder({ labelsJson: NATIVE })
      fs.rmSync(path.join(gap, "labels.json"))
      fs.writeFileSync(path.join(gap, "config.json"), JSON.stringify({ id2label: { "0": "positive", "2": "negative" } }))
      expect(yield* loadError(gap)).toBe(`sentiment: model folder ${gap}: config.json id2label must map 0 … 1 to label names; "1" is missing`)
    })
  )

  it.effect("a graph whose output is not [batch, n_labels], with an input it cannot feed, or that onnxruntime cannot load", () =>
    Effect.gen(function* () {
      const twoLabels = folder({ labelsJson: ["positive", "negative"] })
      expect(yield* loadError(twoLabels)).toBe(
        `sentiment: model folder ${twoLabels}: the graph's output 'logits' is [batch, 3], expected [batch, n_labels] = [batch, 2] (labels.json names 2 labels)`
      )
      const positions = folder({ labelsJson: NATIVE, extraInput: "position_ids" })
      expect(yield* loadError(positions)).toBe(
        `sentiment: model folder ${positions}: the graph's input 'position_ids' is not one of input_ids, attention_mask, token_type_ids`
      )
      const garbage = folder({ labelsJson: NATIVE })
      fs.writeFileSync(path.join(garbage, "model.onnx"), "not a model")
      expect(yield* loadError(garbage)).toMatch(new RegExp(`^sentiment: model folder ${garbage}: onnxruntime cannot load model.onnx`))
    })
  )
})
