import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, FiberMap, Layer, Metric, Stream, TestClock } from "effect"
import { withSimClock } from "../../src/layers/SimClock.js"
import type { SimExchange } from "../../src/layers/SimExchange.js"
import { type JournalRecord, ofType } from "../../src/domain/Journal.js"
import { runSession } from "../../src/programs/session.js"
import { TradingMetrics } from "../../src/programs/metrics.js"
import { type StepReport, trade } from "../../src/programs/trade.js"
import type { SessionSummary } from "../../src/programs/decide.js"
import { Progress, type ProgressService } from "../../src/services/Progress.js"
import { MarketData, MarketDataError } from "../../src/services/MarketData.js"
import { Broker } from "../../src/services/Broker.js"
import { Policy } from "../../src/services/Policy.js"
import { driveOnTestClock, simWorld } from "../support/sim-world.js"
import { definitionsOf, randomBars, testCard, tradeSettings } from "../support/fixtures.js"

const tickers = ["AAA", "BBB", "CCC"]
const indicatorNames = ["close_5_sma", "rsi_6"]
const definitions = definitionsOf(indicatorNames)
const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001 }

/** A deterministic policy of the observation: buys what fell, sells what rose (by close vs SMA). */
const policy = Layer.succeed(
  Policy,
  Policy.of({
    card: testCard(tickers, indicatorNames, rules.hmax),
    modelDir: "test",
    act: (obs) =>
      Effect.sync(() => {
        const n = tickers.length
        return Float32Array.from(tickers, (_, i) => Math.tanh((obs[1 + 2 * n + i] - obs[1 + i]) * 2))
      })
  })
)

const world = (
  bars: ReturnType<typeof randomBars>,
  marketData?: (live: Layer.Layer<MarketData>) => Layer.Layer<MarketData>,
  broker?: (sim: Layer.Layer<Broker, never, SimExchange>) => Layer.Layer<Broker, never, SimExchange>
) => simWorld({ bars, tickers, definitions, rules, policy, marketData, broker })

const settings = tradeSettings("t", rules)

const drive = driveOnTestClock

const decisions = (records: ReadonlyArray<JournalRecord>) =>
  ofType(records, "decision").map(({ time: _t, ...rest }) => rest)

describe("trade: per-ticker actors and a portfolio step", () => {
  it.effect("makes the same decisions as the sequential backtest over the same bars", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      const live = world(bars)
      const latencyBefore = (yield* Metric.value(TradingMetrics.decisionLatency)).count
      const firstOrderBefore = (yield* Metric.value(TradingMetrics.firstOrderLatency)).count
      const summary = yield* drive(trade({ ...settings, maxSteps: 30 }).pipe(Effect.provide(live.layer)), start)
      const replayed = world(bars)
      yield* runSession({ ...settings, maxSteps: 30 }).pipe(withSimClock(start), Effect.provide(replayed.layer))
      expect(summary.steps).toBe(30)
      const a = decisions(live.journal.records)
      const b = decisions(replayed.journal.records)
      expect(a).toHaveLength(30)
      // one kernel, one ledger: the same observations (cash to the last bit, whatever order the
      // actors' fills arrive in), actions, orders and ledger states
      expect(a).toEqual(b)
      expect(live.journal.records.filter((r) => r.type === "fill").length).toBeGreaterThan(0)
      // every decision's latency is in the histogram, and every step's with orders its first order's
      expect((yield* Metric.value(TradingMetrics.decisionLatency)).count - latencyBefore).toBe(30)
      expect((yield* Metric.value(TradingMetrics.firstOrderLatency)).count - firstOrderBefore).toBe(a.filter((d) => d.orders.length > 0).length)
    }))

  it.effect("catches up on bars published before it listened: its indicators see every bar, as the backtest's do", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 13)
      const start = bars.get("AAA")![20].time
      // the warm-up history it gets at the start is two bars old: a trader that started mid-session
      const lagging = (replay: Layer.Layer<MarketData>) =>
        Layer.effect(
          MarketData,
          Effect.map(MarketData, (md) => {
            let first = true
            return MarketData.of({
              ...md,
              history: (t, interval, before, count) => {
                const lag = first ? 2 * 300_000 : 0
                first = false
                return md.history(t, interval, before - lag, count)
              }
            })
          })
        ).pipe(Layer.provide(replay))
      const live = world(bars, lagging)
      yield* drive(trade({ ...settings, maxSteps: 20 }).pipe(Effect.provide(live.layer)), start)
      const replayed = world(bars)
      yield* runSession({ ...settings, maxSteps: 20 }).pipe(withSimClock(start), Effect.provide(replayed.layer))
      expect(decisions(live.journal.records)).toEqual(decisions(replayed.journal.records))
    }))

  it.scoped("keeps trading the other tickers when one ticker's actor is killed, and restarts it", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 80, 5)
      const start = bars.get("AAA")![0].time
      const { journal, layer } = world(bars)
      const actors = yield* FiberMap.make<string>()
      const fiber = yield* Effect.fork(trade({ ...settings, maxSteps: 40, actors }).pipe(Effect.provide(layer)))
      yield* TestClock.setTime(start)
      for (let i = 0; i < 150; i++) yield* TestClock.adjust("1 minute")
      const victim = yield* FiberMap.get(actors, "BBB")
      yield* Fiber.interrupt(victim)
      expect(yield* FiberMap.has(actors, "BBB")).toBe(false)
      const before = decisions(journal.records).length
      for (let i = 0; i < 600 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("1 minute")
      const summary = yield* Fiber.join(fiber)
      expect(summary.steps).toBe(40)
      expect(decisions(journal.records).length).toBeGreaterThan(before)
      // BBB was restarted by the next step and keeps getting its bars: no step held it
      const after = decisions(journal.records).slice(before)
      expect(after.every((d: any) => d.holds === undefined)).toBe(true)
    }))

  it.effect("restarts a failing actor with backoff, journals it, and holds that ticker while the others trade", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 70, 9)
      const start = bars.get("AAA")![0].time
      const broken = (replay: Layer.Layer<MarketData>) =>
        Layer.effect(
          MarketData,
          Effect.map(MarketData, (md) =>
            MarketData.of({
              ...md,
              live: (ticker, interval) => (ticker === "BBB" ? Stream.die(new Error("socket exploded")) : md.live(ticker, interval)),
              barAt: (ticker, interval, time) =>
                ticker === "BBB" ? Effect.fail(new MarketDataError({ ticker, detail: "HTTP 503" })) : md.barAt(ticker, interval, time)
            })
          )
        ).pipe(Layer.provide(replay))
      const { journal, layer } = world(bars, broken)
      const failuresBefore = (yield* Metric.value(TradingMetrics.actorFailures)).count
      yield* TestClock.setTime(start)
      const fiber = yield* Effect.fork(trade({ ...settings, maxSteps: 5 }).pipe(Effect.provide(layer)))
      for (let i = 0; i < 300; i++) yield* TestClock.adjust("1 minute")
      // BBB never warms up, so no decision can be made — but the process keeps running and says why
      expect(fiber.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(fiber)
      expect(decisions(journal.records)).toHaveLength(0)
      // restarted again and again, journaled once (one record per outage, not per retry)
      const failures = journal.records.filter((r) => r.type === "actor_failure")
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({ ticker: "BBB", error: expect.stringContaining("socket exploded") })
      expect((yield* Metric.value(TradingMetrics.actorFailures)).count - failuresBefore).toBeGreaterThan(3)
    }))

  it.effect("drops bad bars with a journaled reason; that ticker holds, the others trade", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 13)
      const start = bars.get("AAA")![0].time
      const bbb = bars.get("BBB")!
      const corrupt = new Map<number, (b: (typeof bbb)[number]) => (typeof bbb)[number]>([
        [bbb[40].time, (b) => ({ ...b, close: Number.NaN })],
        [bbb[45].time, (b) => ({ ...b, high: b.low - 1 })],
        [bbb[50].time, (b) => ({ ...b, open: -3 })]
      ])
      const spoil = (b: (typeof bbb)[number]) => corrupt.get(b.time)?.(b) ?? b
      const dirty = (replay: Layer.Layer<MarketData>) =>
        Layer.effect(
          MarketData,
          Effect.map(MarketData, (md) =>
            MarketData.of({
              ...md,
              live: (ticker, interval) => (ticker === "BBB" ? md.live(ticker, interval).pipe(Stream.map(spoil)) : md.live(ticker, interval)),
              barAt: (ticker, interval, time) =>
                ticker === "BBB" ? Effect.map(md.barAt(ticker, interval, time), (b) => (b === undefined ? b : spoil(b))) : md.barAt(ticker, interval, time)
            })
          )
        ).pipe(Layer.provide(replay))
      const { journal, layer } = world(bars, dirty)
      yield* drive(trade({ ...settings, maxSteps: 50 }).pipe(Effect.provide(layer)), start)
      const bad = journal.records.filter((r) => r.type === "bad_bar")
      expect(bad.map((r) => r.reason)).toEqual(
        expect.arrayContaining(["close is not a finite number", "high < low", "a price is zero or negative"])
      )
      expect(bad.every((r) => r.ticker === "BBB")).toBe(true)
      for (const t of corrupt.keys()) {
        const d = ofType(journal.records, "decision").find((r) => r.bar_time === new Date(t).toISOString())!
        expect(d.holds).toEqual([expect.objectContaining({ ticker: "BBB" })])
        expect((d.orders as ReadonlyArray<{ ticker: string }>).some((o) => o.ticker === "BBB")).toBe(false)
      }
      expect(ofType(journal.records, "decision").length).toBeGreaterThan(10)
    }))

  it.scoped("puts an order back when its actor dies mid-submission, and sends it once", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      // an order's first submission hangs for 2 minutes (long enough to kill its actor in it); a resend is answered at once
      const hung = new Set<string>()
      const slow = (sim: Layer.Layer<Broker, never, SimExchange>) =>
        Layer.effect(
          Broker,
          Effect.map(Broker, (b) =>
            Broker.of({
              ...b,
              submit: (r) => Effect.suspend(() => (hung.has(r.clientOrderId) ? b.submit(r) : (hung.add(r.clientOrderId), Effect.sleep("2 minutes").pipe(Effect.zipRight(b.submit(r))))))
            })
          )
        ).pipe(Layer.provide(sim))
      const { journal, layer } = world(bars, undefined, slow)
      const actors = yield* FiberMap.make<string>()
      yield* TestClock.setTime(start)
      const fiber = yield* Effect.fork(trade({ ...settings, maxSteps: 30, actors }).pipe(Effect.provide(layer)))
      let victim: { ticker: string; id: string } | undefined
      for (let i = 0; i < 600 && victim === undefined; i++) {
        yield* TestClock.adjust("1 minute")
        const d = ofType(journal.records, "decision").find((r) => (r.orders as Array<unknown>).length > 0)
        if (d !== undefined) {
          const o = (d.orders as ReadonlyArray<{ ticker: string; client_order_id: string }>)[0]
          victim = { ticker: o.ticker, id: o.client_order_id }
        }
      }
      expect(victim).toBeDefined()
      // the order is in its actor's hands, sleeping in submit: kill the actor now
      yield* Fiber.interrupt(yield* FiberMap.get(actors, victim!.ticker))
      for (let i = 0; i < 2_000 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      const fills = journal.records.filter((r) => r.type === "fill" && r.client_order_id === victim!.id)
      expect(fills).toHaveLength(1)
      expect(journal.records.filter((r) => r.type === "rejection" || r.type === "order_error")).toEqual([])
    }))
})

describe("trade: what a terminal and a status page see", () => {
  it.effect("reports every step once: its bar, the orders it sent, the fills since the last report, equity and holds; and its progress", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      const live = world(bars)
      const steps: Array<StepReport> = []
      const progress: Array<string> = []
      const recorder: ProgressService = {
        start: (label, total) => Effect.sync(() => void progress.push(`start ${label} ${total}`)),
        advance: (n) => Effect.sync(() => void progress.push(`+${n}`)),
        done: Effect.sync(() => void progress.push("done"))
      }
      const summary = yield* drive(
        trade({ ...settings, maxSteps: 20, onStep: (s) => Effect.sync(() => void steps.push(s)) }).pipe(Effect.provide(live.layer), Effect.provide(Layer.succeed(Progress, recorder))),
        start
      )
      const journaled = decisions(live.journal.records)
      expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect(steps.map((s) => new Date(s.barTime).toISOString())).toEqual(journaled.map((d) => d.bar_time))
      expect(steps.map((s) => s.orders)).toEqual(journaled.map((d) => d.orders.length))
      expect(steps.map((s) => s.equity)).toEqual(summary.equity.slice(1))
      // every fill booked up to the last step's decision is in exactly one line
      const lastDecision = live.journal.records.map((r) => r.type).lastIndexOf("decision")
      const booked = live.journal.records.slice(0, lastDecision).filter((r) => r.type === "fill" || r.type === "partial_fill").length
      expect(booked).toBeGreaterThan(0)
      expect(steps.reduce((n, s) => n + s.fills, 0)).toBe(booked)
      expect(progress).toEqual(["start paper trading 20", ...steps.map(() => "+1"), "done"])
    }))

  it.scoped("a stop (Ctrl-C) hands its summary to onStopped, as a session that ran its course returns it", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      const { journal, layer } = world(bars)
      let stopped: SessionSummary | undefined
      yield* TestClock.setTime(start)
      const fiber = yield* Effect.fork(trade({ ...settings, onStopped: (s) => Effect.sync(() => void (stopped = s)) }).pipe(Effect.provide(layer)))
      for (let i = 0; i < 100; i++) yield* TestClock.adjust("1 minute")
      const taken = decisions(journal.records).length
      expect(taken).toBeGreaterThan(5)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      for (let i = 0; i < 30 && interrupting.unsafePoll() === null; i++) yield* TestClock.adjust("1 minute")
      yield* Fiber.join(interrupting)
      expect(stopped).toBeDefined()
      expect(stopped!.steps).toBe(taken)
      expect(stopped!.equity).toHaveLength(taken + 1)
      expect(ofType(journal.records, "session_end").at(-1)).toMatchObject({ steps: taken, orders: stopped!.orders, fills: stopped!.fills })
    }))
})
