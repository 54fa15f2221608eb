import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { actionsToOrders } from "../../src/core/actions.js"
import { IndicatorFeatureEngineLive } from "../../src/layers/IndicatorFeatureEngine.js"
import { makeMemoryJournal } from "../../src/layers/JsonlJournal.js"
import { ReplayMarketDataLive } from "../../src/layers/ReplayMarketData.js"
import { SimBrokerLive } from "../../src/layers/SimBroker.js"
import { SimMarketClockLive } from "../../src/layers/SimMarketClock.js"
import { withSimClock } from "../../src/layers/SimClock.js"
import { makeBarTape, SimExchangeLive } from "../../src/layers/SimExchange.js"
import { ofType } from "../../src/domain/Journal.js"
import { runSession } from "../../src/programs/session.js"
import { MarketReplay } from "../../src/services/MarketData.js"
import { Policy } from "../../src/services/Policy.js"
import { definitionsOf, randomBars, testCard } from "../support/fixtures.js"

const tickers = ["AAA", "BBB"]
const indicatorNames = ["close_5_sma", "rsi_6"]
const definitions = definitionsOf(indicatorNames)
const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.002 }

/** A policy that alternates between buying and selling, depending on the bar count it has seen. */
const seesawPolicy = () => {
  let calls = 0
  return Layer.succeed(
    Policy,
    Policy.of({
      card: testCard(tickers, indicatorNames, rules.hmax),
      modelDir: "test",
      act: () => Effect.sync(() => (calls++ % 4 < 2 ? Float32Array.of(0.55, -0.3) : Float32Array.of(-0.9, 0.75)))
    })
  )
}

const simulation = (bars: ReturnType<typeof randomBars>, fillPrice: "next_open" | "close", policy = seesawPolicy()) => {
  const journal = makeMemoryJournal()
  const layer = Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(300_000)).pipe(
    Layer.provide(SimExchangeLive(makeBarTape(bars), { initialCash: 10_000, fillPrice, slippageBps: 0, buyCostPct: rules.buyCostPct, sellCostPct: rules.sellCostPct })),
    Layer.merge(IndicatorFeatureEngineLive(tickers, definitions)),
    Layer.merge(policy),
    Layer.merge(journal.layer)
  )
  return { journal, layer }
}

const settings = { deploymentId: "t", interval: "5m" as const, rules, risk: {} }

describe("runSession over simulation layers", () => {
  it.effect("decides once per bar after warm-up and fills each order at the next bar's open", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 40)
      const { journal, layer } = simulation(bars, "next_open")
      const summary = yield* runSession(settings).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const decisions = ofType(journal.records, "decision")
      const warmup = Math.max(...definitions.map((d) => d.warmupBars))
      expect(decisions.length).toBe(40 - warmup + 1)
      expect(summary.steps).toBe(decisions.length)
      for (const d of decisions) expect((d.observation as Array<number>).length).toBe(1 + 2 * 2 + 2 * 2)
      const fills = journal.records.filter((r) => r.type === "fill")
      expect(fills.length).toBe(summary.fills)
      expect(fills.length).toBeGreaterThan(0)
      for (const fill of fills) {
        const decision = decisions.find((d) => (d.orders as ReadonlyArray<{ client_order_id: string }>).some((o) => o.client_order_id === fill.client_order_id))!
        expect(decision).toBeDefined()
        const barTime = Date.parse(decision.bar_time as string)
        const next = bars.get(fill.ticker as string)!.find((b) => b.time === barTime + 300_000)!
        expect(fill.price).toBe(next.open)
        expect(fill.time).toBe(new Date(next.time).toISOString())
        // the fill is journaled after its decision
        expect(journal.records.indexOf(fill)).toBeGreaterThan(journal.records.indexOf(decision))
      }
    }))

  it.effect("books cash exactly as FinRL's env when orders fill at the decision close", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 30, 7)
      const { journal, layer } = simulation(bars, "close")
      yield* runSession(settings).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const decisions = ofType(journal.records, "decision")
      expect(decisions.length).toBeGreaterThan(5)
      for (let i = 0; i + 1 < decisions.length; i++) {
        const obs = decisions[i].observation as Array<number>
        const plan = actionsToOrders(decisions[i].action as Array<number>, { cash: obs[0], prices: obs.slice(1, 3), holdings: obs.slice(3, 5) }, rules)
        const next = decisions[i + 1].observation as Array<number>
        expect(next[0]).toBeCloseTo(plan.cash, 9)
        expect(next.slice(3, 5)).toEqual(plan.holdings)
        expect((decisions[i].orders as ReadonlyArray<{ qty: number }>).map((o) => o.qty)).toEqual(plan.orders.map((o) => o.qty))
      }
    }))

  it.effect("gives byte-identical journals for two runs", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 50, 3)
      const run = () => {
        const { journal, layer } = simulation(bars, "next_open")
        return runSession(settings).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer), Effect.as(journal.records))
      }
      const a = yield* run()
      const b = yield* run()
      expect(a.map((r) => JSON.stringify(r)).join("\n")).toBe(b.map((r) => JSON.stringify(r)).join("\n"))
      expect(a.length).toBeGreaterThan(20)
    }))

  it.effect("stops after max steps", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 40)
      const { journal, layer } = simulation(bars, "next_open")
      const summary = yield* runSession({ ...settings, maxSteps: 5 }).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      expect(summary.steps).toBe(5)
      expect(ofType(journal.records, "decision").length).toBe(5)
    }))

  it.effect("holds a ticker whose bar is missing and says why", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 30)
      const gap = bars.get("BBB")![20].time
      bars.set("BBB", bars.get("BBB")!.filter((b) => b.time !== gap))
      const { journal, layer } = simulation(bars, "next_open")
      yield* runSession(settings).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const atGap = ofType(journal.records, "decision").find((r) => r.bar_time === new Date(gap).toISOString())!
      expect(atGap.holds).toEqual([{ ticker: "BBB", reason: "no bar for this step" }])
      expect((atGap.orders as ReadonlyArray<{ ticker: string }>).every((o) => o.ticker !== "BBB")).toBe(true)
    }))
})

describe("ReplayMarketData on Effect's Clock", () => {
  it.scoped("emits no slice before its bars have closed, under TestClock", () =>
    Effect.gen(function* () {
      const bars = randomBars(["AAA"], 3)
      const first = bars.get("AAA")![0].time
      const layer = ReplayMarketDataLive.pipe(
        Layer.provide(SimExchangeLive(makeBarTape(bars), { initialCash: 1, fillPrice: "next_open", slippageBps: 0, buyCostPct: 0, sellCostPct: 0 }))
      )
      yield* TestClock.setTime(first)
      const replay = yield* Effect.provide(MarketReplay, layer)
      const fiber = yield* replay.slices(["AAA"], "5m").pipe(Stream.runCollect, Effect.fork)
      yield* TestClock.adjust("4 minutes")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 minute")
      yield* TestClock.adjust("10 minutes")
      const slices = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(slices.map((s) => s.time)).toEqual(bars.get("AAA")!.map((b) => b.time))
    }))

  it.effect("trips the daily-loss kill switch: journaled, and no buys for the rest of that day", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 17)
      const { journal, layer } = simulation(bars, "next_open")
      yield* runSession({ ...settings, guard: { dailyLossLimit: 0.5 } }).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const records = journal.records
      const trip = records.findIndex((r) => r.type === "kill_switch")
      expect(trip).toBeGreaterThan(0)
      expect((records[trip] as { loss: number }).loss).toBeGreaterThanOrEqual(0.5)
      const after = ofType(records.slice(trip), "decision")
      expect(after.length).toBeGreaterThan(0)
      for (const d of after) expect((d.orders as ReadonlyArray<{ side: string }>).every((o) => o.side === "sell")).toBe(true)
      const blocked = after.flatMap((d) => (d.risk as ReadonlyArray<{ rule: string }> | undefined) ?? []).filter((a) => a.rule === "daily_loss_limit")
      expect(blocked.length).toBeGreaterThan(0)
      // before the trip, the same policy did buy
      expect(ofType(records.slice(0, trip), "decision").some((r) => (r.orders as ReadonlyArray<{ side: string }>).some((o) => o.side === "buy"))).toBe(true)
    }))

  it.effect("honours market hours in a backtest: no buys in the closing window, flatten one bar before the close", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 23) // one session: 09:30 to 14:30 New York
      const close = bars.get("AAA")![59].time + 300_000
      const { journal, layer } = simulation(bars, "close")
      yield* runSession({ ...settings, stopOpeningBeforeClose: Duration.minutes(30), flattenAtClose: true }).pipe(
        withSimClock(bars.get("AAA")![0].time),
        Effect.provide(layer)
      )
      const decisions = ofType(journal.records, "decision")
      const inWindow = decisions.filter((d) => Date.parse(d.bar_time as string) + 300_000 >= close - 30 * 60_000)
      expect(inWindow.length).toBe(5) // bars ending 14:00 … 14:20 New York; the bar ending at 14:25, one interval before the close, flattens
      for (const d of inWindow) expect((d.orders as ReadonlyArray<{ side: string }>).every((o) => o.side === "sell")).toBe(true)
      expect(inWindow.some((d) => ((d.risk as ReadonlyArray<{ rule: string }> | undefined) ?? []).some((a) => a.rule === "no_new_positions_before_close"))).toBe(true)
      const flatten = journal.records.find((r) => r.type === "flatten")!
      expect(flatten.bar_time).toBe(new Date(close - 600_000).toISOString())
      const sold = new Map((flatten.orders as ReadonlyArray<{ ticker: string; qty: number; side: string }>).map((o) => [o.ticker, o.qty]))
      expect([...sold.values()].every((q) => q > 0)).toBe(true)
      // with fills at the close, the flatten leaves the book empty
      const fills = journal.records.filter((r) => r.type === "fill")
      const net = new Map<string, number>()
      for (const f of fills) net.set(f.ticker as string, (net.get(f.ticker as string) ?? 0) + (f.side === "buy" ? 1 : -1) * (f.qty as number))
      expect([...net.values()].every((q) => q === 0)).toBe(true)
    }))

  it.effect("does not apply the intraday closing rules to daily bars", () =>
    Effect.gen(function* () {
      const minuteBars = randomBars(tickers, 40, 29)
      // the same prices, one bar a day at the New York close
      const daily = new Map([...minuteBars].map(([t, bars]) => [t, bars.map((b, k) => ({ ...b, time: Date.parse("2026-01-05T21:00:00Z") + k * 86_400_000 }))]))
      const journal = makeMemoryJournal()
      const layer = Layer.mergeAll(ReplayMarketDataLive, SimBrokerLive, SimMarketClockLive(86_400_000)).pipe(
        Layer.provide(SimExchangeLive(makeBarTape(daily), { initialCash: 10_000, fillPrice: "close", slippageBps: 0, buyCostPct: 0, sellCostPct: 0 })),
        Layer.merge(IndicatorFeatureEngineLive(tickers, definitions)),
        Layer.merge(seesawPolicy()),
        Layer.merge(journal.layer)
      )
      yield* runSession({ ...settings, interval: "1d", stopOpeningBeforeClose: Duration.minutes(15), flattenAtClose: true }).pipe(
        withSimClock(daily.get("AAA")![0].time),
        Effect.provide(layer)
      )
      const decisions = ofType(journal.records, "decision")
      expect(decisions.length).toBeGreaterThan(20)
      expect(decisions.some((d) => (d.orders as ReadonlyArray<{ side: string }>).some((o) => o.side === "buy"))).toBe(true)
      expect(journal.records.filter((r) => r.type === "flatten")).toEqual([])
    }))

  it.effect("feeds a finrl-stock-trading-np model its scaled observation, cooldowns included", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 40, 31)
      const card = testCard(tickers, indicatorNames, rules.hmax)
      const npCard = { ...card, observation: { layout: "finrl-stock-trading-np" as const, size: 3 + 3 * 2 + 2 * 2 } }
      let calls = 0
      const npPolicy = Layer.succeed(
        Policy,
        Policy.of({ card: npCard, modelDir: "test", act: () => Effect.sync(() => (calls++ % 3 === 0 ? Float32Array.of(0.9, 0) : Float32Array.of(0, 0))) })
      )
      const { journal, layer } = simulation(bars, "close", npPolicy)
      yield* runSession(settings).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const decisions = ofType(journal.records, "decision")
      expect(decisions.length).toBeGreaterThan(5)
      for (const d of decisions) expect((d.observation as Array<number>).length).toBe(13)
      const [first, second] = decisions
      const obs = first.observation as Array<number>
      expect(obs[0]).toBe(10_000 * 2 ** -12) // cash · 2^-12
      const closes = [bars.get("AAA")!, bars.get("BBB")!].map((s) => s.find((b) => new Date(b.time).toISOString() === first.bar_time)!.close)
      expect(obs.slice(3, 5)).toEqual(closes.map((c) => c * 2 ** -6))
      // the first decision buys AAA: its cooldown restarts at 0, BBB's counts on
      const cooldown = (second.observation as Array<number>).slice(7, 9)
      expect(cooldown).toEqual([0, 1])
    }))

  it.effect("warms FinRL's turbulence index up on history: above the threshold it only sells", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 300, 37)
      const start = bars.get("AAA")![270].time
      const run = (threshold: number | undefined) => {
        const { journal, layer } = simulation(bars, "close")
        return runSession({ ...settings, rules: { ...rules, turbulenceThreshold: threshold } }).pipe(
          withSimClock(start),
          Effect.provide(layer),
          Effect.map(() => ofType(journal.records, "decision"))
        )
      }
      const calm = yield* run(undefined)
      const turbulent = yield* run(1e-12)
      const buys = (ds: ReadonlyArray<{ readonly [k: string]: unknown }>) => ds.flatMap((d) => (d.orders as ReadonlyArray<{ side: string }>).filter((o) => o.side === "buy"))
      expect(calm.length).toBeGreaterThan(10)
      expect(buys(calm).length).toBeGreaterThan(3)
      // FinRL zeroes the first two positive readings; from the third decision on the index is live
      expect(buys(turbulent.slice(2))).toEqual([])
      expect(turbulent.length).toBe(calm.length)
    }))
})
