import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, LogLevel, Random } from "effect"
import { runTrade } from "../../src/cli/trade.js"
import { loadDeployment } from "../../src/config/deployment.js"
import { loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { Market } from "../../src/emulator/market.js"
import { alpacaSettingsForEmulator, makeEmulatorTraffic } from "../../src/cli/alpaca-emulator.js"
import { LAST_DECISIONS, makeStatusBoard } from "../../src/layers/StatusBoardMemory.js"
import { driveVirtualClock, makeFiberActivity, makeVirtualClock } from "../../src/layers/VirtualClock.js"
import type { SessionView, StatusReport } from "../../src/services/StatusBoard.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const T0 = Date.parse("2026-02-17T14:30:00Z")
const MINUTE = 60_000

/** The demo's bars from a week and a half before T0 (the warm-up) to an hour after it: a smaller market to load. */
const demoBarsAround = (dir: string) => {
  const from = new Date(T0 - 11 * 24 * 60 * MINUTE).toISOString()
  const to = new Date(T0 + 60 * MINUTE).toISOString()
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".csv"))
  return tmpTree(
    Object.fromEntries(
      files.map((f) => {
        const [header, ...rows] = fs.readFileSync(path.join(dir, f), "utf8").trimEnd().split("\n")
        return [f, [header, ...rows.filter((r) => r >= from && r < to)].join("\n") + "\n"]
      })
    )
  )
}

const view = (over: Partial<SessionView> = {}): SessionView => ({
  steps: 0,
  cash: 1_000,
  equity: 10_000,
  initialEquity: 10_000,
  positions: {},
  prices: {},
  openOrders: [],
  guardMode: "normal",
  lastDecision: undefined,
  ...over
})

const decision = (barTime: number, ticker = "AAA") => ({
  barTime,
  decisionTime: barTime + 5 * MINUTE,
  orders: [{ ticker, side: "buy" as const, qty: 2, client_order_id: `d-${barTime}` }],
  holds: [{ ticker: "BBB", reason: "no bar by the deadline" }]
})

describe("the status board", () => {
  it.effect("reports positions valued at their marks, the day's P&L from its first step, the last decisions newest first, streams and bar ages", () =>
    Effect.gen(function* () {
      let now = T0
      let session = view()
      const board = yield* makeStatusBoard
      expect(yield* board.report).toBeUndefined()
      yield* board.stream("market_data", true)
      yield* board.attach({ now: () => now, session: () => session })
      // today's P&L starts from the equity at the session's start (it began today)
      now = T0 + 5 * MINUTE
      session = view({ steps: 1, equity: 10_100, positions: { AAA: 3, BBB: 0 }, prices: { AAA: 101.5 }, lastDecision: decision(T0) })
      yield* board.stepped
      for (let i = 1; i <= LAST_DECISIONS + 1; i++) {
        session = { ...session, steps: 1 + i, equity: 10_100 + 10 * i, lastDecision: decision(T0 + i * 5 * MINUTE) }
        yield* board.stepped
        // the same decision again (a status read twice) is not a new one
        yield* board.stepped
      }
      yield* board.bar("AAA", T0 + 25 * MINUTE, T0 + 30 * MINUTE)
      yield* board.bar("AAA", T0 + 20 * MINUTE, T0 + 25 * MINUTE)
      now = T0 + 30 * MINUTE
      yield* board.stream("trade_updates", true)
      yield* board.stream("news", true)
      now = T0 + 31.5 * MINUTE
      // a stream already up stays up since it came up
      yield* board.stream("trade_updates", true)
      yield* board.stream("market_data", false)
      const report = (yield* board.report)!
      expect(report.market_time).toBe("2026-02-17T15:01:30.000Z")
      expect(report.steps).toBe(LAST_DECISIONS + 2)
      expect(report.positions).toEqual({ AAA: { qty: 3, price: 101.5, value: 304.5 } })
      expect(report.pnl_today).toEqual({ day: "2026-02-17", start_equity: 10_000, equity: 10_160, pnl: 160, return: 10_160 / 10_000 - 1 })
      expect(report.last_decisions.map((d) => d.bar_time)).toEqual(
        Array.from({ length: LAST_DECISIONS }, (_, k) => new Date(T0 + (LAST_DECISIONS + 1 - k) * 5 * MINUTE).toISOString())
      )
      expect(report.last_decisions[0]).toMatchObject({ orders: [{ ticker: "AAA", side: "buy", qty: 2 }], holds: [{ ticker: "BBB" }] })
      // an older bar never replaces a newer one; the age is the session's clock minus the bar's end
      expect(report.bars).toEqual({ AAA: { bar_time: "2026-02-17T14:55:00.000Z", bar_end: "2026-02-17T15:00:00.000Z", age_seconds: 90 } })
      expect(report.streams).toEqual({
        market_data: { connected: false, since: "2026-02-17T15:01:30.000Z" },
        news: { connected: true, since: "2026-02-17T15:00:00.000Z" },
        trade_updates: { connected: true, since: "2026-02-17T15:00:00.000Z" }
      })
      // the next New York day starts from the previous day's last step, before its own first step and after
      now = Date.parse("2026-02-18T14:00:00Z")
      expect((yield* board.report)!.pnl_today).toMatchObject({ day: "2026-02-18", start_equity: 10_160, pnl: 0 })
      session = { ...session, equity: 9_900, lastDecision: decision(Date.parse("2026-02-18T14:30:00Z")) }
      now = Date.parse("2026-02-18T14:35:00Z")
      yield* board.stepped
      expect((yield* board.report)!.pnl_today).toMatchObject({ day: "2026-02-18", start_equity: 10_160, equity: 9_900, pnl: -260 })
    }))

  it.live("`/status` answers in the middle of a step of a live session against the emulator (virtual clock, in process)", () =>
    Effect.gen(function* () {
      const deployment = yield* loadDeployment(path.join(PROJECT, "config/demo.yaml"))
      const bars = yield* Effect.promise(() => loadBarsDir(demoBarsAround(deployment.barsDir!)))
      const market = new Market(bars)
      const events = [...new Set([...market.series.values()].flatMap((s) => [...s.times].flatMap((t) => [t, t + market.barMs])))].sort((a, b) => a - b)
      const clock = makeVirtualClock(T0)
      const fibers = makeFiberActivity()
      const traffic = makeEmulatorTraffic()
      const emulator = yield* Effect.acquireRelease(
        Effect.promise(() => startEmulator({ bars, port: 0, speed: 0, start: T0, middleware: [traffic.middleware], now: () => clock.clock.unsafeCurrentTimeMillis() })),
        (handle) => Effect.promise(() => handle.close())
      )
      yield* traffic.listen(emulator.url)
      const port = 20000 + Math.floor(Math.random() * 20000)
      let asking = 0
      const answers: Array<{ readonly step: number; readonly status: number; readonly report: StatusReport }> = []
      // asked from inside the step (it waits for the answer): a lock held across a step would never answer
      const askStatus = (step: number) =>
        Effect.promise(async () => {
          asking++
          try {
            const res = await fetch(`http://127.0.0.1:${port}/status`)
            answers.push({ step, status: res.status, report: (await res.json()) as StatusReport })
          } finally {
            asking--
          }
        })
      const trade = runTrade(deployment, {
        settings: alpacaSettingsForEmulator(emulator),
        maxSteps: 3,
        metricsPort: port,
        journalPath: path.join(tmpTree({}), "journal.jsonl"),
        freshJournal: true,
        clock: clock.clock,
        onStep: (s) => askStatus(s.step)
      }).pipe(fibers.watch, Effect.withRandom(Random.make(1)))
      yield* Effect.addFinalizer(() => Effect.sync(clock.release))
      const tradeFiber = yield* Effect.fork(trade)
      const driver = yield* Effect.fork(
        driveVirtualClock({
          clock,
          activity: () => fibers.runs() + clock.activity() + traffic.activity(),
          busy: () => fibers.runnable() > 0 || traffic.inFlight() > 0 || asking > 0,
          runnable: fibers.runnable,
          nextMarketEvent: (after) => events.find((t) => t > after),
          advanceMarket: (t) => emulator.advanceTo(t),
          pollMarket: () => emulator.tick(),
          marketReady: traffic.streamsReady
        })
      )
      const exit: Exit.Exit<unknown, unknown> = yield* Effect.raceFirst(Fiber.await(tradeFiber) as Effect.Effect<Exit.Exit<unknown, unknown>>, Effect.exit(Fiber.join(driver)))
      yield* Fiber.interrupt(driver)
      expect(Exit.isSuccess(exit), String(exit)).toBe(true)

      expect(answers.map((a) => [a.step, a.status])).toEqual([[1, 200], [2, 200], [3, 200]])
      const { report } = answers[2]
      const tickers = deployment.config.tickers
      expect(report.steps).toBe(3)
      // the step's own decision is there, at its bar; the session's clock is the virtual market's
      expect(report.last_decisions).toHaveLength(3)
      const barTime = Date.parse(report.last_decisions[0].bar_time)
      expect(Date.parse(report.market_time)).toBeGreaterThanOrEqual(barTime + 5 * MINUTE)
      expect(report.market_time.slice(0, 10)).toBe("2026-02-17")
      expect(report.pnl_today.day).toBe("2026-02-17")
      expect(report.pnl_today.equity).toBe(report.equity)
      expect(Object.keys(report.bars).sort()).toEqual([...tickers].sort())
      for (const ticker of tickers) {
        expect(report.bars[ticker].bar_time).toBe(report.last_decisions[0].bar_time)
        expect(report.bars[ticker].age_seconds).toBeGreaterThanOrEqual(0)
        expect(report.bars[ticker].age_seconds).toBeLessThan(60)
      }
      for (const [ticker, p] of Object.entries(report.positions)) expect(p.value).toBeCloseTo(p.qty * p.price!, 2)
      expect(report.guard_mode).toBe("normal")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.None)),
    60_000
  )
})
