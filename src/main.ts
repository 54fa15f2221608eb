#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Logger, LogLevel, Option } from "effect"
import { parseArgs, UsageError } from "./cli/args.js"
import { backtestCommand, featuresCommand } from "./cli/commands.js"
import { demoCommand, synthCommand, trainCommand } from "./cli/demo.js"
import { emulatorCommand } from "./cli/emulator.js"
import { tradeCommand } from "./cli/trade.js"
import { compareCommand } from "./cli/compare.js"
import { rehearseCommand } from "./cli/rehearse.js"
import { downloadCommand } from "./cli/download.js"
import { registerCommand } from "./cli/register.js"

const usage = `rl-paper-trader — run a trained RL agent (ONNX) in simulation or on an Alpaca paper account

usage:
  rl-paper-trader demo                                  backtest the bundled demo agent, then paper-trade it against
                                                        a local Alpaca emulator, and print the summaries
  rl-paper-trader trade --config FILE [--max-steps N] [--metrics-port P] [--allow-live] [--fresh-journal]
                                                        trade on an Alpaca paper account (keys: api_keys.yaml or APCA_*)
  rl-paper-trader backtest --config FILE --out DIR [--start ISO] [--end ISO] [--max-steps N]
  rl-paper-trader compare --config FILE --journal PAPER.jsonl --out DIR
                                                        backtest the bars a paper session decided on; compare the two
  rl-paper-trader rehearse --config FILE --out DIR [--start ISO] [--end ISO] [--max-steps N] [fault flags]
                                                        trade the config's bars against a local emulator on a virtual
                                                        clock (fast, deterministic), then compare with a backtest
  rl-paper-trader download --config FILE --start ISO --end ISO [--out DIR]
                                                        the config's tickers' bars from Alpaca into its data.bars folder
                                                        (or DIR); fetches only what the folder lacks
  rl-paper-trader register --onnx FILE --env FILE --tickers A,B,… --name N --version V [--normalization FILE]
                           [--registry DIR] [--layout L] [--output NAME]
                                                        an exported policy (ONNX) and its FinRL environment file into
                                                        a model registry folder (default model_registry/N/V)
  rl-paper-trader features --indicators LIST --bars FILE.csv
                                                        LIST: macd,rsi_30,…  or technicalindicators NAME:param=value
  rl-paper-trader train --config FILE --out DIR [--until ISO] [--iterations N] [--seed N]
  rl-paper-trader emulator --bars DIR [--port P] [--speed X] [--start ISO]
                           [--slippage-bps N] [--buy-cost-pct R] [--sell-cost-pct R] [--fault-seed N]
                           [--rate-429 R] [--rate-5xx R] [--rate-5xx-after R] [--latency-ms N] [--latency-jitter-ms N]
                           [--rate-timeout R] [--ws-drop-every S] [--rate-lost-updates R] [--rate-partial-fills R] [--slow-fill-bars N]
                           [--outage-at S --outage-seconds N] [--rate-limit N] [--plan basic|algo_trader_plus]
                                                        a local Alpaca paper API over a bars folder, as strict as Alpaca
                                                        (200 requests/min per key, one data socket, SIP by plan), with
                                                        seeded faults and an outage

exit codes: 0 done, 1 runtime failure, 2 bad configuration, arguments or input files`

/** Errors that are the user's input (or a second instance of a running trader, or keys the broker refuses): message, exit 2. */
const inputErrors = new Set(["UsageError", "ConfigError", "ModelError", "BarsFileError", "JournalLocked", "ForeignJournal", "KeysRefused"])

const program = Effect.gen(function* () {
  const args = parseArgs(process.argv.slice(2))
  if (args instanceof UsageError) return yield* args
  switch (args.command) {
    case "help":
      yield* Console.log(usage)
      return 0
    case "backtest":
      return yield* backtestCommand(args.flags)
    case "features":
      return yield* featuresCommand(args.flags)
    case "demo":
      return yield* demoCommand(args.flags)
    case "train":
      return yield* trainCommand(args.flags)
    case "compare":
      return yield* compareCommand(args.flags)
    case "trade":
      return yield* tradeCommand(args.flags)
    case "rehearse":
      return yield* rehearseCommand(args.flags)
    case "emulator":
      return yield* emulatorCommand(args.flags)
    case "synth":
      return yield* synthCommand(args.flags)
    case "download":
      return yield* downloadCommand(args.flags)
    case "register":
      return yield* registerCommand(args.flags)
    default:
      return yield* new UsageError({ detail: `unknown command '${args.command}'` })
  }
}).pipe(
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value as { readonly _tag?: string; readonly message?: string }
      const input = error._tag !== undefined && inputErrors.has(error._tag)
      return Console.error(`error: ${error.message ?? String(error)}${error._tag === "UsageError" ? `\n\n${usage}` : ""}`).pipe(
        Effect.as(input ? 2 : 1)
      )
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

NodeRuntime.runMain(
  program.pipe(
    Effect.provide(NodeContext.layer),
    Effect.provide(logger),
    Logger.withMinimumLogLevel(process.env.LOG_LEVEL === "debug" ? LogLevel.Debug : LogLevel.Info)
  ),
  {
    disablePrettyLogger: true,
    disableErrorReporting: true,
    // Ctrl-C / SIGTERM interrupt the program, which settles and flushes first: that is a clean stop.
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : Exit.isInterrupted(exit) ? 0 : 1)
  }
)
