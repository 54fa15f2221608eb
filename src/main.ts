#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import { Cause, Console, Effect, Exit, Logger, LogLevel, Option } from "effect"
import { runCli } from "./cli/definition.js"

/** Errors that are the user's input (or a second instance of a running trader, or keys the broker refuses): message, exit 2. */
const inputErrors = new Set(["UsageError", "ConfigError", "ModelError", "BarsFileError", "JournalLocked", "ForeignJournal", "KeysRefused"])

/** The parser's report as one plain line: its help document without colours or line breaks. */
const plainText = (doc: HelpDoc.HelpDoc): string =>
  HelpDoc.toAnsiText(doc)
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")

const program = runCli(process.argv.slice(2)).pipe(
  Effect.as(0),
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      if (ValidationError.isValidationError(failure.value)) {
        const hint = ValidationError.isInvalidValue(failure.value) ? "" : " (--help lists the commands and their options)"
        return Console.error(`error: ${plainText(failure.value.error)}${hint}`).pipe(Effect.as(2))
      }
      const error = failure.value as { readonly _tag?: string; readonly message?: string }
      const input = error._tag !== undefined && inputErrors.has(error._tag)
      return Console.error(`error: ${error.message ?? String(error)}`).pipe(Effect.as(input ? 2 : 1))
    }
    if (Cause.isInterruptedOnly(cause)) return Effect.succeed(130)
    const defect = Cause.squash(cause)
    return Console.error(`internal error: ${defect instanceof Error ? defect.message : String(defect)} (please report it)`).pipe(Effect.as(1))
  })
)

/** Logs go to stderr: pretty in a terminal, JSON lines otherwise (a service, a pipe); LOG_FORMAT=json|logfmt|pretty overrides. */
const logFormat = process.env.LOG_FORMAT ?? (process.stderr.isTTY ? "pretty" : "json")
const logger = Logger.replace(
  Logger.defaultLogger,
  logFormat === "pretty"
    ? Logger.prettyLogger({ stderr: true, colors: "auto", mode: "tty" })
    : Logger.withConsoleError(logFormat === "logfmt" ? Logger.logfmtLogger : Logger.jsonLogger)
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
