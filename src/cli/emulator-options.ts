/**
 * The `emulator` and `rehearse` options, declared for the parser: they import only the emulator's
 * flag checks (faults, plans, limits), so the CLI starts without loading the emulator itself.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import { FAULT_FLAGS, parseFaultSpec, type FaultOptions } from "../emulator/faults.js"
import { isPlan, PLANS } from "../emulator/plans.js"
import { RATE_LIMIT_PER_MINUTE } from "../emulator/server.js"
import * as cli from "./options.js"
import { UsageError } from "./options.js"

/** The fastest replay `--speed` accepts: a 5-minute bar in 0.3 ms of real time; beyond it timers cannot keep up. */
export const MAX_SPEED = 1_000_000

/** What each fault flag does, for `--help` (names as in {@link FAULT_FLAGS}). */
const FAULT_DESCRIPTIONS: Readonly<Record<string, readonly [pseudo: string, description: string]>> = {
  "fault-seed": ["N", "seed of every fault decision (default 1): the same seed and the same requests give the same faults"],
  "rate-429": ["R", "share of REST requests answered 429 without being performed, in [0, 1]"],
  "rate-5xx": ["R", "share of REST requests answered 500/502/503 without being performed, in [0, 1]"],
  "rate-5xx-after": ["R", "share of REST requests performed, then answered 500/503 anyway, in [0, 1]"],
  "latency-ms": ["N", "added latency per REST request, real milliseconds"],
  "latency-jitter-ms": ["N", "plus a uniform random latency in [0, N) milliseconds"],
  "rate-timeout": ["R", "share of REST requests never answered (performed anyway), in [0, 1]"],
  "ws-drop-every": ["S", "drop every stream socket every S seconds of real time"],
  "rate-lost-updates": ["R", "share of trade_updates events not sent, in [0, 1]"],
  "rate-partial-fills": ["R", "share of market orders of 2 shares or more filled in 2-3 parts, in [0, 1]"],
  "slow-fill-bars": ["N", "fills come N bars later than the fill rule says"],
  "outage-at": ["S", "Alpaca goes down S seconds of real time after start (with --outage-seconds)"],
  "outage-seconds": ["N", "for N seconds: REST answers 503, streams are dropped and refused"]
}

/**
 * The seeded fault flags (`--fault-seed N`, `--rate-429 R`, …; see {@link FAULT_FLAGS}) of `emulator`
 * and `rehearse`, checked together by `parseFaultSpec` (undefined: no fault).
 */
export const faultOptions: Options.Options<FaultOptions | undefined> = Options.all(
  Object.fromEntries(FAULT_FLAGS.map((name) => [name, cli.optionalText(name, FAULT_DESCRIPTIONS[name]?.[0] ?? "X", FAULT_DESCRIPTIONS[name]?.[1] ?? name)]))
).pipe(
  Options.mapEffect((values) => {
    const parsed = parseFaultSpec(values)
    return parsed.ok ? Effect.succeed(parsed.faults) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(parsed.error)))
  })
)

export type RawFlags = ReadonlyMap<string, string>

/** Reads a number flag that must lie in [min, max] (or [min, max) with `maxOpen`); a bad value is a UsageError naming the flag. */
const rangeFlag = (flags: RawFlags, name: string, min: number, max: number, maxOpen = false): Effect.Effect<number | undefined, UsageError> => {
  const text = flags.get(name)
  if (text === undefined) return Effect.succeed(undefined)
  const n = text.trim() === "" ? NaN : Number(text)
  return Number.isFinite(n) && n >= min && (maxOpen ? n < max : n <= max)
    ? Effect.succeed(n)
    : Effect.fail(new UsageError({ detail: `emulator: --${name} must be a number in [${min}, ${max}${maxOpen ? ")" : "]"}, got '${text}'` }))
}

/** `--slippage-bps N --buy-cost-pct R --sell-cost-pct R` as given: market-order slippage and fees as fractions of notional. */
export const tradingCostFlags = (flags: RawFlags) =>
  Effect.gen(function* () {
    const slippageBps = yield* rangeFlag(flags, "slippage-bps", 0, 10_000, true)
    const buyCostPct = yield* rangeFlag(flags, "buy-cost-pct", 0, 1)
    const sellCostPct = yield* rangeFlag(flags, "sell-cost-pct", 0, 1)
    return { slippageBps: slippageBps ?? 0, buyCostPct: buyCostPct ?? 0, sellCostPct: sellCostPct ?? 0 }
  })

/** `--rate-limit N` (requests per key and API per real minute, default 200) and `--plan basic|algo_trader_plus` (default basic), as given. */
export const strictnessFlags = (flags: RawFlags) =>
  Effect.gen(function* () {
    const limitText = flags.get("rate-limit")
    const rateLimitPerMinute = limitText === undefined ? RATE_LIMIT_PER_MINUTE : yield* cli.orUsage(cli.readInt("rate-limit", limitText, 1))
    const plan = flags.get("plan") ?? "basic"
    if (!isPlan(plan)) return yield* new UsageError({ detail: `emulator: --plan must be ${PLANS.join(" or ")}, got '${plan}'` })
    return { rateLimitPerMinute, plan }
  })

const TEXT_FLAGS: ReadonlyArray<readonly [name: string, pseudo: string, description: string]> = [
  ["slippage-bps", "N", "market-order slippage in basis points, in [0, 10000) (default 0)"],
  ["buy-cost-pct", "R", "fee on buys, a fraction of notional in [0, 1] (default 0, as Alpaca)"],
  ["sell-cost-pct", "R", "fee on sells, a fraction of notional in [0, 1] (default 0, as Alpaca)"],
  ["rate-limit", "N", `requests per key and API per real minute before 429 (default ${RATE_LIMIT_PER_MINUTE}, as Alpaca)`],
  ["plan", "basic|algo_trader_plus", "the market-data plan: basic refuses recent SIP bars and the SIP stream (default basic)"]
]

/** Market-order slippage and fees, and Alpaca's limits, checked. */
export const costsAndLimits = (flags: RawFlags) =>
  Effect.gen(function* () {
    return { costs: yield* tradingCostFlags(flags), limits: yield* strictnessFlags(flags) }
  })

/** The `emulator` command's options as typed values, after the command line is parsed. */
export interface EmulatorCommandOptions {
  readonly bars: string
  readonly port?: number | undefined
  readonly speed?: number | undefined
  readonly start?: number | undefined
  /** `--news FILE`: articles served at Alpaca's news paths. */
  readonly news?: string | undefined
  readonly faults?: FaultOptions | undefined
  /** `--slippage-bps`, `--buy-cost-pct`, `--sell-cost-pct` (default 0) and `--rate-limit`, `--plan` (default 200, basic). */
  readonly costsAndLimits?: Effect.Effect.Success<ReturnType<typeof costsAndLimits>> | undefined
}

/** Every option of `emulator`, declared once. */
export const emulatorOptions = {
  bars: cli.text("bars", "DIR", "the bars folder to serve: one <TICKER>.csv of one-minute bars per ticker"),
  port: cli.optionalInt("port", "the port to listen on (default 0: any free port)", 0),
  speed: cli.optionalNumber("speed", "X", "market time runs X times real time (default 1)", { min: 0, max: MAX_SPEED }),
  start: cli.optionalTime("start", "market time at startup (default: the first bar)"),
  news: cli.optionalText("news", "FILE", "a news file (JSON lines in Alpaca's news shape) served at /v1beta1/news, REST and stream, each version at its updated_at"),
  costsAndLimits: Options.all(Object.fromEntries(TEXT_FLAGS.map(([name, pseudo, description]) => [name, cli.optionalText(name, pseudo, description)]))).pipe(
    Options.mapEffect((values) =>
      costsAndLimits(new Map(Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as const])))).pipe(
        Effect.mapError((e) => ValidationError.invalidValue(HelpDoc.p(e.detail)))
      )
    )
  ),
  faults: faultOptions
}
