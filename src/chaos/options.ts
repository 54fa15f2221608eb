/**
 * The chaos runner's options, declared once with @effect/cli (`chaos --help` lists them), and their
 * defaults (`--quick` is a smaller run).
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { helpDocText } from "../cli/options.js"

export interface ChaosOptions {
  readonly seed: number
  readonly sessions: number
  readonly kills: number
  readonly steps: number
  readonly speed: number
  readonly quick: boolean
  readonly keep: boolean
  readonly allEndpoints: boolean
  /** Freeze market time while the trader is down (from a kill to the restarted trader's first request). */
  readonly freeze: boolean
  /** Take Alpaca down whole, once per session (--quick: once), for longer than any retry. */
  readonly outage: boolean
  /** Multiplies the REST fault rates (9 % of requests in all at 1) and the lost trade updates (10 %); at most 11. */
  readonly faultScale: number
}

/** The REST fault rates sum to 9 %: scaled by more than this they would pass 100 %. */
const MAX_FAULT_SCALE = 11

const wholeNumber = (name: string, min: number, description: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("N"),
    Options.withDescription(description),
    Options.mapEffect((text) => {
      const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN
      return Number.isSafeInteger(n) && n >= min ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name} must be a whole number ≥ ${min}, got '${text}'`)))
    }),
    Options.optional,
    Options.map(Option.getOrUndefined)
  )

const realNumber = (name: string, description: string, ok: (n: number) => boolean, range: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("X"),
    Options.withDescription(description),
    Options.mapEffect((text) => {
      const n = text.trim() === "" ? NaN : Number(text)
      return ok(n) ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name} must be ${range}, got '${text}'`)))
    }),
    Options.optional,
    Options.map(Option.getOrUndefined)
  )

const switchOption = (name: string, description: string) => Options.boolean(name).pipe(Options.withDescription(description))

/** The chaos runner's options, declared once (`chaos --help` lists them). */
export const chaosOptions = Options.all({
  seed: wholeNumber("seed", 0, "seed of the faults, kills and market (default 1)"),
  sessions: wholeNumber("sessions", 1, "trading sessions (default 3; --quick: 2)"),
  kills: wholeNumber("kills", 0, "kill -9s of the trader per session (default 3; --quick: 2)"),
  steps: wholeNumber("steps", 1, "steps per session (default 40; --quick: 16)"),
  speed: realNumber("speed", "market time runs X times real time (default 600)", (n) => Number.isFinite(n) && n > 0, "a positive number"),
  faultScale: realNumber(
    "fault-scale",
    "multiplies the REST fault rates and the lost trade updates (default 1)",
    (n) => Number.isFinite(n) && n >= 0 && n <= MAX_FAULT_SCALE,
    `a number from 0 to ${MAX_FAULT_SCALE}`
  ),
  quick: switchOption("quick", "a smaller, faster run"),
  keep: switchOption("keep", "keep the run's folder"),
  allEndpoints: switchOption("all-endpoints", "faults on every REST endpoint, not only the trading ones"),
  noFreeze: switchOption("no-freeze", "market time runs on while the trader is down"),
  noOutage: switchOption("no-outage", "no whole-Alpaca outage")
}).pipe(
  Options.map(
    (o): ChaosOptions => ({
      seed: o.seed ?? 1,
      sessions: o.sessions ?? (o.quick ? 2 : 3),
      kills: o.kills ?? (o.quick ? 2 : 3),
      steps: o.steps ?? (o.quick ? 16 : 40),
      speed: o.speed ?? 600,
      quick: o.quick,
      keep: o.keep,
      allEndpoints: o.allEndpoints,
      freeze: !o.noFreeze,
      outage: !o.noOutage,
      faultScale: o.faultScale ?? 1
    })
  )
)

/** The runner's options from its arguments, or what is wrong with them (one line naming the option). */
export const parseChaosArgs = (argv: ReadonlyArray<string>): Effect.Effect<ChaosOptions, string> =>
  Options.processCommandLine(chaosOptions, argv, CliConfig.defaultConfig).pipe(
    Effect.mapError((e) => helpDocText(e.error)),
    Effect.flatMap(([error, leftover, options]) =>
      Option.isSome(error)
        ? Effect.fail(helpDocText(error.value.error))
        : leftover.length > 0
          ? Effect.fail(`unknown argument '${leftover[0]}'`)
          : Effect.succeed(options)
    ),
    Effect.provide(NodeContext.layer)
  )

