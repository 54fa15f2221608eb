import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { PACKAGE_VERSION } from "../project.js"
import { emulatorOptions, faultOptions } from "./emulator-options.js"
import * as cli from "./options.js"

export const CLI_NAME = "rl-paper-trader"

/** The package's version, for `--version`. */
export const CLI_VERSION: string = PACKAGE_VERSION

/** The console of the process: command handlers print through it, whatever console the parser runs with. */
const processConsole = Effect.runSync(Effect.console)

/**
 * A command's work, printing to the process's console; its exit code is 0 when it returns. Its
 * module is imported when the command runs, not at start-up: `--help` and `--version` load none.
 */
const handler = <M, A, E, R>(load: () => Promise<M>, pick: (module: M) => (options: A) => Effect.Effect<unknown, E, R>) => (options: A) =>
  Effect.withConsole(Effect.flatMap(Effect.promise(load), (module) => Effect.asVoid(pick(module)(options))), processConsole)

const config = cli.text("config", "FILE", "the deployment config (YAML)")
const out = cli.text("out", "DIR", "the output folder")
const start = cli.optionalTime("start", "the first bar time, an ISO date or date-time (default: the first bar)")
const end = cli.optionalTime("end", "the bar time to stop before, an ISO date or date-time (default: the last bar)")
const maxSteps = cli.optionalInt("max-steps", "stop after N decisions (≥ 1)", 1)

const demo = Command.make(
  "demo",
  { out: cli.optionalText("out", "DIR", "the output folder (default out/demo)") },
  handler(() => import("./demo.js"), (m) => m.demoCommand)
).pipe(Command.withDescription("backtest the bundled demo agent, then paper-trade it against a local Alpaca emulator, and print the summaries"))

const trade = Command.make(
  "trade",
  {
    config,
    maxSteps,
    metricsPort: cli.optionalInt("metrics-port", "serve Prometheus metrics, /healthz and /status (JSON) on 127.0.0.1:P (1–65535)", 1),
    allowLive: cli.flag("allow-live", "allow a trading_url other than Alpaca's paper API (needs allow_live: true in the config too)"),
    freshJournal: cli.flag("fresh-journal", "start a new journal, keeping the old one as journal.jsonl.<timestamp>"),
    progress: cli.flag("progress", "print one line per step on stdout even when it is not a terminal (a pipe, a log file)")
  },
  handler(() => import("./trade.js"), (m) => m.tradeCommand)
).pipe(Command.withDescription("trade on an Alpaca paper account (keys: api_keys.yaml or APCA_API_KEY_ID / APCA_API_SECRET_KEY)"))

const backtest = Command.make("backtest", { config, out, start, end, maxSteps }, handler(() => import("./commands.js"), (m) => m.backtestCommand)).pipe(
  Command.withDescription("replay the config's bars through the agent with the simulated broker; a journal and report.json in --out")
)

const compare = Command.make(
  "compare",
  { config, journal: cli.text("journal", "PAPER.jsonl", "the journal of the paper session to compare"), out },
  handler(() => import("./compare.js"), (m) => m.compareCommand)
).pipe(Command.withDescription("backtest the bars a paper session decided on; compare the two, decision by decision"))

const rehearse = Command.make("rehearse", { config, out, start, end, maxSteps, faults: faultOptions }, handler(() => import("./rehearse.js"), (m) => m.rehearseCommand)).pipe(
  Command.withDescription(
    "trade the config's bars against a local emulator on a virtual clock (fast, deterministic), then compare with a backtest; takes the emulator's fault options"
  )
)

const report = Command.make(
  "report",
  {
    journal: cli.text("journal", "FILE", "the run's journal, or its folder (a rehearsal's or compare's: its paper and backtest journals and compare.json)"),
    vs: cli.optionalText("vs", "FILE", "a second journal to overlay: the backtest of the same bars"),
    out: cli.optionalText("out", "FILE", "the HTML file to write (default: report.html beside the journal, or in the folder)"),
    json: cli.optionalText("json", "FILE", "also write the report's data as JSON (report.json's fields)")
  },
  handler(() => import("./report.js"), (m) => m.reportCommand)
).pipe(Command.withDescription("an HTML report of a run from its journal (self-contained: charts, metrics, trades, risk events); --vs overlays a backtest"))

const download = Command.make(
  "download",
  {
    config,
    start: cli.time("start", "the first bar time, an ISO date or date-time"),
    end: cli.time("end", "the time to stop before, an ISO date or date-time"),
    out: cli.optionalText("out", "DIR", "the folder to fill (default: the config's data.bars)")
  },
  handler(() => import("./download.js"), (m) => m.downloadCommand)
).pipe(Command.withDescription("fetch the config's tickers' bars from Alpaca into its data.bars folder (or --out); fetches only what the folder lacks"))

/** `register --version V` is the model's version: the command line spells it `--model-version` for the parser (see {@link runCli}). */
const MODEL_VERSION = "model-version"

const register = Command.make(
  "register",
  {
    onnx: cli.text("onnx", "FILE", "the exported policy (ONNX)"),
    env: cli.text("env", "FILE", "the FinRL environment file (env_kwargs JSON or YAML)"),
    tickers: cli.text("tickers", "A,B,…", "the tickers the policy was trained on, in its order"),
    name: cli.text("name", "N", "the model's name (a folder name)"),
    version: cli.text(MODEL_VERSION, "V", "the model's version (a folder name)").pipe(Options.withAlias("version")),
    normalization: cli.optionalText("normalization", "FILE", "VecNormalize statistics (JSON) the policy expects"),
    observations: cli.optionalText("observations", "FILE", "a sample of training observations (CSV, one per row, or numpy .npy n × size) for the drift alarms"),
    registry: cli.optionalText("registry", "DIR", "the model registry (default model_registry)"),
    layout: cli.optionalText("layout", "L", "the observation layout (default: the one FinRL's sizes imply)"),
    output: cli.optionalText("output", "NAME", "the ONNX output that holds the action (default: the only or first one)")
  },
  handler(() => import("./register.js"), (m) => m.registerCommand)
).pipe(Command.withDescription("copy an exported policy (ONNX) and its FinRL environment file into a model registry folder (default model_registry/N/V)"))

const features = Command.make(
  "features",
  {
    indicators: cli.text("indicators", "LIST", "macd,rsi_30,… (stockstats names) or technicalindicators NAME:param=value, or a JSON list"),
    bars: cli.text("bars", "FILE.csv", "the bars (Date,Open,High,Low,Close,Volume)")
  },
  handler(() => import("./features.js"), (m) => m.featuresCommand)
).pipe(Command.withDescription("print the indicators of a bars CSV, as the agent sees them"))

const train = Command.make(
  "train",
  {
    config,
    out,
    until: cli.optionalTime("until", "train on bars before this time (default: all)"),
    iterations: cli.optionalInt("iterations", "evolution-strategies iterations (≥ 1, default 150)", 1),
    seed: cli.optionalInt("seed", "the random seed (≥ 0, default 7)", 0),
    name: cli.optionalText("name", "N", "the model's name (default: the name of --out's parent folder)"),
    version: cli.optionalText(MODEL_VERSION, "V", "the model's version (default: the name of --out)").pipe(Options.withAlias("version"))
  },
  handler(() => import("./demo.js"), (m) => m.trainCommand)
).pipe(Command.withDescription("train a small agent by evolution strategies over the simulator; writes a model registry folder"))

const synth = Command.make(
  "synth",
  { out, seed: cli.optionalInt("seed", "the market's seed (≥ 0, default 42)", 0) },
  handler(() => import("./demo.js"), (m) => m.synthCommand)
).pipe(Command.withDescription("write the demo's seeded synthetic one-minute bars"))

const emulator = Command.make("emulator", emulatorOptions, handler(() => import("./emulator.js"), (m) => m.emulatorCommand)).pipe(
  Command.withDescription(
    "a local Alpaca paper API over a bars folder, as strict as Alpaca (200 requests/min per key, one data socket, SIP by plan), with seeded faults and an outage"
  )
)

/** Every command, declared once: the parser, `--help`, completions and the README check read this. */
export const subcommands = [demo, trade, backtest, compare, rehearse, report, download, register, features, train, synth, emulator] as const

const root: Command.Command<"rl-paper-trader", never, ValidationError.ValidationError, {}> = Command.make(CLI_NAME, {}, () =>
  Effect.fail(ValidationError.helpRequested(root.descriptor))
).pipe(Command.withDescription("run a trained RL agent (ONNX) in simulation or on an Alpaca paper account"))

export const rootCommand = root.pipe(Command.withSubcommands(subcommands))

/** `register --version V` and `train --version V` name the model's version, not the program's: the parser gets `--model-version`. */
const modelVersionArgs = (args: ReadonlyArray<string>): ReadonlyArray<string> =>
  args[0] === "register" || args[0] === "train" ? args.map((a) => (a === "--version" ? `--${MODEL_VERSION}` : a.startsWith("--version=") ? `--${MODEL_VERSION}=${a.slice(10)}` : a)) : args

const LOG_LEVELS = LogLevel.allLevels.map((level) => [level._tag.toLowerCase(), level] as const)

/**
 * `--log-level L` anywhere on the line (the parser's built-in one is only seen before a command's
 * own options): the arguments without it, and the level, or a message naming the option.
 */
export const takeLogLevel = (args: ReadonlyArray<string>): { readonly args: ReadonlyArray<string>; readonly level?: LogLevel.LogLevel | undefined } | string => {
  const i = args.findIndex((a) => a === "--log-level" || a.startsWith("--log-level="))
  if (i < 0) return { args }
  const inline = args[i].startsWith("--log-level=")
  const text = inline ? args[i].slice("--log-level=".length) : args[i + 1]
  const level = LOG_LEVELS.find(([name]) => name === text?.toLowerCase())?.[1]
  if (level === undefined) return `--log-level must be one of ${LOG_LEVELS.map(([name]) => name).join(", ")}, got '${text ?? ""}'`
  return { args: [...args.slice(0, i), ...args.slice(i + (inline ? 1 : 2))], level }
}

const runRoot = Command.run(rootCommand, { name: CLI_NAME, version: CLI_VERSION, executable: CLI_NAME })

/**
 * Parses `args` (without `node main.js`) and runs the command. The parser's own report of a bad
 * command line is left to the caller (one `error:` line, exit 2): its printing is silenced here.
 */
export const runCli = (argv: ReadonlyArray<string>) =>
  Effect.consoleWith((console) => {
    const taken = takeLogLevel(argv)
    if (typeof taken === "string") return Effect.fail(ValidationError.invalidValue(HelpDoc.p(taken)))
    const run = Effect.withConsole(runRoot(["node", CLI_NAME, ...modelVersionArgs(taken.args)]), {
      ...console,
      error: () => Effect.void,
      unsafe: { ...console.unsafe, error: () => {} }
    })
    return taken.level === undefined ? run : Logger.withMinimumLogLevel(run, taken.level)
  })
