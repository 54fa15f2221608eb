import { Console, Effect } from "effect"
import {
  describeFaults,
  EMULATOR_KEY_ID,
  FAULT_FLAGS,
  isPlan,
  loadBarsDir,
  parseFaultSpec,
  PLANS,
  RATE_LIMIT_PER_MINUTE,
  startEmulator,
  strictnessProblem,
  tradingCostProblem,
  type FaultOptions,
  type Plan
} from "../emulator/index.js"
import { BarsFileError } from "../services/MarketData.js"
import { checkFlags, intFlag, numberFlag, orFail, stringFlag, timeFlag, UsageError } from "./args.js"

type Flags = ReadonlyMap<string, string | true>

/** The fastest replay `--speed` accepts: a 5-minute bar in 0.3 ms of real time; beyond it timers cannot keep up. */
const MAX_SPEED = 1_000_000


/** Starts a local Alpaca emulator over a bars folder, scoped: closed when the scope closes. */
export const emulatorResource = (options: {
  readonly barsDir: string
  readonly port: number
  readonly speed: number
  readonly start?: number | undefined
  readonly faults?: FaultOptions | undefined
  /** Market-order slippage and fees (fractions of notional); all default to 0, as Alpaca. */
  readonly slippageBps?: number | undefined
  readonly buyCostPct?: number | undefined
  readonly sellCostPct?: number | undefined
  /** Alpaca's limits: requests per key and API per real minute (default 200) and the data plan (default basic). */
  readonly rateLimitPerMinute?: number | undefined
  readonly plan?: Plan | undefined
}) =>
  Effect.gen(function* () {
    const costs = { slippageBps: options.slippageBps ?? 0, buyCostPct: options.buyCostPct ?? 0, sellCostPct: options.sellCostPct ?? 0 }
    const limits = { rateLimitPerMinute: options.rateLimitPerMinute ?? RATE_LIMIT_PER_MINUTE, plan: options.plan ?? "basic" }
    const problem = tradingCostProblem(costs) ?? strictnessProblem(limits)
    if (problem !== undefined) return yield* new UsageError({ detail: `emulator: ${problem}` })
    const bars = yield* Effect.tryPromise({
      try: () => loadBarsDir(options.barsDir),
      catch: (e) => new BarsFileError({ file: options.barsDir, problems: [{ line: 0, message: (e as Error).message }] })
    })
    if (bars.size === 0) return yield* new BarsFileError({ file: options.barsDir, problems: [{ line: 0, message: "no <TICKER>.csv files" }] })
    return yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          startEmulator({
            bars,
            port: options.port,
            speed: options.speed,
            ...costs,
            ...limits,
            ...(options.start === undefined ? {} : { start: options.start }),
            ...(options.faults === undefined ? {} : { faults: options.faults })
          }),
        catch: (e) => new UsageError({ detail: `emulator: cannot listen on port ${options.port}: ${(e as Error).message}` })
      }),
      (handle) => Effect.promise(() => handle.close())
    )
  })

/** Reads the fault flags (`--fault-seed N`, `--rate-429 R`, …; see {@link FAULT_FLAGS}); a bad value is a UsageError. */
export const faultFlags = (flags: Flags): FaultOptions | undefined | UsageError => {
  const parsed = parseFaultSpec(Object.fromEntries(FAULT_FLAGS.map((name) => [name, stringFlag(flags, name)])))
  return parsed.ok ? parsed.faults : new UsageError({ detail: `emulator: ${parsed.error}` })
}

/** Reads a number flag that must lie in [min, max] (or [min, max) with `maxOpen`); a bad value is a UsageError naming the flag. */
const rangeFlag = (flags: Flags, name: string, min: number, max: number, maxOpen = false): number | undefined | UsageError => {
  const text = stringFlag(flags, name)
  if (text === undefined) return undefined
  const n = text.trim() === "" ? NaN : Number(text)
  return Number.isFinite(n) && n >= min && (maxOpen ? n < max : n <= max)
    ? n
    : new UsageError({ detail: `emulator: --${name} must be a number in [${min}, ${max}${maxOpen ? ")" : "]"}, got '${text}'` })
}

/** `--slippage-bps N --buy-cost-pct R --sell-cost-pct R`: market-order slippage and fees as fractions of notional. */
export const tradingCostFlags = (flags: Flags) =>
  Effect.gen(function* () {
    const slippageBps = yield* orFail(rangeFlag(flags, "slippage-bps", 0, 10_000, true))
    const buyCostPct = yield* orFail(rangeFlag(flags, "buy-cost-pct", 0, 1))
    const sellCostPct = yield* orFail(rangeFlag(flags, "sell-cost-pct", 0, 1))
    return { slippageBps: slippageBps ?? 0, buyCostPct: buyCostPct ?? 0, sellCostPct: sellCostPct ?? 0 }
  })

const TRADING_COST_FLAGS = ["slippage-bps", "buy-cost-pct", "sell-cost-pct"] as const

/** `--rate-limit N` (requests per key and API per real minute, default 200) and `--plan basic|algo_trader_plus` (default basic), as Alpaca. */
export const strictnessFlags = (flags: Flags) =>
  Effect.gen(function* () {
    const rateLimitPerMinute = (yield* orFail(intFlag(flags, "rate-limit", 1))) ?? RATE_LIMIT_PER_MINUTE
    const plan = stringFlag(flags, "plan") ?? "basic"
    if (!isPlan(plan)) return yield* new UsageError({ detail: `emulator: --plan must be ${PLANS.join(" or ")}, got '${plan}'` })
    return { rateLimitPerMinute, plan }
  })

const STRICTNESS_FLAGS = ["rate-limit", "plan"] as const

/** The startup line saying how strict the emulator is. */
const describeLimits = (limits: { readonly rateLimitPerMinute: number; readonly plan: Plan }): string =>
  `limits: ${limits.rateLimitPerMinute} requests/min per key, trading and data apart (429 beyond); one market-data stream per key and feed (406 beyond); plan ${limits.plan}` +
  (limits.plan === "basic" ? " (SIP bars from the last 15 min: 403; /v2/sip stream: 409)" : " (SIP allowed)")

/**
 * `emulator --port P --bars DIR [--speed X] [--start ISO] [--slippage-bps N] [--buy-cost-pct R]
 * [--sell-cost-pct R]` (market-order slippage; fees as fractions of notional, default 0 as Alpaca)
 * `[--rate-limit N] [--plan basic|algo_trader_plus]` (Alpaca's limits, default 200 and basic) plus the seeded fault flags
 * `--fault-seed N --rate-429 R --rate-5xx R --rate-5xx-after R --latency-ms N [--latency-jitter-ms N]
 * --rate-timeout R --ws-drop-every S --rate-lost-updates R --rate-partial-fills R --slow-fill-bars N
 * --outage-at S --outage-seconds N`: serves until interrupted (Ctrl-C).
 */
export const emulatorCommand = (flags: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const bad = checkFlags("emulator", flags, { required: ["bars"], optional: ["port", "speed", "start", ...TRADING_COST_FLAGS, ...STRICTNESS_FLAGS, ...FAULT_FLAGS] })
      if (bad !== undefined) return yield* bad
      const port = (yield* orFail(intFlag(flags, "port", 0))) ?? 0
      const speed = (yield* orFail(numberFlag(flags, "speed", { min: 0, max: MAX_SPEED }))) ?? 1
      const start = yield* orFail(timeFlag(flags, "start"))
      const costs = yield* tradingCostFlags(flags)
      const limits = yield* strictnessFlags(flags)
      const faults = yield* orFail(faultFlags(flags))
      const handle = yield* emulatorResource({ barsDir: stringFlag(flags, "bars")!, port, speed, start, faults, ...costs, ...limits })
      const ws = handle.url.replace(/^http/, "ws")
      yield* Console.log(
        [
          `Alpaca emulator on ${handle.url} (market time ${new Date(handle.marketNow()).toISOString()}, ${speed}× real time)`,
          `it accepts the demo key id ${EMULATOR_KEY_ID} with the demo secret in src/emulator/constants.ts (no real keys)`,
          `point a deployment at it:`,
          `  alpaca:`,
          `    trading_url: ${handle.url}`,
          `    data_url: ${handle.url}`,
          `    data_stream_url: ${ws}/v2`,
          `    trading_stream_url: ${ws}/stream`,
          `    clock_speed: ${speed}`,
          `fills: market orders at the open of the bar in progress (else the next one), slippage ${costs.slippageBps} bps, fees buy ${costs.buyCostPct} / sell ${costs.sellCostPct} of notional`,
          describeLimits(limits),
          `faults: ${describeFaults(faults)}`,
          `Ctrl-C stops it.`
        ].join("\n")
      )
      return yield* Effect.never
    })
  )
