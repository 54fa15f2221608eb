import { Context, Data, Effect } from "effect"
import type { ModelCard } from "../domain/Model.js"

/** The model in the registry is unusable: the CLI exits 2 naming what is wrong. */
export class ModelError extends Data.TaggedError("ModelError")<{ readonly modelDir: string; readonly detail: string }> {
  override get message() {
    return `model ${this.modelDir}: ${this.detail}`
  }
}

export class InferenceError extends Data.TaggedError("InferenceError")<{ readonly detail: string }> {
  override get message() {
    return `inference failed: ${this.detail}`
  }
}

export interface PolicyService {
  readonly card: ModelCard
  readonly modelDir: string
  /** Runs the policy once on a (normalised) observation; returns the raw action vector. */
  readonly act: (observation: Float64Array) => Effect.Effect<Float32Array, InferenceError>
}

export class Policy extends Context.Tag("rl-paper-trader/Policy")<Policy, PolicyService>() {}
