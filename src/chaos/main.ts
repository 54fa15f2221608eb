#!/usr/bin/env node
/**
 * `npm run chaos`: scripted paper-trading sessions against the in-process Alpaca emulator under
 * seeded faults (429, 5xx, 5xx after performing, timeouts, latency, websocket drops, lost trade
 * updates, slow and partial fills), with the trader (`node dist/main.js trade`) killed with
 * SIGKILL at seeded moments and restarted. Each session then lets orders settle, runs the
 * trader's restart recovery once more and checks the journal against the emulator's own state:
 * no duplicate orders or decisions, no order or fill the journal did not write down, positions
 * equal to the journal's fills, no crash. Once per session (--quick: once) a second `trade` with the same config
 * is started while one runs (a service manager's double start): it must exit 2 naming the running
 * one's pid, touching nothing. Once per session (--quick: once) Alpaca goes down whole — REST
 * answers 503 and the streams are gone — for longer than any retry the trader allows (the long
 * outage): the session must hold through it and trade on, journaling it once. Prints ONE JSON line
 * on stdout (progress on stderr); exit 0 only when all four counts and the double-start failures are 0.
 *
 * `chaos [--seed N] [--sessions N] [--kills N] [--steps N] [--speed X] [--quick] [--keep]
 *        [--all-endpoints] [--no-freeze] [--no-outage] [--fault-scale X]`
 *
 * This file parses, runs and prints: options.ts declares the flags, runner.ts and session.ts drive
 * the emulator and the traders (trader.ts), verifier.ts judges a session (pure), report.ts adds up.
 * main only runs when this file is executed directly.
 */
import * as fs from "node:fs"
import { pathToFileURL } from "node:url"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import { NodeContext } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { PACKAGE_VERSION } from "../project.js"
import { TRADER_MAIN } from "./harness.js"
import { type ChaosOptions, chaosOptions } from "./options.js"
import { runChaos } from "./runner.js"
import { killAll } from "./trader.js"


/** Runs chaos and prints its JSON line: 0 when it passed, 1 when not, 2 when the trader is not built. */
const runAndPrint = async (options: ChaosOptions): Promise<number> => {
  if (!fs.existsSync(TRADER_MAIN)) {
    process.stderr.write(`chaos: ${TRADER_MAIN} not found: npm run build first\n`)
    return 2
  }
  const summary = await runChaos(options, (atHardStop) => process.stdout.write(`${atHardStop.text}\n`, () => process.exit(1)))
  process.stdout.write(`${summary.text}\n`)
  return summary.ok ? 0 : 1
}

/** `chaos [options]`: `--help`, `--version` and bad options as every command of this project; exit 2 for a bad option. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let code = 0
  const command = Command.make("chaos", { options: chaosOptions }, ({ options }) =>
    Effect.promise(() => runAndPrint(options)).pipe(Effect.map((c) => void (code = c)))
  ).pipe(Command.withDescription("kills, faults and outages against the trader on the emulator; checks that nothing is lost or doubled"))
  const exit = await Effect.runPromiseExit(
    Command.run(command, { name: "chaos", version: PACKAGE_VERSION })(["node", "chaos", ...argv]).pipe(Effect.provide(NodeContext.layer))
  )
  if (Exit.isSuccess(exit)) return code
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return 2
  throw Cause.squash(exit.cause)
}

const isMain = (() => {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(entry)).href
  } catch {
    return false
  }
})()

if (isMain) {
  process.on("exit", killAll)
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      killAll()
      process.exit(130)
    })
  }
  main(process.argv.slice(2)).then(
    (code) => process.stdout.write("", () => process.exit(code)),
    (e: unknown) => {
      killAll()
      process.stderr.write(`chaos: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
      process.exit(1)
    }
  )
}
