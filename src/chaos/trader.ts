/**
 * One run of the trader (`node dist/main.js trade`) under the runner's hand: a kill -9 at a planned
 * moment, a second trader on the same config while it runs (the double start), a watchdog for hangs.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY } from "../emulator/constants.js"
import { PROJECT, TRADER_MAIN } from "./harness.js"
import type { JournalTail } from "./journal-tail.js"
import type { DoubleStartResult } from "./verifier.js"

/** Traders (and second traders) still running, so none outlives the runner. */
const live = new Set<ChildProcess>()
/** SIGKILLs every trader still running: at the runner's exit, on a signal, at its hard stop, after a session. */
export const killAll = () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
}

/** When a run's trader is killed with SIGKILL. */
export type KillPlan =
  | { readonly kind: "timer"; readonly delayMs: number }
  | { readonly kind: "decision"; readonly nth: number; readonly delayMs: number }
  | { readonly kind: "recovery"; readonly delayMs: number }
  /** the emulator's first `partial_fill` trade update during this run: an order is part-filled when the trader dies */
  | { readonly kind: "partial"; readonly delayMs: number }

export const describeKill = (k: KillPlan): string =>
  k.kind === "timer" ? `${k.delayMs} ms after spawn` : k.kind === "decision"
      ? `${k.delayMs} ms after its decision #${k.nth}`
      : k.kind === "partial"
        ? `${k.delayMs} ms after the next partial fill at the emulator (if any)`
        : `${k.delayMs} ms after its recovery record`

/** How one trader run ended. */
export interface RunResult {
  readonly killed: boolean
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  readonly recoveryMs: number | undefined
  readonly newDecisions: number
  readonly durationMs: number
  readonly hung: boolean
  /** The double start tried during this run; undefined when none was, or it could not conclude (this run ended first). */
  readonly doubleStart: DoubleStartResult | undefined
}

/** What one trader run is to do, and what it is killed on. */
export interface RunSpec {
  readonly label: string
  readonly config: string
  readonly maxSteps: number
  readonly tail: JournalTail
  readonly kill?: KillPlan | undefined
  /** Stop (SIGTERM) once stderr shows "session started": the final recovery run. */
  readonly stopWhenStarted?: boolean
  /** SIGKILL and report a hang after this many real ms. */
  readonly limitMs: number
  readonly logFile: string
  /** Subscribes to the emulator's `partial_fill` trade updates; returns the unsubscribe. */
  readonly onPartialFill: (f: () => void) => () => void
  /** Called right when the trader is killed (to freeze market time until the next trader's first request). */
  readonly onKill?: () => void
  /** Once this run's session has started (it holds the journal), start a second trader on the same config; a planned kill waits for it. */
  readonly doubleStart?: boolean
}

/** A second trader must be refused within a few seconds; past this it is killed and counted as a failure. */
const DOUBLE_START_LIMIT_MS = 20_000

/** Starts `trade --max-steps N` on the config; resolves once it exited and its last journal lines were read. */
export const runTrader = (spec: RunSpec): Promise<RunResult> =>
  new Promise((resolve) => {
    const t0 = Date.now()
    const firstLine = spec.tail.lines.length
    const spawnTrader = (maxSteps: number) => {
      const c = spawn(process.execPath, [TRADER_MAIN, "trade", "--config", spec.config, "--max-steps", String(maxSteps)], {
        cwd: PROJECT,
        env: { ...process.env, APCA_API_KEY_ID: EMULATOR_KEY_ID, APCA_API_SECRET_KEY: EMULATOR_SECRET_KEY },
        stdio: ["ignore", "pipe", "pipe"]
      })
      live.add(c)
      return c
    }
    const child = spawnTrader(spec.maxSteps)
    let stderr = ""
    let killed = false
    let hung = false
    let stopping = false
    let killScheduled = false
    const timers: Array<NodeJS.Timeout> = []
    const alive = () => child.exitCode === null && child.signalCode === null
    // the double start: a second trader while this one holds the journal
    let intruder: ChildProcess | undefined
    let intruderResult: Promise<DoubleStartResult | undefined> = Promise.resolve(undefined)
    let killWaits = false
    const intruderRunning = () => intruder !== undefined && intruder.exitCode === null && intruder.signalCode === null
    const startIntruder = () => {
      const started = Date.now()
      const holderPid = child.pid!
      const c = spawnTrader(1)
      intruder = c
      let err = ""
      c.stdout!.on("data", () => undefined)
      c.stderr!.on("data", (d: Buffer) => void (err += d.toString("utf8")))
      const watchdog = setTimeout(() => c.kill("SIGKILL"), DOUBLE_START_LIMIT_MS)
      intruderResult = new Promise((done) =>
        c.on("exit", (code, signal) => {
          live.delete(c)
          clearTimeout(watchdog)
          // killed because this run ended first: the lock was free by then, nothing to conclude
          const inconclusive = signal === "SIGKILL" && !alive() && Date.now() - started < DOUBLE_START_LIMIT_MS
          done(inconclusive ? undefined : { code, signal, stderr: err, ms: Date.now() - started, holderPid })
          if (killWaits) {
            killWaits = false
            kill9()
          }
        })
      )
    }
    const kill9 = (): void => {
      if (intruderRunning()) {
        // a kill now would free the lock and let the second trader in: kill once it is refused
        killWaits = true
        return
      }
      if (alive() && !killed) {
        killed = true
        child.kill("SIGKILL")
        spec.onKill?.()
      }
    }
    const after = (ms: number, f: () => void) => timers.push(setTimeout(f, ms))
    child.stdout!.on("data", () => undefined)
    child.stderr!.on("data", (d: Buffer) => {
      if (stderr.length < 4_000_000) stderr += d.toString("utf8")
      if (spec.stopWhenStarted === true && !stopping && /"?message"?[=:]"session started"/.test(stderr)) {
        stopping = true
        child.kill("SIGTERM")
      }
    })
    const mine = () => spec.tail.lines.slice(firstLine)
    let recoveryMs: number | undefined
    const unlisten = spec.tail.onLine(() => {
      const lines = mine()
      const r = lines.findIndex((l) => l.record?.type === "recovery")
      if (recoveryMs === undefined && r >= 0 && lines.length > r + 1) recoveryMs = lines[r + 1].at - t0
      if (spec.doubleStart === true && intruder === undefined && alive() && lines.some((l) => l.record?.type === "session_start")) startIntruder()
      const k = spec.kill
      if (k === undefined || killScheduled) return
      const due = k.kind === "decision" ? lines.filter((l) => l.record?.type === "decision").length >= k.nth : k.kind === "recovery" && r >= 0
      if (due) {
        killScheduled = true
        after(k.delayMs, kill9)
      }
    })
    if (spec.kill?.kind === "timer") after(spec.kill.delayMs, kill9)
    const partialKill = spec.kill?.kind === "partial" ? spec.kill : undefined
    const unlistenPartial = spec.onPartialFill(() => {
      if (partialKill !== undefined && !killScheduled) {
        killScheduled = true
        after(partialKill.delayMs, kill9)
      }
    })
    after(spec.limitMs, () => {
      if (alive()) {
        hung = true
        killed = false
        child.kill("SIGKILL")
      }
    })
    child.on("exit", (code, signal) => {
      live.delete(child)
      for (const t of timers) clearTimeout(t)
      unlistenPartial()
      // this run is over and its lock free: a second trader still starting must not get to trade
      if (intruderRunning()) intruder!.kill("SIGKILL")
      // the journal's last records, written just before the exit
      setTimeout(() => {
        spec.tail.poll()
        unlisten()
        const lines = mine()
        const r = lines.findIndex((l) => l.record?.type === "recovery")
        if (recoveryMs === undefined && r >= 0 && lines.length > r + 1) recoveryMs = lines[r + 1].at - t0
        fs.writeFileSync(spec.logFile, stderr)
        void intruderResult.then((doubleStart) =>
          resolve({
            killed,
            code,
            signal,
            stderr,
            recoveryMs,
            newDecisions: lines.filter((l) => l.record?.type === "decision").length,
            durationMs: Date.now() - t0,
            hung,
            doubleStart
          })
        )
      }, 20)
    })
  })

