import { Schema } from "effect"

/** A ticker symbol as the broker spells it, e.g. `AAPL`. */
export const Ticker = Schema.String.pipe(
  Schema.pattern(/^[A-Z][A-Z0-9.\-]{0,14}$/, { message: () => "a ticker is upper-case letters, digits, '.' or '-' (e.g. AAPL, BRK.B)" })
)
export type Ticker = typeof Ticker.Type

export const Interval = Schema.Literal("1m", "5m", "15m", "1h", "1d")
export type Interval = typeof Interval.Type

export const intervalMillis: Record<Interval, number> = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "1d": 86_400_000
}

const NonNegative = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const Positive = Schema.Number.pipe(Schema.finite(), Schema.positive())
const Fraction = Schema.Number.pipe(Schema.finite(), Schema.between(0, 1))

/** An indicator: a FinRL/stockstats name (`macd`, `rsi_30`) or a technicalindicators spec (`{ name: RSI, period: 14 }`). */
export const IndicatorSpec = Schema.Union(
  Schema.String.pipe(Schema.minLength(1)),
  Schema.Struct({ name: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))
)
export type IndicatorSpec = typeof IndicatorSpec.Type

/** FinRL's environment config (`stock_trading_env_config.yaml`): what the agent saw in training. */
export const EnvironmentConfig = Schema.Struct({
  tech_indicators: Schema.Array(IndicatorSpec).pipe(Schema.minItems(1)),
  hmax: Schema.Number.pipe(Schema.int(), Schema.positive()),
  initial_amount: Positive,
  buy_cost_pct: Fraction,
  sell_cost_pct: Fraction,
  turbulence_threshold: Schema.optional(Schema.NullOr(Positive)),
  // FinRL keys that do not change serving; accepted so a training config can be used as is.
  reward_scaling: Schema.optional(Schema.Number),
  stock_dim: Schema.optional(Schema.Number),
  state_space: Schema.optional(Schema.Number),
  action_space: Schema.optional(Schema.Number),
  print_verbosity: Schema.optional(Schema.Number)
})
export type EnvironmentConfig = typeof EnvironmentConfig.Type

export const RiskConfig = Schema.Struct({
  max_position_value: Schema.optional(Positive),
  max_order_value: Schema.optional(Positive),
  max_gross_exposure: Schema.optional(Positive),
  max_orders_per_step: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  daily_loss_limit: Schema.optional(Positive),
  max_consecutive_rejections: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive()))
})
export type RiskConfig = typeof RiskConfig.Type

export const FillPrice = Schema.Literal("next_open", "close")
export type FillPrice = typeof FillPrice.Type

export const SimulationConfig = Schema.Struct({
  /** `next_open`: an order decided on bar t fills at bar t+1's open (no look-ahead); `close`: at bar t's close, as FinRL's env books it. */
  fill_price: Schema.optionalWith(FillPrice, { default: () => "next_open" as const }),
  slippage_bps: Schema.optionalWith(NonNegative, { default: () => 0 }),
  /** Cash the simulated account starts with; defaults to the environment's `initial_amount`. */
  initial_cash: Schema.optional(Positive)
})
export type SimulationConfig = typeof SimulationConfig.Type

/** The deployment config: which agent trades what, where, how. Paths are relative to this file. */
export const DeploymentConfig = Schema.Struct({
  tickers: Schema.Array(Ticker).pipe(Schema.minItems(1)),
  interval: Interval,
  model: Schema.String,
  environment: Schema.String,
  data: Schema.optional(Schema.Struct({ bars: Schema.String })),
  risk: Schema.optionalWith(RiskConfig, { default: () => ({}) }),
  simulation: Schema.optionalWith(SimulationConfig, { default: () => ({ fill_price: "next_open" as const, slippage_bps: 0 }) }),
  journal: Schema.optional(Schema.String),
  deployment_id: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/)))
})
export type DeploymentConfig = typeof DeploymentConfig.Type
