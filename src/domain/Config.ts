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

const Costs = Schema.Union(Fraction, Schema.Array(Fraction).pipe(Schema.minItems(1)))
const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/**
 * The environment file as written: this project's form (`tech_indicators`, one cost for all) or
 * FinRL's `env_kwargs` as its notebooks save them (`tech_indicator_list`, per-stock cost lists,
 * `num_stock_shares`, the sizes, and `turbulence_threshold` / `risk_indicator_col` beside them).
 * {@link resolveEnvironment} (src/config/environment.ts) checks it against the tickers.
 */
export const EnvironmentFile = Schema.Struct({
  tech_indicators: Schema.optional(Schema.Array(IndicatorSpec).pipe(Schema.minItems(1))),
  tech_indicator_list: Schema.optional(Schema.Array(IndicatorSpec).pipe(Schema.minItems(1))),
  hmax: Schema.Number.pipe(Schema.int(), Schema.positive()),
  initial_amount: Positive,
  buy_cost_pct: Costs,
  sell_cost_pct: Costs,
  num_stock_shares: Schema.optional(Schema.Array(Count)),
  turbulence_threshold: Schema.optional(Schema.NullOr(Positive)),
  risk_indicator_col: Schema.optional(Schema.String),
  stock_dim: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  state_space: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  action_space: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  // FinRL keys that do not change serving; accepted so a training config can be used as is.
  reward_scaling: Schema.optional(Schema.Number),
  print_verbosity: Schema.optional(Schema.Number)
})
export type EnvironmentFile = typeof EnvironmentFile.Type

/** A cost fraction for every ticker, or one per ticker by symbol (FinRL's lists, when their values differ). */
export type CostPct = number | Readonly<Record<string, number>>

/** FinRL's environment settings, resolved for a deployment's tickers: what the agent saw in training. */
export interface EnvironmentConfig {
  readonly tech_indicators: ReadonlyArray<IndicatorSpec>
  readonly hmax: number
  readonly initial_amount: number
  readonly buy_cost_pct: CostPct
  readonly sell_cost_pct: CostPct
  /** Shares held at the start of a simulation (FinRL's `num_stock_shares`), by ticker; empty when none. */
  readonly initial_holdings: Readonly<Record<string, number>>
  readonly turbulence_threshold?: number | null | undefined
  /** FinRL's `state_space`, when the file states it: checked against the model's observation size. */
  readonly state_space?: number | undefined
}

export const RiskConfig = Schema.Struct({
  max_position_value: Schema.optional(Positive),
  max_order_value: Schema.optional(Positive),
  max_gross_exposure: Schema.optional(Positive),
  max_orders_per_step: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  /** Loss in one session day, in account currency, that trips the kill switch. */
  daily_loss_limit: Schema.optional(Positive),
  /** Rejections in a row that open the circuit breaker, and the steps it then stays open. */
  max_consecutive_rejections: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  breaker_cooldown_steps: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  /** Policy outputs in a row with a NaN or ±Infinity before the policy circuit opens (an error log; default 5). */
  max_consecutive_policy_errors: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive()))
})
export type RiskConfig = typeof RiskConfig.Type

export const FillPrice = Schema.Literal("next_open", "close")
export type FillPrice = typeof FillPrice.Type

/** What the simulated broker charges: `none` (Alpaca: no commission on US equities) or `environment` (the environment's buy/sell cost pct, FinRL's costs). */
export const SimulatedFees = Schema.Literal("none", "environment")
export type SimulatedFees = typeof SimulatedFees.Type

export const SimulationConfig = Schema.Struct({
  /** `next_open`: an order decided on bar t fills at bar t+1's open (no look-ahead); `close`: at bar t's close, as FinRL's env books it. */
  fill_price: Schema.optionalWith(FillPrice, { default: () => "next_open" as const }),
  slippage_bps: Schema.optionalWith(NonNegative, { default: () => 0 }),
  /** Fees the simulated broker books (the decision rules always size buys with the environment's costs). */
  fees: Schema.optionalWith(SimulatedFees, { default: () => "none" as const }),
  /** Cash the simulated account starts with; defaults to the environment's `initial_amount`. */
  initial_cash: Schema.optional(Positive)
})
export type SimulationConfig = typeof SimulationConfig.Type

/** The fee fractions a simulated broker books for a deployment's `simulation.fees`, per ticker when the environment's differ. */
export const simulatedTickerFees = (
  simulation: SimulationConfig,
  environment: EnvironmentConfig
): { readonly buyPct: CostPct; readonly sellPct: CostPct } =>
  simulation.fees === "environment" ? { buyPct: environment.buy_cost_pct, sellPct: environment.sell_cost_pct } : { buyPct: 0, sellPct: 0 }

const highest = (cost: CostPct): number => (typeof cost === "number" ? cost : Math.max(0, ...Object.values(cost)))

/**
 * The fee fractions as one number each, for a broker that charges every ticker alike (the
 * emulator): exact unless the environment's costs differ per ticker, when it is the highest of them.
 */
export const simulatedFees = (
  simulation: SimulationConfig,
  environment: EnvironmentConfig
): { readonly buyPct: number; readonly sellPct: number } => {
  const fees = simulatedTickerFees(simulation, environment)
  return { buyPct: highest(fees.buyPct), sellPct: highest(fees.sellPct) }
}

/** Where and how to reach Alpaca (or the local emulator, which speaks the same protocol). */
export const AlpacaConfig = Schema.Struct({
  /** `api_keys.yaml` with `alpaca.api_key_id_paper` / `alpaca.secret_key_paper`; default: beside this config. */
  keys: Schema.optional(Schema.String),
  trading_url: Schema.optionalWith(Schema.String, { default: () => "https://paper-api.alpaca.markets" }),
  data_url: Schema.optionalWith(Schema.String, { default: () => "https://data.alpaca.markets" }),
  data_stream_url: Schema.optionalWith(Schema.String, { default: () => "wss://stream.data.alpaca.markets/v2" }),
  trading_stream_url: Schema.optionalWith(Schema.String, { default: () => "wss://paper-api.alpaca.markets/stream" }),
  feed: Schema.optionalWith(Schema.Literal("iex", "sip"), { default: () => "iex" as const }),
  /** Corporate-action adjustment of downloaded history (Alpaca's `adjustment`): raw (default, the prices live trading sees), split, dividend or all. */
  adjustment: Schema.optionalWith(Schema.Literal("raw", "split", "dividend", "all"), { default: () => "raw" as const }),
  requests_per_minute: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.positive()), { default: () => 200 }),
  /** Market time runs this many times faster than real time: only for an accelerated emulator. */
  clock_speed: Schema.optionalWith(Positive, { default: () => 1 })
})
export type AlpacaConfig = typeof AlpacaConfig.Type

export const MarketConfig = Schema.Struct({
  /** How long after a bar's close a step waits for every ticker's bar before holding the late ones. */
  grace_seconds: Schema.optionalWith(NonNegative, { default: () => 5 }),
  /** No new positions (buys) this close to the session's close. */
  stop_opening_minutes_before_close: Schema.optionalWith(NonNegative, { default: () => 15 }),
  /** Sell every position on the session's last bar. */
  flatten_at_close: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** How long before the close the flatten is decided, so its sells fill before the close (default: one interval). */
  flatten_lead_minutes: Schema.optional(NonNegative),
  /** When stopping, how long in-flight orders may take to settle. */
  settle_timeout_seconds: Schema.optionalWith(NonNegative, { default: () => 60 })
})
export type MarketConfig = typeof MarketConfig.Type

export const SupervisionConfig = Schema.Struct({
  /** A failed ticker actor or a healable broker error is retried after base · 2^n seconds, jittered, at most max. */
  backoff_base_seconds: Schema.optionalWith(Positive, { default: () => 1 }),
  backoff_max_seconds: Schema.optionalWith(Positive, { default: () => 60 })
})
export type SupervisionConfig = typeof SupervisionConfig.Type

/**
 * Where news comes from and how it is scored, for a model with news features. Live trading reads
 * Alpaca's news (REST for warm-up, the news stream after); a backtest replays `file`, which a
 * rehearsal's emulator also serves at Alpaca's paths.
 */
export const NewsConfig = Schema.Struct({
  /** JSON lines in Alpaca's news shape (one article version per line, updates later with the same id). */
  file: Schema.optional(Schema.String),
  /** `lexicon` (default: offline, AFINN-165 for financial market news) or `{ onnx: folder }` (model.onnx, tokenizer.json, labels). */
  scorer: Schema.optionalWith(Schema.Union(Schema.Literal("lexicon"), Schema.Struct({ onnx: Schema.String })), { default: () => "lexicon" as const }),
  /** Where scores are cached by article version (default: `news-scores.jsonl` in the journal folder). */
  cache: Schema.optional(Schema.String)
})
export type NewsConfig = typeof NewsConfig.Type

/** The deployment config: which agent trades what, where, how. Paths are relative to this file. */
export const DeploymentConfig = Schema.Struct({
  tickers: Schema.Array(Ticker).pipe(Schema.minItems(1)),
  interval: Interval,
  model: Schema.String,
  environment: Schema.String,
  data: Schema.optional(Schema.Struct({ bars: Schema.String })),
  news: Schema.optional(NewsConfig),
  risk: Schema.optionalWith(RiskConfig, { default: () => ({}) }),
  simulation: Schema.optionalWith(SimulationConfig, { default: () => ({ fill_price: "next_open" as const, slippage_bps: 0, fees: "none" as const }) }),
  journal: Schema.optional(Schema.String),
  alpaca: Schema.optionalWith(AlpacaConfig, { default: () => Schema.decodeSync(AlpacaConfig)({}) }),
  market: Schema.optionalWith(MarketConfig, { default: () => Schema.decodeSync(MarketConfig)({}) }),
  supervision: Schema.optionalWith(SupervisionConfig, { default: () => Schema.decodeSync(SupervisionConfig)({}) }),
  /** How often a paper session rewrites report.html beside its journal, in minutes of real time (0: only at the end). */
  report_every_minutes: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.nonNegative()), { default: () => 15 }),
  /** Trading against a non-paper URL needs this and `--allow-live` on the command line. */
  allow_live: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  deployment_id: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/)))
})
export type DeploymentConfig = typeof DeploymentConfig.Type
