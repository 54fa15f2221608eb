import { ParseResult, Schema } from "effect"
import { IndicatorSpec, Ticker } from "./Config.js"

export const LayoutName = Schema.Literal("finrl-stock-trading-df", "finrl-stock-trading-np")
export type LayoutName = typeof LayoutName.Type

/** Stable-Baselines3 VecNormalize statistics: obs' = clip((obs − mean) / sqrt(var + epsilon), ±clip_obs). */
export const Normalization = Schema.Struct({
  mean: Schema.Array(Schema.Number.pipe(Schema.finite())),
  var: Schema.Array(Schema.Number.pipe(Schema.finite(), Schema.nonNegative())),
  clip_obs: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 10 }),
  epsilon: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-8 })
})
export type Normalization = typeof Normalization.Type

/**
 * A VecNormalize's statistics as Stable-Baselines3 names its attributes (`obs_rms.mean`,
 * `obs_rms.var`, `clip_obs`, `epsilon`), written to YAML or JSON on the Python side; the reward's
 * settings are accepted and ignored (a policy never sees rewards).
 */
export const VecNormalizeStats = Schema.Struct({
  obs_rms: Schema.Struct({
    mean: Schema.Array(Schema.Number.pipe(Schema.finite())),
    var: Schema.Array(Schema.Number.pipe(Schema.finite(), Schema.nonNegative())),
    count: Schema.optional(Schema.Number)
  }),
  clip_obs: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 10 }),
  epsilon: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-8 }),
  norm_obs: Schema.optional(Schema.Boolean),
  norm_reward: Schema.optional(Schema.Boolean),
  clip_reward: Schema.optional(Schema.Number),
  gamma: Schema.optional(Schema.Number),
  training: Schema.optional(Schema.Boolean)
})
export type VecNormalizeStats = typeof VecNormalizeStats.Type

/**
 * A graph input or output name. torch names outputs with bare numbers (`53`), which YAML reads as a
 * number when unquoted: a whole number is taken as its digits.
 */
export const TensorName = Schema.transformOrFail(Schema.Union(Schema.String.pipe(Schema.minLength(1)), Schema.Number), Schema.String, {
  strict: true,
  decode: (name, _, ast) =>
    typeof name === "string"
      ? ParseResult.succeed(name)
      : Number.isSafeInteger(name) && name >= 0
        ? ParseResult.succeed(String(name))
        : ParseResult.fail(new ParseResult.Type(ast, name, `${name} is not a tensor name as written: quote it`)),
  encode: (name) => ParseResult.succeed(name)
})

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
    input: TensorName,
    output: TensorName
  }),
  normalization: Schema.optional(Normalization),
  description: Schema.optional(Schema.String)
})
export type ModelCard = typeof ModelCard.Type
