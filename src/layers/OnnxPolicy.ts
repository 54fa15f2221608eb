import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as nodePath from "node:path"
import { Effect, Layer } from "effect"
import * as ort from "onnxruntime-node"
import { checkReadableFile, MAX_BYTES } from "../config/files.js"
import { decodeDocument, parseYaml } from "../config/yaml.js"
import { ModelCard } from "../domain/Model.js"
import { normalizeObservation } from "../core/normalize.js"
import { observationSize } from "../core/layouts.js"
import { InferenceError, ModelError, Policy } from "../services/Policy.js"

const fail = (modelDir: string, detail: string) => Effect.fail(new ModelError({ modelDir, detail }))

/** Refuses a model file that is not a regular file or is over its bound, before reading it. */
const checkModelFile = (modelDir: string, file: string, maxBytes: number, what: string) =>
  checkReadableFile(file, { maxBytes, what }).pipe(Effect.mapError((e) => new ModelError({ modelDir, detail: e.message })))

/** Reads and checks `model.yaml` of a registry folder. */
export const readModelCard = (modelDir: string): Effect.Effect<ModelCard, ModelError> =>
  Effect.gen(function* () {
    const file = nodePath.join(modelDir, "model.yaml")
    yield* checkModelFile(modelDir, file, MAX_BYTES.yaml, "model.yaml")
    const text = yield* Effect.tryPromise({
      try: () => fs.readFile(file, "utf8"),
      catch: () => new ModelError({ modelDir, detail: "model.yaml not found" })
    })
    const card = yield* parseYaml(file, text).pipe(
      Effect.flatMap((doc) => decodeDocument(ModelCard, doc, { unknownKeys: "ignore" })),
      Effect.mapError((e) => new ModelError({ modelDir, detail: e.message }))
    )
    const n = card.tickers.length
    const expected = observationSize(card.observation.layout, n, card.tech_indicators.length)
    if (card.observation.size !== expected) {
      return yield* fail(modelDir, `observation.size is ${card.observation.size}, but layout ${card.observation.layout} with ${n} tickers and ${card.tech_indicators.length} indicators has ${expected}`)
    }
    if (card.action.size !== n) return yield* fail(modelDir, `action.size is ${card.action.size}, but the model trades ${n} tickers`)
    if (card.normalization !== undefined && (card.normalization.mean.length !== expected || card.normalization.var.length !== expected)) {
      return yield* fail(modelDir, `normalization.mean/var must have ${expected} values (the observation size)`)
    }
    return card
  })

const shapeMatches = (shape: ReadonlyArray<number | string>, size: number): boolean =>
  shape.length === 2 && (typeof shape[0] === "string" || shape[0] === 1 || shape[0] === -1) && shape[1] === size

/**
 * The policy from a model registry folder, run with onnxruntime-node. At load it verifies the
 * file's sha256 and that the graph's input/output names and shapes are the ones model.yaml states.
 */
export const OnnxPolicyLive = (modelDir: string): Layer.Layer<Policy, ModelError> =>
  Layer.scoped(
    Policy,
    Effect.gen(function* () {
      const card = yield* readModelCard(modelDir)
      const file = nodePath.resolve(modelDir, card.onnx.file)
      yield* checkModelFile(modelDir, file, MAX_BYTES.onnx, `the ONNX file (onnx.file in model.yaml)`)
      const bytes = yield* Effect.tryPromise({
        try: () => fs.readFile(file),
        catch: () => new ModelError({ modelDir, detail: `ONNX file not found: ${card.onnx.file}` })
      })
      const digest = createHash("sha256").update(bytes).digest("hex")
      if (digest !== card.onnx.sha256) {
        return yield* fail(modelDir, `sha256 of ${card.onnx.file} is ${digest}, model.yaml says ${card.onnx.sha256}`)
      }
      const session = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
          catch: (e) => new ModelError({ modelDir, detail: `onnxruntime cannot load ${card.onnx.file}: ${(e as Error).message}` })
        }),
        (s) => Effect.promise(() => s.release()).pipe(Effect.ignore)
      )
      const input = session.inputMetadata.find((m) => m.name === card.onnx.input)
      const output = session.outputMetadata.find((m) => m.name === card.onnx.output)
      if (input === undefined) return yield* fail(modelDir, `the graph has no input '${card.onnx.input}' (it has ${session.inputNames.join(", ")})`)
      if (output === undefined) return yield* fail(modelDir, `the graph has no output '${card.onnx.output}' (it has ${session.outputNames.join(", ")})`)
      if (input.isTensor && (input.type !== "float32" || !shapeMatches(input.shape, card.observation.size))) {
        return yield* fail(modelDir, `input '${input.name}' is ${input.type}[${input.shape.join(",")}], model.yaml says float32[batch,${card.observation.size}]`)
      }
      if (output.isTensor && (output.type !== "float32" || !shapeMatches(output.shape, card.action.size))) {
        return yield* fail(modelDir, `output '${output.name}' is ${output.type}[${output.shape.join(",")}], model.yaml says float32[batch,${card.action.size}]`)
      }
      const normalization = card.normalization
      return Policy.of({
        card,
        modelDir,
        act: (observation) =>
          Effect.tryPromise({
            try: async () => {
              const x = normalization === undefined ? observation : normalizeObservation(observation, normalization)
              const tensor = new ort.Tensor("float32", Float32Array.from(x), [1, x.length])
              const result = await session.run({ [card.onnx.input]: tensor })
              const data = result[card.onnx.output]?.data
              if (!(data instanceof Float32Array) || data.length !== card.action.size) {
                throw new Error(`output '${card.onnx.output}' has ${data?.length ?? 0} values, expected ${card.action.size}`)
              }
              return Float32Array.from(data)
            },
            catch: (e) => new InferenceError({ detail: (e as Error).message })
          })
      })
    })
  )
