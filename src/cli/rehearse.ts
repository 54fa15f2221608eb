/**
 * `rehearse`: a dress rehearsal of a deployment on its own history before it meets Alpaca. The
 * LIVE path — the Alpaca layers over the official SDK, both websockets, the per-ticker actors of
 * `trade`, the journal — runs against the in-process emulator replaying the config's bars, with the
 * trader and the emulator on ONE virtual clock (src/layers/VirtualClock.ts), so it runs as fast as
 * the machine allows and decides the same every time; then the same bars are backtested and the
 * two journals compared (`compare`).
 */
import { readNewsFile } from "../layers/ReplayNews.js"
import { TerminalProgress } from "./progress.js"
import * as fs from "node:fs"
import { Path } from "@effect/platform"
import { Console, Effect, Exit, Fiber, Random } from "effect"
import type { SessionComparison } from "../core/compare.js"
import type { Deployment } from "../config/deployment.js"
import { loadDeployment } from "../config/deployment.js"
import { ConfigError } from "../config/errors.js"
import { simulatedFees } from "../domain/Config.js"
import { ofType, readJournal } from "../domain/Journal.js"
import { describeFaults, loadBarsDir, newsEventTimes, startEmulator, type FaultCounts, type FaultOptions } from "../emulator/index.js"
import { Market } from "../emulator/market.js"
import { alpacaSettingsForEmulator, makeEmulatorTraffic } from "./alpaca-emulator.js"
import { driveVirtualClock, makeFiberActivity, makeVirtualClock } from "../layers/VirtualClock.js"
import { BarsFileError } from "../services/MarketData.js"
import { ensureSimulationBars } from "./commands.js"
import { UsageError } from "./options.js"
import { formatComparison, runCompare } from "./compare.js"
import { runTrade } from "./trade.js"

export interface RehearsalOptions {
  /** `DIR`: `paper/journal.jsonl`, `backtest/`, `compare.json`. */
  readonly outDir: string
  /** The emulator's (and the clock's) start: the first bar at or after it; default the first bar. */
  readonly start?: number | undefined
  /** Bars starting at or after this are not decided. */
  readonly end?: number | undefined
  readonly maxSteps?: number | undefined
  /** The emulator's seeded faults; `wsDropEverySeconds` counts virtual (market) seconds here. */
  readonly faults?: FaultOptions | undefined
  /** Skip the backtest and the comparison (tests that only look at the paper journal). */
  readonly compare?: boolean
}

export interface RehearsalStats {
  readonly start: number
  /** Virtual time when the session ended. */
  readonly end: number
  /** Times the driver moved the market, and woke timers without moving it. */
  readonly marketSteps: number
  readonly timerSteps: number
  readonly realMs: number
}

export interface RehearsalSummary {
  readonly steps: number
  readonly orders: number
  readonly fills: number
  readonly rejections: number
}

export interface RehearsalResult {
  readonly paperJournal: string
  readonly summary: RehearsalSummary
  readonly stats: RehearsalStats
  readonly faults: FaultCounts | undefined
  readonly comparison: SessionComparison | undefined
}

/** Every time at which the emulator's market changes: bar starts (fills) and bar ends (publication, closes). */
const marketEvents = (market: Market): Float64Array => {
  const times = new Set<number>()
  for (const s of market.series.values()) {
    for (const t of s.times) {
      times.add(t)
      times.add(t + market.barMs)
    }
  }
  return Float64Array.from([...times].sort((a, b) => a - b))
}

/** Index of the first element > x. */
const upperBound = (xs: Float64Array, x: number): number => {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (xs[mid] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

const summarize = (journalPath: string): RehearsalSummary => {
  const records = fs.existsSync(journalPath) ? readJournal(fs.readFileSync(journalPath)).records : []
  const count = (...types: ReadonlyArray<string>) => records.filter((r) => types.includes(r.type)).length
  const decisions = ofType(records, "decision")
  return {
    steps: decisions.length,
    orders: decisions.reduce((n, d) => n + d.orders.length, 0),
    fills: count("fill", "partial_fill"),
    rejections: count("rejection")
  }
}

/**
 * The rehearsal: the emulator over the config's bars, frozen (speed 0) and moved only by the
 * driver, and `trade` on the virtual clock against it. The emulator's market time is the virtual
 * time rounded down to the market's last event (bar start or end): its market only changes at those
 * instants anyway, and transport delays inside a minute (a retried 429, a reconnect, the grace wait)
 * then do not push an order onto the next minute's open, so healable faults leave fills alone.
 */
export const runRehearsal = (deployment: Deployment, options: RehearsalOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const path = yield* Path.Path
      const barsDir = deployment.barsDir
      if (barsDir === undefined) {
        return yield* new ConfigError({ file: deployment.configFile, field: "data.bars", detail: "a rehearsal replays the config's bars: set data.bars to a bars folder" })
      }
      const bars = yield* Effect.tryPromise({
        try: () => loadBarsDir(barsDir),
        catch: (e) => new BarsFileError({ file: barsDir, problems: [{ line: 0, message: (e as Error).message }] })
      })
      const market = new Market(bars)
      const events = marketEvents(market)
      // the deployment's news file, served at Alpaca's news paths; each version is a market event
      const articles = deployment.news?.file === undefined ? undefined : yield* readNewsFile(deployment.news.file)
      const allEvents = articles === undefined ? events : Float64Array.from(new Set([...events, ...newsEventTimes(articles)])).sort()
      const firstBar = Math.min(...[...market.series.values()].filter((s) => s.times.length > 0).map((s) => s.times[0]))
      const start = options.start === undefined ? firstBar : events.find((t) => t >= options.start!)
      if (start === undefined) return yield* new UsageError({ detail: `rehearse: --start ${new Date(options.start!).toISOString()} is after the last bar` })
      if (options.end !== undefined && options.end <= start) return yield* new UsageError({ detail: "rehearse: --end must be after --start" })
      const lastEvent = events[events.length - 1]
      const horizon = Math.min(options.end ?? lastEvent, lastEvent)

      const clock = makeVirtualClock(start)
      const fibers = makeFiberActivity()
      const traffic = makeEmulatorTraffic()
      // The emulator's stream drops run on real time; here they run on the virtual clock (below).
      const { wsDropEverySeconds, ...emulatorFaults } = options.faults ?? {}
      const faults = options.faults === undefined ? undefined : emulatorFaults
      const sim = deployment.config.simulation
      // the fees the backtest books (`simulation.fees`: environment → its buy/sell cost pct, none → 0)
      const fees = simulatedFees(sim, deployment.environment)
      const emulator = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startEmulator({
            bars,
            port: 0,
            speed: 0,
            start,
            slippageBps: sim.slippage_bps,
            buyCostPct: fees.buyPct,
            sellCostPct: fees.sellPct,
            initialCash: sim.initial_cash ?? deployment.environment.initial_amount,
            ...(articles === undefined ? {} : { news: articles }),
            middleware: [traffic.middleware],
            // the virtual clock stands for real time here: Alpaca's per-minute limits and outage
            // windows count its minutes, as the trader's limiter does
            now: () => clock.clock.unsafeCurrentTimeMillis(),
            ...(faults === undefined ? {} : { faults })
          })
        ),
        (handle) => Effect.promise(() => handle.close())
      )
      yield* traffic.listen(emulator.url)

      let nextDrop = wsDropEverySeconds === undefined ? Number.POSITIVE_INFINITY : start + wsDropEverySeconds * 1000
      let marketSteps = 0
      let timerSteps = 0
      const journalPath = path.join(options.outDir, "paper", "journal.jsonl")
      const realStart = Date.now()

      const trade = runTrade(deployment, {
        settings: alpacaSettingsForEmulator(emulator),
        maxSteps: options.maxSteps,
        journalPath,
        freshJournal: true,
        clock: clock.clock,
        fees
      }).pipe(fibers.watch, Effect.withRandom(Random.make(1)))
      // If this rehearsal is interrupted, the trader's own clean-up must not wait on a driver that is gone.
      yield* Effect.addFinalizer(() => Effect.sync(clock.release))
      const tradeFiber = yield* Effect.fork(trade)
      const driverFiber = yield* Effect.fork(
        driveVirtualClock({
          clock,
          activity: () => fibers.runs() + clock.activity() + traffic.activity(),
          busy: () => fibers.runnable() > 0 || traffic.inFlight() > 0,
          runnable: fibers.runnable,
          nextMarketEvent: (after) => {
            const i = upperBound(allEvents, after)
            return i < allEvents.length ? allEvents[i] : undefined
          },
          advanceMarket: (t) => emulator.advanceTo(t),
          pollMarket: () => emulator.tick(),
          marketReady: traffic.streamsReady,
          beforeMarketStep: (t) => {
            if (t < nextDrop) return false
            while (nextDrop <= t) nextDrop += wsDropEverySeconds! * 1000
            emulator.dropSockets()
            traffic.streamsDropped()
            return true
          },
          horizon,
          // the bars up to the end are decided and the trader waits for a later one: stop it (it settles)
          onHorizon: Fiber.interruptFork(tradeFiber),
          onStep: (s) => (s.kind === "market" ? marketSteps++ : timerSteps++)
        })
      )
      const exit = yield* Effect.raceFirst(Fiber.await(tradeFiber), Fiber.join(driverFiber)).pipe(
        Effect.tapError(() => Effect.sync(clock.release).pipe(Effect.zipRight(Fiber.interrupt(tradeFiber))))
      )
      yield* Fiber.interrupt(driverFiber)
      clock.release()
      if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) return yield* Effect.failCause(exit.cause)

      const stats: RehearsalStats = { start, end: clock.now(), marketSteps, timerSteps, realMs: Date.now() - realStart }
      const faultCounts = options.faults === undefined ? undefined : emulator.faultCounts()
      const summary = summarize(journalPath)
      const comparison = options.compare === false || summary.steps === 0 ? undefined : yield* runCompare(deployment.configFile, journalPath, options.outDir)
      return { paperJournal: journalPath, summary, stats, faults: faultCounts, comparison } satisfies RehearsalResult
    })
  )

/** The emulator's description, but stream drops count market time in a rehearsal. */
const describeRehearsalFaults = (faults: FaultOptions | undefined): string => {
  if (faults?.wsDropEverySeconds === undefined) return describeFaults(faults)
  const { wsDropEverySeconds, ...others } = faults
  const rest = describeFaults(others)
  const drops = `stream drops every ${wsDropEverySeconds} s of market time`
  return rest === "none" ? `${drops}; seed ${faults.seed ?? 1}` : rest.replace(/; seed/, `, ${drops}; seed`)
}

export const formatRehearsal = (r: RehearsalResult, faults: FaultOptions | undefined, outDir: string): string => {
  const s = r.summary
  const perStep = s.steps === 0 ? "" : `, ${(r.stats.realMs / s.steps).toFixed(1)} ms per step`
  const counts = r.faults === undefined ? "" : ` (${Object.entries(r.faults).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none happened"})`
  return [
    `rehearsal: steps ${s.steps}  orders ${s.orders}  fills ${s.fills}  rejections ${s.rejections}`,
    `virtual time ${new Date(r.stats.start).toISOString()} → ${new Date(r.stats.end).toISOString()} in ${(r.stats.realMs / 1000).toFixed(1)} s real${perStep}`,
    `faults: ${describeRehearsalFaults(faults)}${counts}`,
    ...(r.comparison === undefined ? [] : [`against a backtest of the same bars:\n${formatComparison(r.comparison)}`]),
    `journals ${outDir}/paper/journal.jsonl, ${outDir}/backtest/journal.jsonl; comparison ${outDir}/compare.json; report ${outDir}/report.html`
  ].join("\n")
}

/** `rehearse --config FILE --out DIR [--start ISO] [--end ISO] [--max-steps N]` plus the emulator's fault flags. */
export const rehearseCommand = (options: {
  readonly config: string
  readonly out: string
  readonly start?: number | undefined
  readonly end?: number | undefined
  readonly maxSteps?: number | undefined
  readonly faults?: FaultOptions | undefined
}) =>
  Effect.gen(function* () {
    const { start, end, maxSteps, faults } = options
    const path = yield* Path.Path
    const outDir = path.resolve(options.out)
    const deployment = yield* loadDeployment(options.config)
    // a download folder gets the period (and the indicators' warm-up) first, as for a backtest
    yield* ensureSimulationBars(deployment, { start, end })
    const result = yield* runRehearsal(deployment, { outDir, start, end, maxSteps, faults }).pipe(Effect.provide(TerminalProgress))
    yield* Console.log(formatRehearsal(result, faults, path.relative(process.cwd(), outDir) || "."))
    return 0
  })
