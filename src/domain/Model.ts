import { Schema } from "effect"
import { IndicatorSpec, Ticker } from "./Config.js"

export const LayoutName = Schema.Literal("finrl-stock-trading-df", "finrl-stock-trading-np")
export type LayoutName = typeof LayoutName.Type

/** Stable-Baselines3 VecNormalize statistics: obs' = clip((obs − mean) / sqrt(var + epsilon), ±clip_obs). */
export const Normalization = Schema.Struct({
  mean: Schema.Array(Schema.Number),
  var: Schema.Array(Schema.Number.pipe(Schema.nonNegative())),
  clip_obs: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 10 }),
  epsilon: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-8 })
})
export type Normalization = typeof Normalization.Type

/** `model_registry/<name>/<version>/model.yaml`. Fields beyond these are kept but not interpreted. */
export const ModelCard = Schema.Struct({
  name: Schema.String,
  version: Schema.Union(Schema.String, Schema.Number),
  tickers: Schema.Array(Ticker).pipe(Schema.minItems(1)),
  tech_indicators: Schema.Array(IndicatorSpec),
  observation: Schema.Struct({
    layout: LayoutName,
    size: Schema.Number.pipe(Schema.int(), Schema.positive())
  }),
  action: Schema.Struct({
    size: Schema.Number.pipe(Schema.int(), Schema.positive()),
    hmax: Schema.Number.pipe(Schema.int(), Schema.positive())
  }),
  onnx: Schema.Struct({
    file: Schema.optionalWith(Schema.String, { default: () => "model.onnx" }),
    sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "sha256 must be 64 lower-case hex digits" })),
    input: Schema.String,
    output: Schema.String
  }),
  normalization: Schema.optional(Normalization),
  description: Schema.optional(Schema.String)
})
export type ModelCard = typeof ModelCard.Type
