/**
 * One dry run of an ONNX graph with onnxruntime, as OnnxPolicy will run it (one observation of
 * zeros): proves the file loads and runs, and gives every output's actual type and dimensions,
 * which `register` chooses the action by (exporters often leave output shapes unstated).
 */
import { Effect } from "effect"
import * as ort from "onnxruntime-node"
import type { ObservedOutput } from "../core/onnx-inspect.js"

/** Runs the graph once; fails with the reason onnxruntime gives. */
export const probeOnnx = (bytes: Uint8Array, input: { readonly name: string; readonly size: number }): Effect.Effect<ReadonlyArray<ObservedOutput>, string> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
      catch: (e) => `onnxruntime cannot load it: ${(e as Error).message}`
    }),
    (session) =>
      Effect.tryPromise({
        try: async () => {
          const result = await session.run({ [input.name]: new ort.Tensor("float32", new Float32Array(input.size), [1, input.size]) })
          return session.outputNames.map((name): ObservedOutput => {
            const value = result[name]
            return value === undefined ? { name, type: "missing", dims: [] } : { name, type: value.type, dims: [...value.dims] }
          })
        },
        catch: (e) => `onnxruntime cannot run it on one observation of ${input.size} values: ${(e as Error).message}`
      }),
    (session) => Effect.promise(() => session.release()).pipe(Effect.ignore)
  )
