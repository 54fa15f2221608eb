import { ParseResult, Schema } from "effect"
import * as YAML from "yaml"
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

const Finite = Schema.Number.pipe(Schema.finite())

/** The quantiles a feature's training statistics state, in order. */
export const QUANTILES = ["p01", "p05", "p25", "p50", "p75", "p95", "p99"] as const
export type QuantileName = (typeof QUANTILES)[number]

/**
 * One observation feature's training statistics: its moments, range and quantiles, and the
 * population stability index's bins — `edges` (the training deciles, duplicates merged) cut the
 * line into `edges.length + 1` bins, `shares` is the training's share in each.
 */
export const FeatureStats = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)),
  mean: Finite,
  std: Finite.pipe(Schema.nonNegative()),
  min: Finite,
  max: Finite,
  p01: Finite,
  p05: Finite,
  p25: Finite,
  p50: Finite,
  p75: Finite,
  p95: Finite,
  p99: Finite,
  edges: Schema.Array(Finite),
  shares: Schema.Array(Finite.pipe(Schema.between(0, 1))).pipe(Schema.minItems(1)),
  /** The largest rolling PSI the training observations themselves show over `psi_window` observations (their order kept). */
  psi_baseline: Schema.optional(Finite.pipe(Schema.nonNegative()))
}).pipe(
  Schema.filter((f) => {
    const chain = [f.min, ...QUANTILES.map((q) => f[q]), f.max]
    const names = ["min", ...QUANTILES, "max"]
    const at = chain.findIndex((v, i) => i > 0 && v < chain[i - 1])
    if (at > 0) return { path: [names[at]], message: `${f.name}: ${names[at]} ${chain[at]} is below ${names[at - 1]} ${chain[at - 1]} (min ≤ p01 ≤ … ≤ p99 ≤ max)` }
    if (f.edges.some((e, i) => i > 0 && e <= f.edges[i - 1])) return { path: ["edges"], message: `${f.name}: the bin edges must increase` }
    if (f.shares.length !== f.edges.length + 1) return { path: ["shares"], message: `${f.name}: ${f.shares.length} shares for ${f.edges.length + 1} bins` }
    const total = f.shares.reduce((a, b) => a + b, 0)
    if (Math.abs(total - 1) > 1e-6) return { path: ["shares"], message: `${f.name}: the shares add up to ${total}, not 1` }
    return true
  })
)
export type FeatureStats = typeof FeatureStats.Type

/**
 * The training distribution of every observation feature (model.yaml `observation_stats`), in the
 * observation's order: from a sample of training observations, or — `vecnormalize` — a normal
 * approximation from VecNormalize's mean and variance (no PSI baselines: the order is unknown).
 */
export const ObservationStats = Schema.Struct({
  source: Schema.Literal("sample", "vecnormalize"),
  /** Observations the statistics summarise (0 when VecNormalize's count is unknown). */
  observations: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  /** The window the features' `psi_baseline` was measured over (absent when there is none). */
  psi_window: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  features: Schema.Array(FeatureStats).pipe(Schema.minItems(1))
})
export type ObservationStats = typeof ObservationStats.Type

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
  observation_stats: Schema.optional(ObservationStats),
  description: Schema.optional(Schema.String)
}).pipe(
  Schema.filter((card) =>
    card.observation_stats === undefined || card.observation_stats.features.length === card.observation.size
      ? true
      : { path: ["observation_stats", "features"], message: `has ${card.observation_stats.features.length} features, the observation has ${card.observation.size} values` }
  )
)
export type ModelCard = typeof ModelCard.Type

/** A card as model.yaml: block style, but each feature of `observation_stats` on one line (31 short lines, not a thousand). */
export const modelCardYaml = (card: object): string => {
  const doc = new YAML.Document(card)
  const features = doc.getIn(["observation_stats", "features"], true)
  if (YAML.isSeq(features)) for (const item of features.items) if (YAML.isMap(item)) item.flow = true
  return doc.toString({ lineWidth: 0 })
}
