import { Console, Effect } from "effect"
import {
  describeFaults,
  EMULATOR_KEY_ID,
  FAULT_FLAGS,
  loadBarsDir,
  parseFaultSpec,
  RATE_LIMIT_PER_MINUTE,
  startEmulator,
  strictnessProblem,
  tradingCostProblem,
  type FaultOptions,
  type Plan
} from "../emulator/index.js"
import { BarsFileError } from "../services/MarketData.js"
import { costsAndLimits, type EmulatorCommandOptions, MAX_SPEED, type RawFlags } from "./emulator-options.js"
import * as cli from "./options.js"
import { UsageError } from "./options.js"

export { emulatorOptions, type EmulatorCommandOptions, faultOptions, strictnessFlags, tradingCostFlags } from "./emulator-options.js"

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
  /** A news file (JSON lines in Alpaca's news shape) served at `/v1beta1/news`, REST and stream. */
  readonly news?: string | undefined
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
            ...(options.faults === undefined ? {} : { faults: options.faults }),
            ...(options.news === undefined ? {} : { news: options.news })
          }),
        catch: (e) =>
          new UsageError({
            // the emulator reads the news file itself and names its bad line
            detail: options.news !== undefined && (e as Error).message.includes(options.news)
              ? `emulator: --news ${(e as Error).message}`
              : `emulator: cannot listen on port ${options.port}: ${(e as Error).message}`
          })
      }),
      (handle) => Effect.promise(() => handle.close())
    )
  })

const read = <A>(value: A | string) => cli.orUsage(value, "emulator: ")

/** A command line's raw `--name value` pairs as typed options (tests drive the command this way). */
const fromRawFlags = (flags: RawFlags) =>
  Effect.gen(function* () {
    const bars = flags.get("bars")
    if (bars === undefined) return yield* new UsageError({ detail: "emulator: --bars is required" })
    const port = flags.get("port")
    const speed = flags.get("speed")
    const start = flags.get("start")
    const news = flags.get("news")
    const faults = parseFaultSpec(Object.fromEntries(FAULT_FLAGS.map((name) => [name, flags.get(name)])))
    if (!faults.ok) return yield* new UsageError({ detail: `emulator: ${faults.error}` })
    return {
      bars,
      port: port === undefined ? undefined : yield* read(cli.readInt("port", port, 0)),
      speed: speed === undefined ? undefined : yield* read(cli.readNumber("speed", speed, { min: 0, max: MAX_SPEED })),
      start: start === undefined ? undefined : yield* read(cli.readTime("start", start)),
      news,
      faults: faults.faults,
      costsAndLimits: yield* costsAndLimits(flags)
    } satisfies EmulatorCommandOptions
  })

/** The startup line saying how strict the emulator is. */
const describeLimits = (limits: { readonly rateLimitPerMinute: number; readonly plan: Plan }): string =>
  `limits: ${limits.rateLimitPerMinute} requests/min per key, trading and data apart (429 beyond); one market-data stream per key and feed (406 beyond); plan ${limits.plan}` +
  (limits.plan === "basic" ? " (SIP bars from the last 15 min: 403; /v2/sip stream: 409)" : " (SIP allowed)")

/**
 * `emulator --bars DIR [--port P] [--speed X] [--start ISO]`, the trading costs, Alpaca's limits
 * and the seeded fault flags (see {@link emulatorOptions}): serves until interrupted (Ctrl-C).
 * Also takes the flags as raw `name → value` pairs, checked the same way.
 */
export const emulatorCommand = (input: EmulatorCommandOptions | RawFlags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const options = input instanceof Map ? yield* fromRawFlags(input as RawFlags) : (input as EmulatorCommandOptions)
      const port = options.port ?? 0
      const speed = options.speed ?? 1
      const { start, faults } = options
      const { costs, limits } = options.costsAndLimits ?? (yield* costsAndLimits(new Map()))
      const handle = yield* emulatorResource({ barsDir: options.bars, port, speed, start, news: options.news, faults, ...costs, ...limits })
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
          ...(options.news === undefined ? [] : [`news: ${options.news} at ${handle.url}/v1beta1/news and ${ws}/v1beta1/news`]),
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
