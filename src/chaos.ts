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
 *        [--all-endpoints] [--no-freeze] [--no-outage]`
 *
 * The verification functions are pure and exported (tested in test/chaos/); main only runs when
 * this file is executed directly.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { NodeContext } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { Bar } from "./core/bar.js"
import { type JournalRecord, readJournal } from "./domain/Journal.js"
import { Rng } from "./core/rng.js"
import {
  EMULATOR_KEY_ID,
  EMULATOR_SECRET_KEY,
  type EmulatorHandle,
  type EmulatorMiddleware,
  type FaultCounts,
  type FaultOptions,
  loadBarsDir,
  startEmulator
} from "./emulator/index.js"

// ---------------------------------------------------------------------------------------------
// Verification (pure)
// ---------------------------------------------------------------------------------------------

/** An order as `GET /v2/orders` answers it (only the fields the checks read). */
export interface EmulatorOrder {
  readonly client_order_id: string
  readonly symbol: string
  readonly side: string
  readonly qty: string | number | null
  readonly filled_qty: string | number | null
  readonly status: string
  readonly id?: string
  readonly created_at?: string
  readonly filled_avg_price?: string | number | null
}

/** A position as `GET /v2/positions` answers it. */
export interface EmulatorPosition {
  readonly symbol: string
  readonly qty: string | number
}

export type JournalEntry = JournalRecord

export interface ParsedJournal {
  readonly records: ReadonlyArray<JournalEntry>
  /** 1-based numbers of newline-terminated lines that are not journal records (not JSON, or not of a record's shape). */
  readonly badLines: ReadonlyArray<number>
  /** Whether the file ends in an unterminated (torn) line; it is not counted as bad. */
  readonly tornTail: boolean
}

/** Reads a journal with the trader's own reader: every terminated line must be a record; a torn last line is allowed. */
export const parseJournal = (text: string): ParsedJournal => {
  const read = readJournal(new TextEncoder().encode(text))
  return { records: read.records, badLines: read.unreadable.map((u) => u.line), tornTail: read.tornBytes > 0 }
}

export interface ClientOrderIdParts {
  readonly deployment: string
  readonly ticker: string
  /** `yyyymmddThhmmZ` */
  readonly bar: string
  /** `b` buy, `s` sell, `f` flatten */
  readonly leg: string
}

/** `<deployment>-<TICKER>-<yyyymmddThhmmZ>-<leg>`; `undefined` for anything else. */
export const parseClientOrderId = (id: string): ClientOrderIdParts | undefined => {
  const m = /^(.+)-([^-]+)-(\d{8}T\d{4}Z)-([a-z])$/.exec(id)
  return m === null ? undefined : { deployment: m[1], ticker: m[2], bar: m[3], leg: m[4] }
}

const num = (v: unknown): number => {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN
  return Number.isFinite(n) ? n : 0
}

const EPS = 1e-9

export interface CheckResult {
  readonly count: number
  /** One human-readable line per counted problem. */
  readonly details: ReadonlyArray<string>
}

/**
 * Orders at the broker that share a (ticker, decision bar, leg) beyond the first, plus decision
 * records for the same `bar_time` beyond the first (a bar decided twice, e.g. after a restart).
 */
export const countDuplicateOrders = (orders: ReadonlyArray<EmulatorOrder>, records: ReadonlyArray<JournalEntry>): CheckResult => {
  const details: Array<string> = []
  const byKey = new Map<string, Array<EmulatorOrder>>()
  for (const o of orders) {
    const p = parseClientOrderId(o.client_order_id)
    const key = p === undefined ? `raw:${o.client_order_id}` : `${p.ticker}|${p.bar}|${p.leg}`
    byKey.set(key, [...(byKey.get(key) ?? []), o])
  }
  let count = 0
  for (const [key, group] of byKey) {
    if (group.length > 1) {
      count += group.length - 1
      details.push(`duplicate order ${key}: ${group.map((o) => `${o.client_order_id} (${o.id ?? "?"}, ${o.status})`).join(", ")}`)
    }
  }
  const decisions = new Map<string, number>()
  for (const r of records) if (r.type === "decision") decisions.set(String(r.bar_time), (decisions.get(String(r.bar_time)) ?? 0) + 1)
  for (const [bar, n] of decisions) {
    if (n > 1) {
      count += n - 1
      details.push(`bar ${bar} decided ${n} times in the journal`)
    }
  }
  return { count, details }
}

/** Shares the journal's `fill`/`partial_fill` records add up to, per client order id. */
export const journaledFills = (records: ReadonlyArray<JournalEntry>): Map<string, number> => {
  const filled = new Map<string, number>()
  for (const r of records) {
    if ((r.type === "fill" || r.type === "partial_fill") && typeof r.client_order_id === "string") {
      filled.set(r.client_order_id, (filled.get(r.client_order_id) ?? 0) + num(r.qty))
    }
  }
  return filled
}

/** Client order ids the journal meant to send (`decision` and `flatten` records). */
export const journaledIntents = (records: ReadonlyArray<JournalEntry>): Set<string> => {
  const ids = new Set<string>()
  for (const r of records) {
    if ((r.type === "decision" || r.type === "flatten") && Array.isArray(r.orders)) {
      for (const o of r.orders as ReadonlyArray<{ client_order_id?: unknown }>) if (typeof o?.client_order_id === "string") ids.add(o.client_order_id)
    }
  }
  return ids
}

/**
 * Orders with fills the journal does not fully record, orders the journal never wrote down, and
 * unreadable journal lines (a torn last line excepted).
 */
export const countLostJournalRecords = (orders: ReadonlyArray<EmulatorOrder>, journal: ParsedJournal): CheckResult => {
  const details: Array<string> = []
  const filled = journaledFills(journal.records)
  const intents = journaledIntents(journal.records)
  let count = 0
  for (const o of orders) {
    const atBroker = num(o.filled_qty)
    const ours = filled.get(o.client_order_id) ?? 0
    if (atBroker > 0 && ours + EPS < atBroker) {
      count++
      details.push(`fills of ${o.client_order_id} not journaled: broker filled ${atBroker} (${o.status}), journal records ${ours}`)
    }
    if (!intents.has(o.client_order_id)) {
      count++
      details.push(`order ${o.client_order_id} (${o.side} ${num(o.qty)} ${o.symbol}, ${o.status}) is in no decision/flatten record`)
    }
  }
  for (const line of journal.badLines) {
    count++
    details.push(`journal line ${line} is not a record`)
  }
  return { count, details }
}

/** Net shares per ticker by the journal's fills (buys − sells). */
export const journaledPositions = (records: ReadonlyArray<JournalEntry>): Map<string, number> => {
  const net = new Map<string, number>()
  for (const r of records) {
    if (r.type === "fill" || r.type === "partial_fill") {
      const q = num(r.qty)
      const t = String(r.ticker)
      net.set(t, (net.get(t) ?? 0) + (r.side === "sell" ? -q : q))
    }
  }
  return net
}

/** Tickers whose broker position differs from the journal's net filled shares. */
export const countPositionMismatches = (positions: ReadonlyArray<EmulatorPosition>, records: ReadonlyArray<JournalEntry>): CheckResult => {
  const ours = journaledPositions(records)
  const theirs = new Map(positions.map((p) => [p.symbol, num(p.qty)] as const))
  const details: Array<string> = []
  let count = 0
  for (const ticker of new Set([...ours.keys(), ...theirs.keys()])) {
    const j = ours.get(ticker) ?? 0
    const b = theirs.get(ticker) ?? 0
    if (Math.abs(j - b) > EPS) {
      count++
      details.push(`position ${ticker}: broker ${b}, journal fills ${j}`)
    }
  }
  return { count, details }
}

/** Orders whose journaled fills exceed what the broker filled (a fill journaled twice): diagnostics only. */
export const overRecordedFills = (orders: ReadonlyArray<EmulatorOrder>, records: ReadonlyArray<JournalEntry>): ReadonlyArray<string> => {
  const filled = journaledFills(records)
  return orders
    .filter((o) => (filled.get(o.client_order_id) ?? 0) > num(o.filled_qty) + EPS)
    .map((o) => `${o.client_order_id}: broker filled ${num(o.filled_qty)} (${o.status}, qty ${num(o.qty)}), journal records ${filled.get(o.client_order_id)}`)
}

export interface Verification {
  readonly duplicate_orders: number
  readonly lost_journal_records: number
  readonly position_mismatches: number
  readonly details: ReadonlyArray<string>
}

/** The three state checks of one session. */
export const verifySession = (orders: ReadonlyArray<EmulatorOrder>, positions: ReadonlyArray<EmulatorPosition>, journal: ParsedJournal): Verification => {
  const dup = countDuplicateOrders(orders, journal.records)
  const lost = countLostJournalRecords(orders, journal)
  const pos = countPositionMismatches(positions, journal.records)
  const over = overRecordedFills(orders, journal.records).map((d) => `over-recorded fill ${d}`)
  return {
    duplicate_orders: dup.count,
    lost_journal_records: lost.count,
    position_mismatches: pos.count,
    details: [...dup.details, ...lost.details, ...pos.details, ...over]
  }
}

/** How a second `trade` started on a running one's config ended. */
export interface DoubleStartResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  /** Real time from its spawn to its exit. */
  readonly ms: number
  /** The pid of the trader that held the journal. */
  readonly holderPid: number
}

/** What is wrong with a double start's outcome (undefined: it exited 2 naming the holder's pid). */
export const doubleStartProblem = (r: DoubleStartResult): string | undefined => {
  const named = r.stderr.includes(`is in use by another rl-paper-trader (pid ${r.holderPid})`)
  if (r.code === 2 && named) return undefined
  const last = r.stderr.trim().split("\n").slice(-3).join(" | ")
  return `a second trade on the same config ${r.code === null ? `was killed (${r.signal}) after ${r.ms} ms` : `exited ${r.code}`}` +
    `${named ? "" : ` without naming the running trader (pid ${r.holderPid})`}: ${last}`
}

/** A trader run's stderr showing a crash: an `internal error` line or a stack trace (raw, or escaped in a JSON/logfmt log line). */
export const stderrShowsCrash = (stderr: string): boolean => /internal error/.test(stderr) || /(\n|\\n) {4}at /.test(stderr)

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------

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

/** The parser's message as one plain line. */
const plainText = (doc: HelpDoc.HelpDoc): string =>
  HelpDoc.toAnsiText(doc)
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")

/** The runner's options from its arguments, or what is wrong with them (one line naming the option). */
export const parseChaosArgs = (argv: ReadonlyArray<string>): Effect.Effect<ChaosOptions, string> =>
  Options.processCommandLine(chaosOptions, argv, CliConfig.defaultConfig).pipe(
    Effect.mapError((e) => plainText(e.error)),
    Effect.flatMap(([error, leftover, options]) =>
      Option.isSome(error)
        ? Effect.fail(plainText(error.value.error))
        : leftover.length > 0
          ? Effect.fail(`unknown argument '${leftover[0]}'`)
          : Effect.succeed(options)
    ),
    Effect.provide(NodeContext.layer)
  )


const PROJECT = fileURLToPath(new URL("../", import.meta.url))
const MAIN = nodePath.join(PROJECT, "dist", "main.js")
const DAY_MS = 86_400_000
const BAR_MS = 5 * 60_000
/**
 * The trader's retry backoff in chaos (`supervision`): from 0.1 s, at most 0.5 s apart, so a REST
 * call's retries (5) give up within about 2 s and the long outage below outlasts all of them.
 */
const CHAOS_BACKOFF = { base: 0.1, max: 0.5 }
/** The long outage: at least this much real time, and at least {@link LONG_OUTAGE_BARS} bars of market time. */
const LONG_OUTAGE_MIN_MS = 3_000
const LONG_OUTAGE_BARS = 6
const longOutageMs = (speed: number) => Math.max(LONG_OUTAGE_MIN_MS, (LONG_OUTAGE_BARS * BAR_MS) / speed)

const log = (message: string) => process.stderr.write(`chaos: ${message}\n`)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const live = new Set<ChildProcess>()
const killAll = () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
}

/** Tails a journal file: every complete line, with the real time it was first seen. */
class JournalTail {
  readonly lines: Array<{ readonly at: number; readonly record: JournalEntry | undefined }> = []
  private offset = 0
  private pending = ""
  private fd: number | undefined
  private timer: NodeJS.Timeout | undefined
  private listeners: Array<() => void> = []
  constructor(private readonly file: string) {}

  start() {
    this.timer = setInterval(() => this.poll(), 4)
  }

  stop() {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.poll()
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
  }

  onLine(f: () => void): () => void {
    this.listeners.push(f)
    return () => void (this.listeners = this.listeners.filter((g) => g !== f))
  }

  poll() {
    try {
      if (this.fd === undefined) {
        if (!fs.existsSync(this.file)) return
        this.fd = fs.openSync(this.file, "r")
      }
      const size = fs.fstatSync(this.fd).size
      if (size < this.offset) {
        // the trader cut a torn tail: what we had not seen as a complete line is gone
        this.offset = size
        this.pending = ""
      }
      if (size === this.offset) return
      const buf = Buffer.alloc(size - this.offset)
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.offset)
      this.offset += n
      const text = this.pending + buf.subarray(0, n).toString("utf8")
      const parts = text.split("\n")
      this.pending = parts.pop() ?? ""
      const now = Date.now()
      let added = false
      for (const line of parts) {
        if (line.trim() === "") continue
        let record: JournalEntry | undefined
        try {
          record = JSON.parse(line) as JournalEntry
        } catch {
          record = undefined
        }
        this.lines.push({ at: now, record })
        added = true
      }
      if (added) for (const f of [...this.listeners]) f()
    } catch {
      // the file is being written or cut: the next poll sees it
    }
  }

  decisions(): number {
    return this.lines.filter((l) => l.record?.type === "decision").length
  }
}

type KillPlan =
  | { readonly kind: "timer"; readonly delayMs: number }
  | { readonly kind: "decision"; readonly nth: number; readonly delayMs: number }
  | { readonly kind: "recovery"; readonly delayMs: number }
  /** the emulator's first `partial_fill` trade update during this run: an order is part-filled when the trader dies */
  | { readonly kind: "partial"; readonly delayMs: number }

const describeKill = (k: KillPlan): string =>
  k.kind === "timer" ? `${k.delayMs} ms after spawn` : k.kind === "decision"
      ? `${k.delayMs} ms after its decision #${k.nth}`
      : k.kind === "partial"
        ? `${k.delayMs} ms after the next partial fill at the emulator (if any)`
        : `${k.delayMs} ms after its recovery record`

interface RunResult {
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

interface RunSpec {
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

const runTrader = (spec: RunSpec): Promise<RunResult> =>
  new Promise((resolve) => {
    const t0 = Date.now()
    const firstLine = spec.tail.lines.length
    const spawnTrader = (maxSteps: number) => {
      const c = spawn(process.execPath, [MAIN, "trade", "--config", spec.config, "--max-steps", String(maxSteps)], {
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

/** New York trading days (their first bar's start and last bar's end), from the bars of one ticker. */
const tradingDays = (bars: ReadonlyArray<Bar>): Array<{ open: number; close: number; date: string }> => {
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit" })
  const days = new Map<string, { open: number; close: number; date: string }>()
  for (let i = 0; i < bars.length; i++) {
    const date = fmt.format(new Date(bars[i].time))
    const end = bars[i].time + 60_000
    const d = days.get(date)
    if (d === undefined) days.set(date, { open: bars[i].time, close: end, date })
    else d.close = Math.max(d.close, end)
  }
  return [...days.values()].sort((a, b) => a.open - b.open)
}

const deploymentYaml = (emu: EmulatorHandle, journalDir: string, speed: number): string => {
  const ws = emu.url.replace(/^http/, "ws")
  const p = (rel: string) => nodePath.join(PROJECT, rel)
  return [
    "# chaos: config/demo.yaml with absolute paths, its own journal and the emulator's URLs",
    "tickers: [SYNA, SYNB, SYNC]",
    "interval: 5m",
    `model: ${p("model_registry/demo/1")}`,
    `environment: ${p("config/environments/demo.yaml")}`,
    "data:",
    `  bars: ${p("data/demo")}`,
    "simulation:",
    "  fill_price: next_open",
    "  slippage_bps: 1",
    "risk:",
    "  max_position_value: 60000",
    "  max_order_value: 20000",
    `journal: ${journalDir}`,
    "deployment_id: chaos",
    "alpaca:",
    `  trading_url: ${emu.url}`,
    `  data_url: ${emu.url}`,
    `  data_stream_url: ${ws}/v2`,
    `  trading_stream_url: ${ws}/stream`,
    `  clock_speed: ${speed}`,
    "supervision:",
    `  backoff_base_seconds: ${CHAOS_BACKOFF.base}`,
    `  backoff_max_seconds: ${CHAOS_BACKOFF.max}`,
    ""
  ].join("\n")
}

/** REST against the emulator with the keys, retrying what the injected faults break. */
const emulatorGet = async (url: string): Promise<unknown> => {
  let last = ""
  for (let attempt = 0; attempt < 25; attempt++) {
    try {
      const res = await fetch(url, {
        headers: { "APCA-API-KEY-ID": EMULATOR_KEY_ID, "APCA-API-SECRET-KEY": EMULATOR_SECRET_KEY },
        signal: AbortSignal.timeout(4000)
      })
      const text = await res.text()
      if (res.ok) return JSON.parse(text)
      last = `${res.status} ${text.slice(0, 200)}`
      if (res.status !== 429 && res.status < 500) break
    } catch (e) {
      last = (e as Error).message
    }
    await sleep(50 + 20 * attempt)
  }
  throw new Error(`GET ${url}: ${last}`)
}

export const fetchAllOrders = async (base: string): Promise<Array<EmulatorOrder>> => {
  const byId = new Map<string, EmulatorOrder>()
  let after: string | undefined
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ status: "all", limit: "500", direction: "asc" })
    if (after !== undefined) q.set("after", after)
    const orders = (await emulatorGet(`${base}/v2/orders?${q}`)) as Array<EmulatorOrder>
    let added = 0
    for (const o of orders) {
      const key = o.id ?? o.client_order_id
      if (!byId.has(key)) {
        byId.set(key, o)
        added++
      }
    }
    if (orders.length < 500 || added === 0) break
    // `after` is exclusive: step back a millisecond so orders sharing the last timestamp are not skipped
    after = new Date(Date.parse(String(orders[orders.length - 1].created_at)) - 1).toISOString()
  }
  return [...byId.values()]
}

interface SessionOutcome {
  readonly kills: number
  readonly faults: FaultCounts
  readonly orders: number
  readonly decisions: number
  readonly duplicate_orders: number
  readonly lost_journal_records: number
  readonly position_mismatches: number
  readonly unhandled_errors: number
  readonly recoveryMs: ReadonlyArray<number>
  readonly doubleStarts: number
  readonly doubleStartFailures: number
  readonly doubleStartMs: ReadonlyArray<number>
  /** Long outages run, and the `outage` records the journal has for them (once per trader that saw one). */
  readonly longOutages: number
  readonly outageRecords: number
}

const sumCounts = (a: Record<string, number>, b: Record<string, number>) => {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v
}

const runSession = async (
  index: number,
  options: ChaosOptions,
  bars: ReadonlyMap<string, ReadonlyArray<Bar>>,
  deadline: number,
  problems: Array<string>
): Promise<SessionOutcome> => {
  const rng = new Rng(options.seed, 1000 + index)
  const barRealMs = BAR_MS / options.speed
  // a trading day with ≥ 3 days of history before it and at least one after it
  const days = tradingDays(bars.get("SYNA") ?? [...bars.values()][0])
  const candidates = days.filter((d) => d.open >= Date.parse("2026-02-17T00:00:00Z")).slice(0, -1)
  const day = candidates[rng.int(candidates.length)]
  const start = day.open + rng.int(4) * 60_000
  const faultSeed = rng.int(2 ** 31)
  const faults: FaultOptions = {
    seed: faultSeed,
    // the trading API the trader uses and market data; the clock/calendar are excluded unless
    // --all-endpoints (the trader reads the broker's clock once at start without retrying)
    ...(options.allEndpoints ? {} : { httpMatch: /^(GET|POST|DELETE) \/v2\/(orders|positions|account|stocks)/ }),
    http429Rate: 0.03 * options.faultScale,
    retryAfterSeconds: 1,
    http5xxRate: 0.03 * options.faultScale,
    http5xxAfterRate: 0.02 * options.faultScale,
    timeoutRate: 0.01 * options.faultScale,
    hangMs: 2000,
    latencyMs: 5,
    latencyJitterMs: 15,
    wsDropEverySeconds: 2 + rng.int(3),
    lostTradeUpdatesRate: Math.min(1, 0.1 * options.faultScale),
    partialFillRate: 0.2,
    slowFillRate: 0.2,
    slowFillMs: (5 + 5 * rng.int(3)) * 60_000
  }
  // While the trader is down, market time can stand still: a supervisor restarts a trader in about a
  // second, which at 600× would be ten market minutes in which every open order fills. The emulator's
  // real-time source stops at a kill and resumes at the next trader's first request (its clock read).
  let frozenAt: number | undefined
  let frozenTotal = 0
  const now = () => (frozenAt ?? Date.now()) - frozenTotal
  const freeze = () => {
    if (options.freeze && frozenAt === undefined) frozenAt = Date.now()
  }
  const thaw = () => {
    if (frozenAt !== undefined) {
      frozenTotal += Date.now() - frozenAt
      frozenAt = undefined
    }
  }
  // the harness watches the trade updates the emulator emits (before the lost-updates fault drops any)
  const partialListeners = new Set<() => void>()
  const onPartialFill = (f: () => void) => {
    partialListeners.add(f)
    return () => void partialListeners.delete(f)
  }
  const watch: EmulatorMiddleware = {
    http: (req, next) => {
      thaw()
      return next()
    },
    frame: (_ctx, payload, send) => {
      const p = payload as { stream?: unknown; data?: { event?: unknown } } | null
      if (p?.stream === "trade_updates" && p.data?.event === "partial_fill") for (const f of [...partialListeners]) f()
      send()
    }
  }
  const emu = await startEmulator({ bars, port: 0, speed: options.speed, start, now, faults, middleware: [watch] })
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), `rlpt-chaos-${index + 1}-`))
  const journalDir = nodePath.join(dir, "journal")
  const journalFile = nodePath.join(journalDir, "journal.jsonl")
  const config = nodePath.join(dir, "chaos.yaml")
  fs.writeFileSync(config, deploymentYaml(emu, journalDir, options.speed))
  const tail = new JournalTail(journalFile)
  tail.start()
  const tag = `session ${index + 1}/${options.sessions}`
  log(`${tag}: emulator ${emu.url}, market ${new Date(start).toISOString()} at ${options.speed}×, fault seed ${faultSeed}, dir ${dir}`)

  // the long outage: Alpaca down whole once this session has made a quarter of its decisions (or, with
  // --quick, only in the first session), whatever the trader is doing then (deciding, or restarting)
  const outageMs = longOutageMs(options.speed)
  let longOutages = 0
  const tryOutage = options.outage && (!options.quick || index === 0)
  const outageAfter = Math.max(2, Math.floor(options.steps / 4))
  const stopWatchingOutage = tail.onLine(() => {
    if (!tryOutage || longOutages > 0 || tail.decisions() < outageAfter) return
    longOutages++
    emu.outage({ api: "all", forMs: outageMs, streams: true })
    log(`${tag}: long outage: Alpaca answers 503 and its streams are gone for ${(outageMs / 1000).toFixed(1)} s (${Math.round((outageMs * options.speed) / 60_000)} market minutes)`)
  })

  let kills = 0
  let unhandled = 0
  const recoveryMs: Array<number> = []
  let doubleStart: DoubleStartResult | undefined
  let doubleStartFailures = 0
  // every session tries a double start; --quick only its first (each costs a trader's start-up)
  const tryDoubleStart = !options.quick || index === 0
  const check = (label: string, r: RunResult, expectExit: boolean) => {
    if (r.recoveryMs !== undefined) recoveryMs.push(r.recoveryMs)
    const crashed = stderrShowsCrash(r.stderr)
    const badExit = r.hung || (!r.killed && expectExit && r.code !== 0)
    if (crashed || badExit) {
      unhandled++
      const what = r.hung ? "hung (killed by the watchdog)" : badExit ? `exited ${r.code ?? r.signal}` : "printed a crash"
      const lastLines = r.stderr.trim().split("\n").slice(-6).join("\n      ")
      problems.push(`${tag} ${label}: ${what}; stderr tail:\n      ${lastLines}`)
      log(`${tag} ${label}: UNHANDLED: ${what}`)
    }
  }

  try {
    let run = 0
    const maxRuns = options.kills + 4
    while (tail.decisions() < options.steps && run < maxRuns && Date.now() < deadline) {
      const remaining = options.steps - tail.decisions()
      let kill: KillPlan | undefined
      if (kills < options.kills && remaining >= 2) {
        // spread the kills over the session: each run gets about twice its share of the remaining steps
        const span = Math.max(1, Math.min(remaining - 1, Math.floor((2 * remaining) / (options.kills - kills + 1))))
        const u = rng.uniform()
        const hasJournal = tail.lines.length > 0
        kill =
          hasJournal && u < 0.15
            ? { kind: "recovery", delayMs: rng.int(30) }
            : u < 0.3
              ? { kind: "partial", delayMs: rng.int(20) }
              : u < 0.65
                ? { kind: "decision", nth: 1 + rng.int(span), delayMs: rng.int(40) }
                : { kind: "timer", delayMs: 150 + rng.int(Math.round(1000 + span * barRealMs)) }
      }
      const label = `run ${run + 1}`
      const limitMs = Math.min(deadline - Date.now(), 30_000 + (remaining + 6) * barRealMs * 3)
      log(`${tag} ${label}: trade --max-steps ${remaining}${kill === undefined ? " (to completion)" : `, kill -9 ${describeKill(kill)}`}`)
      const r = await runTrader({
        label,
        config,
        maxSteps: remaining,
        tail,
        kill,
        limitMs,
        onPartialFill,
        onKill: freeze,
        doubleStart: tryDoubleStart && doubleStart === undefined,
        logFile: nodePath.join(dir, `run-${run + 1}.stderr.log`)
      })
      if (r.killed) kills++
      check(label, r, true)
      if (r.doubleStart !== undefined) {
        doubleStart = r.doubleStart
        const problem = doubleStartProblem(r.doubleStart)
        if (problem !== undefined) {
          doubleStartFailures++
          problems.push(`${tag} ${label}: ${problem}`)
        }
        log(`${tag} ${label}: double start: ${problem === undefined ? `refused, exit 2 naming pid ${r.doubleStart.holderPid}` : `FAILED: ${problem}`} after ${r.doubleStart.ms} ms`)
      }
      log(
        `${tag} ${label}: ${r.killed ? "killed (SIGKILL)" : r.hung ? "hung" : `exit ${r.code}`} after ${r.durationMs} ms, +${r.newDecisions} decisions ` +
          `(${tail.decisions()}/${options.steps})${r.recoveryMs === undefined ? "" : `, recovery ${r.recoveryMs} ms`}`
      )
      run++
      if (!r.killed && r.newDecisions === 0 && tail.decisions() < options.steps) {
        problems.push(`${tag} ${label}: a run that was not killed made no decision (market over?)`)
        break
      }
      if (r.killed) await sleep(rng.int(200))
    }
    if (tail.decisions() < options.steps) log(`${tag}: WARNING only ${tail.decisions()}/${options.steps} decisions`)
    if (tryDoubleStart && doubleStart === undefined) log(`${tag}: WARNING the double start was not tried (no run lasted long enough)`)
    stopWatchingOutage()
    if (tryOutage && longOutages === 0) log(`${tag}: WARNING the long outage was not run (too few decisions)`)

    thaw()
    // let orders settle: the market moves to the day's close (day orders fill or expire), then the
    // trader starts once more and runs its restart recovery (stopped once its session started)
    const marketNow = emu.marketNow()
    const close = days.find((d) => d.open <= marketNow && marketNow < d.close)?.close ?? marketNow + 30 * 60_000
    const preOrders = await fetchAllOrders(emu.url)
    const preJournal = parseJournal(fs.existsSync(journalFile) ? fs.readFileSync(journalFile, "utf8") : "")
    const pre = countLostJournalRecords(preOrders, preJournal)
    log(`${tag}: before the final recovery run: ${pre.count} order(s) with fills or records the journal lacks${pre.count > 0 ? ` (${pre.details.slice(0, 3).join("; ")})` : ""}`)
    await emu.advanceTo(Math.max(marketNow, close + 1000))
    const r = await runTrader({
      label: "recovery check",
      config,
      maxSteps: 1,
      tail,
      stopWhenStarted: true,
      onPartialFill,
      limitMs: Math.min(Math.max(5000, deadline - Date.now()), 20_000),
      logFile: nodePath.join(dir, "final-recovery.stderr.log")
    })
    check("final recovery run", r, true)
    log(`${tag} final recovery run: exit ${r.code ?? r.signal} after ${r.durationMs} ms, +${r.newDecisions} decisions`)

    const orders = await fetchAllOrders(emu.url)
    const positions = (await emulatorGet(`${emu.url}/v2/positions`)) as Array<EmulatorPosition>
    tail.stop()
    const journalText = fs.existsSync(journalFile) ? fs.readFileSync(journalFile, "utf8") : ""
    const journal = parseJournal(journalText)
    const v = verifySession(orders, positions, journal)
    const decisions = journal.records.filter((x) => x.type === "decision").length
    const outageRecords = journal.records.filter((x) => x.type === "outage").length
    if (longOutages > 0) log(`${tag}: the journal has ${outageRecords} outage record(s) and ${journal.records.filter((x) => x.type === "outage_end").length} outage_end record(s)`)
    const bad = v.duplicate_orders + v.lost_journal_records + v.position_mismatches
    if (bad > 0 || v.details.length > 0) {
      const lines = journalText.split("\n")
      for (const d of v.details) {
        problems.push(`${tag}: ${d}`)
        const id = /chaos-[A-Z]+-\d{8}T\d{4}Z-[a-z]/.exec(d)?.[0]
        if (id !== undefined) {
          const order = orders.find((o) => o.client_order_id === id)
          if (order !== undefined) problems.push(`    emulator: ${JSON.stringify(order)}`)
          for (const l of lines.filter((x) => x.includes(id)).slice(0, 8)) problems.push(`    journal: ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`)
        }
      }
    }
    log(
      `${tag}: ${orders.length} orders, ${decisions} decisions, ${kills} kills; duplicates ${v.duplicate_orders}, lost ${v.lost_journal_records}, ` +
        `position mismatches ${v.position_mismatches}, unhandled ${unhandled}, double-start failures ${doubleStartFailures}; faults ${JSON.stringify(emu.faultCounts())}`
    )
    const ok = bad + unhandled + doubleStartFailures === 0
    if (ok && !options.keep) fs.rmSync(dir, { recursive: true, force: true })
    else log(`${tag}: kept ${dir}`)
    return {
      kills,
      faults: emu.faultCounts(),
      orders: orders.length,
      decisions,
      duplicate_orders: v.duplicate_orders,
      lost_journal_records: v.lost_journal_records,
      position_mismatches: v.position_mismatches,
      unhandled_errors: unhandled,
      recoveryMs,
      doubleStarts: doubleStart === undefined ? 0 : 1,
      doubleStartFailures,
      doubleStartMs: doubleStart === undefined ? [] : [doubleStart.ms],
      longOutages,
      outageRecords
    }
  } finally {
    tail.stop()
    killAll()
    await emu.close()
  }
}

/** `chaos [options]`: `--help`, `--version` and bad options as every command of this project; exit 2 for a bad option. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let code = 0
  const command = Command.make("chaos", { options: chaosOptions }, ({ options }) =>
    Effect.promise(() => runChaos(options)).pipe(Effect.map((c) => void (code = c)))
  ).pipe(Command.withDescription("kills, faults and outages against the trader on the emulator; checks that nothing is lost or doubled"))
  const exit = await Effect.runPromiseExit(
    Command.run(command, { name: "chaos", version: PACKAGE_VERSION })(["node", "chaos", ...argv]).pipe(Effect.provide(NodeContext.layer))
  )
  if (Exit.isSuccess(exit)) return code
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return 2
  throw Cause.squash(exit.cause)
}

/** The project's version, for `chaos --version`. */
const PACKAGE_VERSION: string = (JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version

const runChaos = async (options: ChaosOptions): Promise<number> => {
  if (!fs.existsSync(MAIN)) {
    process.stderr.write(`chaos: ${MAIN} not found: npm run build first\n`)
    return 2
  }
  const t0 = Date.now()
  const barRealMs = BAR_MS / options.speed
  const outageMs = options.outage ? longOutageMs(options.speed) : 0
  const budgetMs = options.quick
    ? 55_000 + 2 * outageMs
    : options.sessions * (60_000 + options.kills * 10_000 + (options.steps + 4 * options.kills + 10) * barRealMs * 3 + 2 * outageMs)
  const deadline = t0 + budgetMs - 8_000
  const totals = {
    kills: 0,
    faults: {} as Record<string, number>,
    orders: 0,
    decisions: 0,
    duplicate_orders: 0,
    lost_journal_records: 0,
    position_mismatches: 0,
    unhandled_errors: 0,
    recovery: [] as Array<number>,
    double_starts: 0,
    double_start_failures: 0,
    doubleStartMs: [] as Array<number>,
    long_outages: 0,
    outage_records: 0
  }
  let sessionsDone = 0
  let timedOut = false
  const line = () => {
    const rec = totals.recovery
    const ok =
      !timedOut && sessionsDone === options.sessions &&
      totals.duplicate_orders + totals.lost_journal_records + totals.position_mismatches + totals.unhandled_errors + totals.double_start_failures === 0
    return {
      ok,
      text: JSON.stringify({
        seed: options.seed,
        sessions: sessionsDone,
        kills: totals.kills,
        faults: { ...totals.faults, kill9: totals.kills },
        orders: totals.orders,
        decisions: totals.decisions,
        duplicate_orders: totals.duplicate_orders,
        lost_journal_records: totals.lost_journal_records,
        position_mismatches: totals.position_mismatches,
        unhandled_errors: totals.unhandled_errors,
        recovery_ms: {
          max: rec.length === 0 ? 0 : Math.max(...rec),
          mean: rec.length === 0 ? 0 : Math.round(rec.reduce((a, b) => a + b, 0) / rec.length)
        },
        double_starts: totals.double_starts,
        double_start_failures: totals.double_start_failures,
        double_start_ms: { max: totals.doubleStartMs.length === 0 ? 0 : Math.max(...totals.doubleStartMs) },
        long_outages: totals.long_outages,
        outage_records: totals.outage_records,
        ...(timedOut ? { timed_out: true } : {}),
        ok
      })
    }
  }
  const hardStop = setTimeout(() => {
    timedOut = true
    killAll()
    log(`hard timeout after ${budgetMs} ms: stopping`)
    const { text } = line()
    process.stdout.write(`${text}\n`, () => process.exit(1))
  }, budgetMs)

  log(
    `seed ${options.seed}, ${options.sessions} session(s) × ${options.steps} decisions, ≤ ${options.kills} kill(s) each, speed ${options.speed}× ` +
      `(a 5m bar = ${Math.round(barRealMs)} ms real), budget ${Math.round(budgetMs / 1000)} s`
  )
  const bars = await loadBarsDir(nodePath.join(PROJECT, "data", "demo"))
  const problems: Array<string> = []
  for (let i = 0; i < options.sessions; i++) {
    if (Date.now() >= deadline) {
      log(`out of time before session ${i + 1}`)
      timedOut = true
      break
    }
    try {
      const s = await runSession(i, options, bars, deadline, problems)
      totals.kills += s.kills
      sumCounts(totals.faults, s.faults as unknown as Record<string, number>)
      totals.orders += s.orders
      totals.decisions += s.decisions
      totals.duplicate_orders += s.duplicate_orders
      totals.lost_journal_records += s.lost_journal_records
      totals.position_mismatches += s.position_mismatches
      totals.unhandled_errors += s.unhandled_errors
      totals.recovery.push(...s.recoveryMs)
      totals.double_starts += s.doubleStarts
      totals.double_start_failures += s.doubleStartFailures
      totals.doubleStartMs.push(...s.doubleStartMs)
      totals.long_outages += s.longOutages
      totals.outage_records += s.outageRecords
      sessionsDone++
    } catch (e) {
      problems.push(`session ${i + 1}: the harness failed: ${(e as Error).stack ?? String(e)}`)
      totals.unhandled_errors++
      sessionsDone++
    }
  }
  clearTimeout(hardStop)
  if (problems.length > 0) {
    log("problems:")
    for (const p of problems) process.stderr.write(`  ${p}\n`)
  }
  const { ok, text } = line()
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${ok ? "ok" : "NOT ok"}`)
  process.stdout.write(`${text}\n`)
  return ok ? 0 : 1
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
