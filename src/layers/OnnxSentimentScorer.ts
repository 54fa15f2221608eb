import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as nodePath from "node:path"
import type { Tokenizer } from "@huggingface/tokenizers"
import { Effect, Layer, type Scope } from "effect"
import * as ort from "onnxruntime-node"
import { checkReadableFile, MAX_BYTES } from "../config/files.js"
import { versionKey, type NewsEvent } from "../domain/News.js"
import { SentimentError, SentimentScorer, type SentimentScorerService } from "../services/SentimentScorer.js"

/** BERT's usual limit, used when tokenizer.json states none. */
export const DEFAULT_MAX_LENGTH = 512
/** Articles per inference call: bounds memory at 512 tokens each. */
export const BATCH_SIZE = 16
const MAX_JSON_BYTES = 64 * 1024 * 1024
const INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"] as const
type InputName = (typeof INPUT_NAMES)[number]

const failure = (modelDir: string, detail: string) => new SentimentError({ detail: `model folder ${modelDir}: ${detail}` })

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const readIn = (modelDir: string, name: string, maxBytes: number): Effect.Effect<Buffer, SentimentError> =>
  checkReadableFile(nodePath.join(modelDir, name), { maxBytes, what: name }).pipe(
    Effect.mapError((e) => failure(modelDir, e.detail)),
    Effect.zipRight(
      Effect.tryPromise({ try: () => fs.readFile(nodePath.join(modelDir, name)), catch: (e) => failure(modelDir, `${name} cannot be read (${errorText(e)})`) })
    )
  )

const exists = (file: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    fs.stat(file).then(
      () => true,
      () => false
    )
  )

const readJsonIn = (modelDir: string, name: string, maxBytes: number): Effect.Effect<unknown, SentimentError> =>
  readIn(modelDir, name, maxBytes).pipe(
    Effect.flatMap((bytes) =>
      Effect.try({ try: () => JSON.parse(bytes.toString("utf8")) as unknown, catch: (e) => failure(modelDir, `${name} is not valid JSON (${errorText(e)})`) })
    )
  )

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** The class names in the order of the model's logits, and where they came from. */
export interface LabelOrder {
  readonly labels: ReadonlyArray<string>
  readonly source: string
}

/** The label order: `labels.json` (an array of names) or else `config.json`'s `id2label`, as Hugging Face writes it. */
export const readLabelOrder = (modelDir: string): Effect.Effect<LabelOrder, SentimentError> =>
  Effect.gen(function* () {
    if (yield* exists(nodePath.join(modelDir, "labels.json"))) {
      const doc = yield* readJsonIn(modelDir, "labels.json", MAX_BYTES.yaml)
      if (!Array.isArray(doc) || doc.length < 2 || !doc.every((l) => typeof l === "string")) {
        return yield* failure(modelDir, `labels.json must be a JSON array of at least 2 label names, such as ["positive","negative","neutral"]`)
      }
      return { labels: doc as Array<string>, source: "labels.json" }
    }
    if (!(yield* exists(nodePath.join(modelDir, "config.json")))) {
      return yield* failure(modelDir, "neither labels.json nor config.json is there: the order of the model's labels is unknown")
    }
    const config = yield* readJsonIn(modelDir, "config.json", MAX_BYTES.yaml)
    const id2label = isRecord(config) ? config.id2label : undefined
    if (!isRecord(id2label)) return yield* failure(modelDir, "config.json has no id2label object (and there is no labels.json)")
    const n = Object.keys(id2label).length
    const labels: Array<string> = []
    for (let k = 0; k < n; k++) {
      const label = id2label[String(k)]
      if (typeof label !== "string") return yield* failure(modelDir, `config.json id2label must map 0 … ${n - 1} to label names; "${k}" is ${label === undefined ? "missing" : "not a string"}`)
      labels.push(label)
    }
    if (n < 2) return yield* failure(modelDir, "config.json id2label must name at least 2 labels")
    return { labels, source: "config.json id2label" }
  })

/** Where the positive and negative classes are among the logits. */
export const sentimentClasses = (modelDir: string, order: LabelOrder): Effect.Effect<{ readonly positive: number; readonly negative: number }, SentimentError> => {
  const lower = order.labels.map((l) => l.trim().toLowerCase())
  const positive = lower.indexOf("positive")
  const negative = lower.indexOf("negative")
  return positive < 0 || negative < 0
    ? Effect.fail(failure(modelDir, `the labels ${JSON.stringify(order.labels)} (from ${order.source}) must include "positive" and "negative"`))
    : Effect.succeed({ positive, negative })
}

/** P(positive) − P(negative) of one row of logits, by a numerically stable softmax. */
export const sentimentFromLogits = (logits: ArrayLike<number>, positive: number, negative: number): number => {
  let max = -Infinity
  for (let k = 0; k < logits.length; k++) max = Math.max(max, logits[k])
  let total = 0
  for (let k = 0; k < logits.length; k++) total += Math.exp(logits[k] - max)
  return (Math.exp(logits[positive] - max) - Math.exp(logits[negative] - max)) / total
}

/** The text a classifier reads: headline, then summary. */
export const articleText = (e: Pick<NewsEvent, "headline" | "summary">): string => {
  const summary = e.summary.trim()
  if (summary === "") return e.headline
  return /[.!?]\s*$/.test(e.headline) ? `${e.headline} ${summary}` : `${e.headline}. ${summary}`
}

interface Encoded {
  readonly ids: ReadonlyArray<number>
  readonly typeIds: ReadonlyArray<number>
}

/**
 * Encodes with the tokenizer's special tokens, keeping them when the text is too long: the text's own
 * tokens are cut at the end (Hugging Face's `truncation=True` for one sequence).
 */
const encodeTruncated = (tokenizer: Tokenizer, text: string, maxLength: number): Encoded => {
  // the package's .d.ts imports without extensions, so under NodeNext its Encoding type resolves to any
  const full: { readonly ids: ReadonlyArray<number>; readonly token_type_ids?: ReadonlyArray<number> } = tokenizer.encode(text, { return_token_type_ids: true })
  const typeIds = full.token_type_ids ?? full.ids.map(() => 0)
  if (full.ids.length <= maxLength) return { ids: full.ids, typeIds }
  const own: ReadonlyArray<number> = tokenizer.encode(text, { add_special_tokens: false }).ids
  const added = full.ids.length - own.length
  let start = -1
  for (let s = 0; s <= added && start < 0; s++) if (own.every((id, k) => full.ids[s + k] === id)) start = s
  if (start < 0 || added >= maxLength) return { ids: full.ids.slice(0, maxLength), typeIds: typeIds.slice(0, maxLength) }
  const keep = maxLength - added
  const cut = <A>(xs: ReadonlyArray<A>) => [...xs.slice(0, start + keep), ...xs.slice(start + own.length)]
  return { ids: cut(full.ids), typeIds: cut(typeIds) }
}

const positiveInt = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined)

const dimsText = (shape: ReadonlyArray<number | string>) => `[${shape.join(", ")}]`

/**
 * A FinBERT-style classifier exported to a folder: `model.onnx`, `tokenizer.json` (Hugging Face fast
 * tokenizer), and the label order (`labels.json`, else `config.json`'s `id2label`). Articles are
 * scored in batches; score = P(positive) − P(negative). Everything is checked when it loads.
 */
export const makeOnnxSentimentScorer = (modelDir: string): Effect.Effect<SentimentScorerService, SentimentError, Scope.Scope> =>
  Effect.gen(function* () {
    const modelBytes = yield* readIn(modelDir, "model.onnx", MAX_BYTES.onnx)
    const tokenizerJson = yield* readJsonIn(modelDir, "tokenizer.json", MAX_JSON_BYTES)
    const tokenizerConfig = (yield* exists(nodePath.join(modelDir, "tokenizer_config.json")))
      ? yield* readJsonIn(modelDir, "tokenizer_config.json", MAX_JSON_BYTES)
      : {}
    const order = yield* readLabelOrder(modelDir)
    const classes = yield* sentimentClasses(modelDir, order)
    const nLabels = order.labels.length

    if (!isRecord(tokenizerConfig)) return yield* failure(modelDir, "tokenizer_config.json must be a JSON object")
    // imported here, not with the module: only a deployment with an ONNX scorer needs it
    const { Tokenizer } = yield* Effect.promise(() => import("@huggingface/tokenizers"))
    const tokenizer = yield* Effect.try({
      try: () => {
        if (!isRecord(tokenizerJson)) throw new Error("expected a JSON object")
        const t = new Tokenizer(tokenizerJson, tokenizerConfig)
        t.encode("")
        return t
      },
      catch: (e) => failure(modelDir, `tokenizer.json cannot be used as a Hugging Face tokenizer (${errorText(e)})`)
    })

    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => ort.InferenceSession.create(modelBytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
        catch: (e) => failure(modelDir, `onnxruntime cannot load model.onnx (${errorText(e)})`)
      }),
      (s) => Effect.promise(() => s.release()).pipe(Effect.ignore)
    )

    const inputs: Array<{ readonly name: InputName; readonly type: "int64" | "int32" }> = []
    let fixedBatch: number | undefined
    let fixedLength: number | undefined
    for (const meta of session.inputMetadata) {
      if (!(INPUT_NAMES as ReadonlyArray<string>).includes(meta.name)) {
        return yield* failure(modelDir, `the graph's input '${meta.name}' is not one of ${INPUT_NAMES.join(", ")}`)
      }
      if (!meta.isTensor || (meta.type !== "int64" && meta.type !== "int32")) {
        return yield* failure(modelDir, `the graph's input '${meta.name}' must be an int64 (or int32) tensor [batch, sequence]${meta.isTensor ? `, it is ${meta.type}` : ""}`)
      }
      if (meta.shape.length !== 0 && meta.shape.length !== 2) {
        return yield* failure(modelDir, `the graph's input '${meta.name}' is ${dimsText(meta.shape)}, expected [batch, sequence]`)
      }
      fixedBatch ??= positiveInt(meta.shape[0])
      fixedLength ??= positiveInt(meta.shape[1])
      inputs.push({ name: meta.name as InputName, type: meta.type })
    }
    if (!inputs.some((i) => i.name === "input_ids")) return yield* failure(modelDir, `the graph has no input 'input_ids' (it has ${session.inputNames.join(", ")})`)

    const outputName = session.outputNames.includes("logits") ? "logits" : session.outputNames[0]
    const output = session.outputMetadata.find((m) => m.name === outputName)
    if (output === undefined) return yield* failure(modelDir, "the graph has no output")
    if (!output.isTensor || output.type !== "float32") return yield* failure(modelDir, `the graph's output '${outputName}' must be a float32 tensor [batch, ${nLabels}]`)
    if (output.shape.length !== 0 && (output.shape.length !== 2 || (typeof output.shape[1] === "number" && output.shape[1] !== nLabels))) {
      return yield* failure(modelDir, `the graph's output '${outputName}' is ${dimsText(output.shape)}, expected [batch, n_labels] = [batch, ${nLabels}] (${order.source} names ${nLabels} labels)`)
    }

    const truncation = isRecord(tokenizerJson) && isRecord(tokenizerJson.truncation) ? positiveInt(tokenizerJson.truncation.max_length) : undefined
    const maxLength = Math.min(truncation ?? DEFAULT_MAX_LENGTH, fixedLength ?? Infinity)
    const padding = isRecord(tokenizerJson) && isRecord(tokenizerJson.padding) ? tokenizerJson.padding.pad_id : undefined
    const padId = typeof padding === "number" ? padding : (tokenizer.token_to_id("[PAD]") ?? 0)
    const filler = encodeTruncated(tokenizer, "", maxLength)
    const batchSize = fixedBatch ?? BATCH_SIZE

    const digest = createHash("sha256").update(modelBytes).digest("hex")

    const runBatch = (batch: ReadonlyArray<NewsEvent>): Effect.Effect<ReadonlyArray<number>, SentimentError> =>
      Effect.tryPromise({
        try: async () => {
          const rows = batch.map((e) => encodeTruncated(tokenizer, articleText(e), maxLength))
          while (rows.length < batchSize && fixedBatch !== undefined) rows.push(filler)
          const length = fixedLength ?? Math.max(...rows.map((r) => r.ids.length))
          const columns: Record<InputName, Array<number>> = { input_ids: [], attention_mask: [], token_type_ids: [] }
          for (const row of rows) {
            for (let k = 0; k < length; k++) {
              const real = k < row.ids.length
              columns.input_ids.push(real ? row.ids[k] : padId)
              columns.attention_mask.push(real ? 1 : 0)
              columns.token_type_ids.push(real ? row.typeIds[k] : 0)
            }
          }
          const feeds: Record<string, ort.Tensor> = {}
          for (const input of inputs) {
            const values = columns[input.name]
            feeds[input.name] =
              input.type === "int64"
                ? new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), [rows.length, length])
                : new ort.Tensor("int32", Int32Array.from(values), [rows.length, length])
          }
          const result = (await session.run(feeds))[outputName]
          if (result === undefined || !(result.data instanceof Float32Array) || result.dims.length !== 2 || result.dims[0] !== rows.length || result.dims[1] !== nLabels) {
            throw new Error(
              `the graph's output '${outputName}' came out as ${result === undefined ? "nothing" : dimsText(result.dims)}, expected [batch, n_labels] = [${rows.length}, ${nLabels}]`
            )
          }
          const data = result.data
          return batch.map((e, b) => {
            const score = sentimentFromLogits(data.subarray(b * nLabels, (b + 1) * nLabels), classes.positive, classes.negative)
            if (!Number.isFinite(score)) throw new Error(`the logits of article ${versionKey(e)} are not finite`)
            return score
          })
        },
        catch: (e) => failure(modelDir, errorText(e))
      })

    return {
      id: `onnx:${digest.slice(0, 12)}`,
      score: (items) =>
        Effect.forEach(chunks(items, batchSize), runBatch).pipe(
          Effect.map((parts) => parts.flat()),
          Effect.withSpan("OnnxSentimentScorer.score", { attributes: { articles: items.length } })
        )
    } satisfies SentimentScorerService
  })

const chunks = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let k = 0; k < items.length; k += size) out.push(items.slice(k, k + size))
  return out
}

export const OnnxSentimentScorerLive = (modelDir: string): Layer.Layer<SentimentScorer, SentimentError> =>
  Layer.scoped(SentimentScorer, Effect.map(makeOnnxSentimentScorer(modelDir), SentimentScorer.of))
