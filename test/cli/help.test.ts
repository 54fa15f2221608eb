import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import { describe, expect, it } from "vitest"
import { subcommands } from "../../src/cli/definition.js"
import { PROJECT } from "../support/tmp.js"

const cli = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [path.join(PROJECT, "dist/main.js"), ...args], { encoding: "utf8", timeout: 60_000 })
  return { code: r.status, stdout: r.stdout.replace(/\u001b\[[0-9;]*m/g, ""), stderr: r.stderr }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any command, whatever its handler's types
type AnyCommand = Command.Command<any, any, any, any>
const commands: ReadonlyArray<AnyCommand> = subcommands

/** A command's options as the CLI declares them: one group per option, its names (an option and its aliases). */
const declaredOptions = (command: AnyCommand): ReadonlyArray<ReadonlyArray<string>> => {
  const help = HelpDoc.toAnsiText(Command.getHelp(command, CliConfig.make({ showBuiltIns: false }))).replace(/\u001b\[[0-9;]*m/g, "")
  const options = help.slice(help.indexOf("OPTIONS"))
  // an option's heading starts its line: `--name VALUE` or `(--name, --alias) VALUE`
  return options
    .split("\n")
    .filter((line) => /^\(?--/.test(line))
    .map((line) => [...(line.match(/^\((.*?)\)/)?.[1] ?? line.split(" ")[0]).matchAll(/--[a-z0-9][a-z0-9-]*/g)].map((m) => m[0]))
}

const commandName = (command: AnyCommand): string => [...Command.getNames(command)][0]

/** The README's "Commands" block: command → the options it shows (continuation lines belong to the command above). */
const readmeCommands = (): ReadonlyMap<string, ReadonlySet<string>> => {
  const readme = fs.readFileSync(path.join(PROJECT, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("\n## Commands\n"), readme.indexOf("\n## ", readme.indexOf("\n## Commands\n") + 1))
  const block = section.slice(section.indexOf("```\n") + 4, section.indexOf("\n```", section.indexOf("```\n") + 4))
  const commands = new Map<string, Set<string>>()
  let current: Set<string> | undefined
  for (const line of block.split("\n")) {
    const head = line.match(/^rl-paper-trader ([a-z]+)/)
    if (head !== null) commands.set(head[1], (current = new Set()))
    for (const m of line.matchAll(/--[a-z0-9][a-z0-9-]*/g)) current?.add(m[0])
  }
  return commands
}

describe("the command line (@effect/cli)", () => {
  it("declares every command with its options, each with a description", () => {
    expect(commands.map(commandName)).toEqual(["demo", "trade", "backtest", "compare", "rehearse", "report", "download", "register", "features", "train", "synth", "emulator"])
    const emulator = declaredOptions(commands.find((c) => commandName(c) === "emulator")!).flat()
    for (const name of ["--bars", "--rate-limit", "--plan", "--outage-at", "--outage-seconds", "--fault-seed", "--rate-429", "--slow-fill-bars"]) expect(emulator).toContain(name)
  })

  it("the README's Commands block shows exactly the options each command declares", () => {
    const readme = readmeCommands()
    expect([...readme.keys()].sort()).toEqual(commands.map(commandName).sort())
    for (const command of commands) {
      const name = commandName(command)
      const declared = declaredOptions(command)
      const shown = readme.get(name)!
      for (const group of declared) expect(group.some((o) => shown.has(o)), `README: ${name} does not show ${group.join(" / ")}`).toBe(true)
      for (const option of shown) expect(declared.flat(), `README: ${name} shows ${option}, which the CLI does not declare`).toContain(option)
    }
  })

  it("--help on every command lists its options and the built-ins; exit 0", () => {
    for (const command of commands) {
      const name = commandName(command)
      const r = cli(name, "--help")
      expect(r.code, `${name} --help: ${r.stderr}`).toBe(0)
      for (const group of declaredOptions(command)) for (const option of group) expect(r.stdout, `${name} --help`).toContain(option)
      for (const builtIn of ["--help", "--log-level", "--completions"]) expect(r.stdout, `${name} --help`).toContain(builtIn)
    }
    const top = cli("--help")
    expect(top.code).toBe(0)
    for (const command of commands) expect(top.stdout).toContain(`- ${commandName(command)}`)
  }, 120_000)

  it("--version prints package.json's version", () => {
    const version = (JSON.parse(fs.readFileSync(path.join(PROJECT, "package.json"), "utf8")) as { version: string }).version
    const r = cli("--version")
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(version)
  })

  it("a mistyped option gets a suggestion; a bad value exits 2 with one line naming the option", () => {
    const typo = cli("backtest", "--confg", "x.yaml", "--out", "o")
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/^error: The flag '--confg' is not recognized\. Did you mean '--config'\?/)
    const bad = cli("backtest", "--config", "x.yaml", "--out", "o", "--max-steps", "many")
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe("error: --max-steps must be a whole number ≥ 1, got 'many'\n")
    const level = cli("synth", "--out", "o", "--log-level", "loud")
    expect(level.code).toBe(2)
    expect(level.stderr).toMatch(/^error: --log-level must be one of all, trace, debug, info, warning, error, fatal, none, got 'loud'\n$/)
    for (const r of [typo, bad, level]) expect(r.stderr).not.toMatch(/\n\s+at |internal error/)
  }, 60_000)

  it("register --version V is the model's version, wherever it stands", () => {
    const r = cli("register", "--version", "1", "--onnx", "nowhere.onnx", "--env", "nowhere.json", "--tickers", "AAA", "--name", "m")
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/nowhere\.(onnx|json): file not found/)
  })

  it("prints a completion script", () => {
    const r = cli("--completions", "bash")
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("complete -F")
  })
})
