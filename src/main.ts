#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { helpDocText } from "./cli/options.js"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { runCli } from "./cli/definition.js"
import { nyOffsetMs } from "./core/nytime.js"

/** Errors that are the user's input (or a second instance of a running trader, or keys the broker refuses): message, exit 2. */
const inputErrors = new Set(["UsageError", "ConfigError", "ModelError", "BarsFileError", "JournalLocked", "ForeignJournal", "KeysRefused", "SentimentError", "ReportInputError"])

/** A news error is the user's input (a bad news file, a refused request) unless the source was only out. */
const isInputError = (error: { readonly _tag?: string; readonly transient?: boolean }) =>
  error._tag !== undefined && (inputErrors.has(error._tag) || (error._tag === "NewsError" && error.transient !== true))

const program = runCli(process.argv.slice(2)).pipe(
  Effect.as(0),
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      if (ValidationError.isValidationError(failure.value)) {
        const hint = ValidationError.isInvalidValue(failure.value) ? "" : " (--help lists the commands and their options)"
        return Console.error(`error: ${helpDocText(failure.value.error)}${hint}`).pipe(Effect.as(2))
      }
      const error = failure.value as { readonly _tag?: string; readonly message?: string; readonly transient?: boolean }
      const input = isInputError(error)
      return Console.error(`error: ${error.message ?? String(error)}`).pipe(Effect.as(input ? 2 : 1))
    }
    if (Cause.isInterruptedOnly(cause)) return Effect.succeed(130)
    const defect = Cause.squash(cause)
    return Console.error(`internal error: ${defect instanceof Error ? defect.message : String(defect)} (please report it)`).pipe(Effect.as(1))
  })
)

/**
 * Effect stamps a log line with the logging fiber's Clock: real time, or — inside a session — the
 * market's (the broker's time, a rehearsal's virtual time). The line says which.
 */
const wallClock = Context.get(DefaultServices.liveServices, Clock.Clock)
const onMarketClock = (context: FiberRefs.FiberRefs): boolean =>
  Context.get(FiberRefs.getOrDefault(context, DefaultServices.currentServices), Clock.Clock) !== wallClock

/** JSON and logfmt: `timestamp` is always wall time; a line logged on the market's clock adds `market_time`. */
const wallTimestamped = <M, O>(logger: Logger.Logger<M, O>): Logger.Logger<M, O> =>
  Logger.mapInputOptions(logger, (options) =>
    onMarketClock(options.context)
      ? { ...options, date: new Date(wallClock.unsafeCurrentTimeMillis()), annotations: HashMap.set(options.annotations, "market_time", options.date.toISOString()) }
      : options
  )

const pad = (n: number, width = 2) => String(n).padStart(width, "0")
/** Pretty: `[wall 14:02:03.456]` (this machine's time zone) or `[market 2026-02-17 09:35:00 ET]`. */
const wallTime = (d: Date) => `wall ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
const marketTime = (d: Date) => `market ${new Date(d.getTime() + nyOffsetMs(d.getTime())).toISOString().slice(0, 19).replace("T", " ")} ET`
const prettyLabelled = (): Logger.Logger<unknown, void> => {
  const wall = Logger.prettyLogger({ stderr: true, colors: "auto", mode: "tty", formatDate: wallTime })
  const market = Logger.prettyLogger({ stderr: true, colors: "auto", mode: "tty", formatDate: marketTime })
  return Logger.make((options) => (onMarketClock(options.context) ? market : wall).log(options))
}

/** Logs go to stderr: pretty in a terminal, JSON lines otherwise (a service, a pipe); LOG_FORMAT=json|logfmt|pretty overrides. */
const logFormat = process.env.LOG_FORMAT ?? (process.stderr.isTTY ? "pretty" : "json")
const logger = Logger.replace(
  Logger.defaultLogger,
  logFormat === "pretty" ? prettyLabelled() : Logger.withConsoleError(wallTimestamped(logFormat === "logfmt" ? Logger.logfmtLogger : Logger.jsonLogger))
)

/** LOG_LEVEL=debug|info|warning|… sets the default minimum level; `--log-level` on the command line overrides it. */
const envLogLevel = LogLevel.allLevels.find((level) => level._tag.toLowerCase() === process.env.LOG_LEVEL?.toLowerCase()) ?? LogLevel.Info

NodeRuntime.runMain(
  program.pipe(Effect.provide(NodeContext.layer), Effect.provide(logger), Logger.withMinimumLogLevel(envLogLevel)),
  {
    disablePrettyLogger: true,
    disableErrorReporting: true,
    // Ctrl-C / SIGTERM interrupt the program, which settles and flushes first: that is a clean stop.
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : Exit.isInterrupted(exit) ? 0 : 1)
  }
)
