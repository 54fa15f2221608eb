/**
 * One chaos session: the emulator on a seeded trading day with seeded faults, the trader run and
 * killed -9 at seeded moments until it has made its decisions, a double start, a long outage, then
 * orders settled, a last recovery run and the verifier's verdict on the journal and the emulator.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import type { Bar } from "../core/bar.js"
import { Rng } from "../core/rng.js"
import { type EmulatorHandle, type EmulatorMiddleware, type FaultOptions, startEmulator } from "../emulator/index.js"
import { fetchAllOrders, fetchPositions } from "./emulator-state.js"
import { log, PROJECT, sleep } from "./harness.js"
import { JournalTail } from "./journal-tail.js"
import type { ChaosOptions } from "./options.js"
import { detailProblems, type SessionOutcome } from "./report.js"
import { describeKill, type KillPlan, killAll, type RunResult, runTrader } from "./trader.js"
import { countLostJournalRecords, type DoubleStartResult, doubleStartProblem, parseJournal, stderrShowsCrash, verifySession } from "./verifier.js"

/** The demo deployment's bar (5m) in ms. */
export const BAR_MS = 5 * 60_000
/**
 * The trader's retry backoff in chaos (`supervision`): from 0.1 s, at most 0.5 s apart, so a REST
 * call's retries (5) give up within about 2 s and the long outage below outlasts all of them.
 */
const CHAOS_BACKOFF = { base: 0.1, max: 0.5 }
/** The long outage: at least this much real time, and at least {@link LONG_OUTAGE_BARS} bars of market time. */
const LONG_OUTAGE_MIN_MS = 3_000
const LONG_OUTAGE_BARS = 6
/** Real ms of the long outage at this market speed. */
export const longOutageMs = (speed: number) => Math.max(LONG_OUTAGE_MIN_MS, (LONG_OUTAGE_BARS * BAR_MS) / speed)

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

/** The trader's deployment: config/demo.yaml with absolute paths, its own journal and the emulator's URLs. */
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

/** Runs session `index` (0-based) to its verdict; what went wrong is added to `problems`. */
export const runSession = async (
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
    const positions = await fetchPositions(emu.url)
    tail.stop()
    const journalText = fs.existsSync(journalFile) ? fs.readFileSync(journalFile, "utf8") : ""
    const journal = parseJournal(journalText)
    const v = verifySession(orders, positions, journal)
    const decisions = journal.records.filter((x) => x.type === "decision").length
    const outageRecords = journal.records.filter((x) => x.type === "outage").length
    if (longOutages > 0) log(`${tag}: the journal has ${outageRecords} outage record(s) and ${journal.records.filter((x) => x.type === "outage_end").length} outage_end record(s)`)
    const bad = v.duplicate_orders + v.lost_journal_records + v.position_mismatches
    problems.push(...detailProblems(tag, v.details, orders, journalText))
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

