import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { withSimClock } from "../../src/layers/SimClock.js"
import { SimExchange } from "../../src/layers/SimExchange.js"
import { type JournalRecord, ofType } from "../../src/domain/Journal.js"
import { runSession } from "../../src/programs/session.js"
import { STOP_MARGIN, trade } from "../../src/programs/trade.js"
import { Broker, BrokerUnavailable, OrderRejected } from "../../src/services/Broker.js"
import { Journal, JournalError } from "../../src/services/Journal.js"
import { MarketData } from "../../src/services/MarketData.js"
import { Policy } from "../../src/services/Policy.js"
import { driveOnTestClock, simWorld } from "../support/sim-world.js"
import { definitionsOf, randomBars, testCard, tradeSettings } from "../support/fixtures.js"

const tickers = ["AAA", "BBB", "CCC"]
const indicatorNames = ["close_5_sma", "rsi_6"]
const definitions = definitionsOf(indicatorNames)
const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001 }
const SPAN = 300_000

/** Buys early, so there is something to flatten: a positive action on every ticker. */
const policy = Layer.succeed(
  Policy,
  Policy.of({
    card: testCard(tickers, indicatorNames, rules.hmax),
    modelDir: "test",
    act: (obs) =>
      Effect.sync(() => {
        const n = tickers.length
        return Float32Array.from(tickers, (_, i) => 0.5 + 0.5 * Math.tanh((obs[1 + 2 * n + i] - obs[1 + i]) * 2))
      })
  })
)

const world = (
  bars: ReturnType<typeof randomBars>,
  marketData?: (live: Layer.Layer<MarketData>) => Layer.Layer<MarketData>,
  broker?: (sim: Layer.Layer<Broker, never, SimExchange>) => Layer.Layer<Broker, never, SimExchange>
) => simWorld({ bars, tickers, definitions, rules, policy, marketData, broker })

const settings = { ...tradeSettings("u", rules), flattenAtClose: true }

const drive = driveOnTestClock

const flattenIds = (records: ReadonlyArray<JournalRecord>) => new Set(ofType(records, "flatten").flatMap((f) => f.orders.map((o) => o.client_order_id)))

describe("unattended: the close is a deadline", () => {
  it.effect("a backtest decides the flatten one interval before the close; its sells fill at the last bar's open", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 23) // one session: 09:30 to 14:30 New York
      const last = bars.get("AAA")![59]
      const close = last.time + SPAN
      const { journal, layer } = world(bars)
      yield* runSession(settings).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const flattens = ofType(journal.records, "flatten")
      expect(flattens).toHaveLength(1)
      expect(flattens[0].bar_time).toBe(new Date(close - 2 * SPAN).toISOString())
      expect(flattens[0].orders.length).toBeGreaterThan(0)
      const ids = flattenIds(journal.records)
      const fills = ofType(journal.records, "fill").filter((f) => ids.has(f.client_order_id))
      expect(fills).toHaveLength(ids.size)
      for (const f of fills) expect(f.price).toBe(bars.get(f.ticker)![59].open)
      // the last bar decides nothing: no decision, no buy
      expect(ofType(journal.records, "decision").some((d) => d.bar_time === new Date(last.time).toISOString())).toBe(false)
      expect(ofType(journal.records, "unfilled_at_close")).toEqual([])
    }))

  it.effect("a backtest whose flatten is on the last bar journals what it left at the close", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 23)
      const close = bars.get("AAA")![59].time + SPAN
      const { journal, layer } = world(bars)
      yield* runSession({ ...settings, flattenLead: Duration.zero }).pipe(withSimClock(bars.get("AAA")![0].time), Effect.provide(layer))
      const unfilled = ofType(journal.records, "unfilled_at_close")
      expect(unfilled).toHaveLength(1)
      expect(unfilled[0].time).toBe(new Date(close).toISOString())
      expect(Object.keys(unfilled[0].positions).length).toBeGreaterThan(0)
      expect(unfilled[0].open_orders.every((o) => o.side === "sell")).toBe(true)
    }))

  it.effect("the live program flattens before the close: its sells fill, nothing is left at the close", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 23)
      const start = bars.get("AAA")![0].time
      const close = bars.get("AAA")![59].time + SPAN
      const { journal, layer } = world(bars)
      yield* drive(trade(settings).pipe(Effect.provide(layer)), start)
      const flattens = ofType(journal.records, "flatten")
      expect(flattens).toHaveLength(1)
      expect(flattens[0].bar_time).toBe(new Date(close - 2 * SPAN).toISOString())
      expect(Date.parse(flattens[0].time)).toBeLessThan(close)
      const ids = flattenIds(journal.records)
      expect(ids.size).toBeGreaterThan(0)
      expect(ofType(journal.records, "fill").filter((f) => ids.has(f.client_order_id))).toHaveLength(ids.size)
      expect(ofType(journal.records, "unfilled_at_close")).toEqual([])
    }))

  it.effect("the live program journals unfilled_at_close when the broker refuses the flatten's sells", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 23)
      const start = bars.get("AAA")![0].time
      const close = bars.get("AAA")![59].time + SPAN
      const refusing = (sim: Layer.Layer<Broker, never, SimExchange>) =>
        Layer.effect(
          Broker,
          Effect.map(Broker, (b) =>
            Broker.of({
              ...b,
              submit: (r) =>
                Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  r.side === "sell" && now >= close - 20 * 60_000 ? Effect.fail(new OrderRejected({ clientOrderId: r.clientOrderId, reason: "HTTP 403: not allowed" })) : b.submit(r)
                )
            })
          )
        ).pipe(Layer.provide(sim))
      const { journal, layer } = world(bars, undefined, refusing)
      yield* drive(trade(settings).pipe(Effect.provide(layer)), start)
      expect(ofType(journal.records, "flatten").length).toBeGreaterThan(0)
      const unfilled = ofType(journal.records, "unfilled_at_close")
      expect(unfilled).toHaveLength(1)
      expect(unfilled[0].time).toBe(new Date(close).toISOString())
      expect(Object.keys(unfilled[0].positions).length).toBeGreaterThan(0)
    }))
})

describe("unattended: a step with no bar at all", () => {
  it.effect("journals a decision with every ticker's hold and no orders, and trades on the next step", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      const lost = bars.get("AAA")![9].time
      const losing = (replay: Layer.Layer<MarketData>) =>
        Layer.effect(
          MarketData,
          Effect.map(MarketData, (md) =>
            MarketData.of({
              ...md,
              live: (ticker, interval) => md.live(ticker, interval).pipe(Stream.filter((b) => b.time !== lost)),
              barAt: (ticker, interval, time) => (time === lost ? Effect.succeed(undefined) : md.barAt(ticker, interval, time))
            })
          )
        ).pipe(Layer.provide(replay))
      const { journal, layer } = world(bars, losing)
      yield* drive(trade({ ...tradeSettings("u", rules), maxSteps: 30 }).pipe(Effect.provide(layer)), start)
      const decisions = ofType(journal.records, "decision")
      const at = decisions.findIndex((d) => d.bar_time === new Date(lost).toISOString())
      expect(at).toBeGreaterThanOrEqual(0)
      const empty = decisions[at]
      expect(empty.orders).toEqual([])
      expect(empty.action).toEqual([])
      expect(empty.holds?.map((h) => h.ticker)).toEqual(tickers)
      // the portfolio record of that step precedes it
      const index = journal.records.indexOf(empty)
      expect(journal.records[index - 1].type).toBe("portfolio")
      const next = decisions[at + 1]
      expect(next.bar_time).toBe(new Date(lost + SPAN).toISOString())
      expect(next.holds).toBeUndefined()
      expect(next.action).toHaveLength(tickers.length)
      expect(next.orders.length).toBeGreaterThan(0)
    }))
})

describe("unattended: stop means stop", () => {
  it.effect("an interrupt ends within settleTimeout + the margin when the broker hangs, and journals session_end", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      let hang = false
      const hanging = (sim: Layer.Layer<Broker, never, SimExchange>) =>
        Layer.effect(
          Broker,
          Effect.map(Broker, (b) => {
            const unless = <A, E>(call: Effect.Effect<A, E>) => Effect.suspend(() => (hang ? Effect.never : call))
            return Broker.of({ ...b, openOrders: unless(b.openOrders), reconcile: unless(b.reconcile), takeUpdates: unless(b.takeUpdates) })
          })
        ).pipe(Layer.provide(sim))
      const { journal, layer } = world(bars, undefined, hanging)
      const settleTimeout = Duration.seconds(1)
      yield* TestClock.setTime(start)
      const fiber = yield* Effect.fork(trade({ ...tradeSettings("u", rules), settleTimeout }).pipe(Effect.provide(layer)))
      for (let i = 0; i < 150; i++) yield* TestClock.adjust("1 minute")
      expect(ofType(journal.records, "decision").length).toBeGreaterThan(0)
      hang = true
      yield* TestClock.adjust("30 seconds")
      const stoppedAt = yield* Clock.currentTimeMillis
      yield* Fiber.interruptFork(fiber)
      const bound = Duration.toMillis(settleTimeout) + Duration.toMillis(STOP_MARGIN)
      for (let i = 0; i < 600 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("100 millis")
      expect(fiber.unsafePoll()).not.toBeNull()
      expect((yield* Clock.currentTimeMillis) - stoppedAt).toBeLessThanOrEqual(bound + 100)
      const lastRecord = journal.records[journal.records.length - 1]
      expect(lastRecord.type).toBe("session_end")
      expect((lastRecord as { stopped_by_deadline?: boolean }).stopped_by_deadline).toBe(true)
    }))
})

describe("unattended: outages are weather", () => {
  /** The broker answers 503 to every REST call while `down()` says so; its stream (trade updates) keeps going. */
  const outageBroker = (down: (now: number) => boolean) => (sim: Layer.Layer<Broker, never, SimExchange>) =>
    Layer.effect(
      Broker,
      Effect.map(Broker, (b) => {
        const out = <A, E>(operation: string, call: Effect.Effect<A, E>): Effect.Effect<A, E | BrokerUnavailable> =>
          Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<A, E | BrokerUnavailable> => (down(now) ? new BrokerUnavailable({ operation, detail: "service unavailable", status: 503 }) : call))
        return Broker.of({
          ...b,
          account: out("account", b.account),
          positions: out("positions", b.positions),
          openOrders: out("open orders", b.openOrders),
          submit: (r) => out(`submit ${r.clientOrderId}`, b.submit(r)),
          orderByClientId: (id) => out("order by client order id", b.orderByClientId(id))
        })
      })
    ).pipe(Layer.provide(sim))

  it.effect("a 45-minute broker outage: the session holds (one outage record), then trades on; nothing ends it", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 70, 11)
      const start = bars.get("AAA")![0].time
      const from = start + 60 * 60_000
      const to = from + 45 * 60_000
      const { journal, layer } = world(bars, undefined, outageBroker((now) => now >= from && now < to))
      const program = Effect.gen(function* () {
        yield* trade({ ...tradeSettings("u", rules), maxSteps: 45 })
        const { book } = yield* SimExchange
        return book.positionList()
      }).pipe(Effect.provide(layer))
      const held = yield* drive(program, start, 600)

      const records = journal.records
      expect(ofType(records, "session_error")).toEqual([])
      const outages = ofType(records, "outage")
      expect(outages).toHaveLength(1)
      expect(outages[0]).toMatchObject({ service: "broker", cause: expect.stringContaining("HTTP 503") })
      const ends = ofType(records, "outage_end")
      expect(ends).toHaveLength(1)
      expect(ends[0].since).toBe(outages[0].time)
      expect(Date.parse(ends[0].time)).toBeGreaterThanOrEqual(to)
      // every step decided while the broker was known to be out held every ticker, saying why
      const during = ofType(records, "decision").filter((d) => Date.parse(d.time) > Date.parse(outages[0].time) && Date.parse(d.time) < Date.parse(ends[0].time))
      expect(during.length).toBeGreaterThanOrEqual(7)
      for (const d of during) {
        expect(d.orders).toEqual([])
        expect(d.holds?.map((h) => h.ticker)).toEqual(tickers)
        expect(d.holds?.[0].reason).toContain("the broker is not answering")
      }
      // and after it the session trades again, to its last step
      const after = ofType(records, "decision").filter((d) => Date.parse(d.time) > Date.parse(ends[0].time))
      expect(after.some((d) => d.orders.length > 0)).toBe(true)
      expect(ofType(records, "session_end")[0].steps).toBe(45)
      // an order caught by the outage is given up when its step is past, once; none is sent twice
      for (const e of ofType(records, "order_error")) expect(e.error).toContain("step was past")
      const fillsById = new Map<string, number>()
      for (const f of records.filter((r) => r.type === "fill" || r.type === "partial_fill")) {
        const id = (f as { client_order_id: string }).client_order_id
        fillsById.set(id, (fillsById.get(id) ?? 0) + 1)
      }
      expect([...fillsById.values()].every((n) => n === 1)).toBe(true)
      // the journal's fills add up to what the broker holds
      const journaled = new Map<string, number>()
      for (const f of ofType(records, "fill")) journaled.set(f.ticker, (journaled.get(f.ticker) ?? 0) + (f.side === "buy" ? f.qty : -f.qty))
      for (const p of held) expect(journaled.get(p.ticker) ?? 0).toBe(p.qty)
    }))

  it.effect("a broker that is out when the session starts: it waits, journals the outage once, and starts when the broker answers", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 60, 11)
      const start = bars.get("AAA")![0].time
      // the first dozen broker calls fail (the start's account call among them)
      let calls = 0
      const { journal, layer } = world(bars, undefined, outageBroker(() => ++calls <= 12))
      yield* drive(trade({ ...tradeSettings("u", rules), maxSteps: 5 }).pipe(Effect.provide(layer)), start)
      const records = journal.records
      expect(ofType(records, "session_error")).toEqual([])
      expect(ofType(records, "outage")).toHaveLength(1)
      expect(ofType(records, "outage_end")).toHaveLength(1)
      expect(ofType(records, "session_end")[0].steps).toBe(5)
    }))
})

describe("unattended: a journal that cannot be written", () => {
  it.effect("the disk fills for 30 minutes: nothing is decided or sent meanwhile, nothing is lost, then it decides on", () =>
    Effect.gen(function* () {
      const bars = randomBars(tickers, 70, 11)
      const start = bars.get("AAA")![0].time
      const from = start + 60 * 60_000
      const to = from + 30 * 60_000
      let refused = 0
      const refusedRecords: Array<JournalRecord> = []
      const full = (memory: Layer.Layer<Journal>) =>
        Layer.effect(
          Journal,
          Effect.map(Journal, (j) =>
            Journal.of({
              ...j,
              append: (r) =>
                Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  now >= from && now < to
                    ? Effect.sync(() => void (refused++, refusedRecords.push(r))).pipe(Effect.zipRight(Effect.fail(new JournalError({ path: "journal.jsonl", detail: "cannot append: ENOSPC: no space left on device" }))))
                    : j.append(r)
                )
            })
          )
        ).pipe(Layer.provide(memory))
      // what reached the broker
      const sent: Array<string> = []
      const recording = (sim: Layer.Layer<Broker, never, SimExchange>) =>
        Layer.effect(Broker, Effect.map(Broker, (b) => Broker.of({ ...b, submit: (r) => Effect.tap(b.submit(r), () => Effect.sync(() => void sent.push(r.clientOrderId))) }))).pipe(
          Layer.provide(sim)
        )
      const { journal, layer } = simWorld({ bars, tickers, definitions, rules, policy, broker: recording, journal: full })
      const program = Effect.gen(function* () {
        yield* trade({ ...tradeSettings("u", rules), maxSteps: 40 })
        const { book } = yield* SimExchange
        return book.positionList()
      }).pipe(Effect.provide(layer))
      const held = yield* drive(program, start, 600)

      const records = journal.records
      expect(refused).toBeGreaterThan(0)
      // no record carries a time inside the window: nothing was decided then
      expect(records.filter((r) => "time" in r && Date.parse(r.time as string) >= from && Date.parse(r.time as string) < to && r.type !== "fill" && r.type !== "partial_fill")).toEqual([])
      const decided = new Set(ofType(records, "decision").flatMap((d) => d.orders.map((o) => o.client_order_id)))
      // every order at the broker was journaled in its decision before it was sent
      expect(sent.length).toBeGreaterThan(0)
      for (const id of sent) expect(decided.has(id), id).toBe(true)
      // decisions before and after the window, and the session ran to its last step
      expect(ofType(records, "decision").some((d) => Date.parse(d.time) >= to)).toBe(true)
      expect(ofType(records, "session_end")[0].steps).toBe(40)
      // the fills that happened while the journal refused them were journaled once it took them, once each
      // a fill the journal refused was journaled once it took records again
      const refusedFills = refusedRecords.flatMap((r) => (r.type === "fill" ? [r.client_order_id] : []))
      expect(refusedFills.length).toBeGreaterThan(0)
      for (const id of refusedFills) expect(ofType(records, "fill").filter((f) => f.client_order_id === id)).toHaveLength(1)
      const fills = new Map<string, number>()
      for (const f of ofType(records, "fill")) fills.set(f.client_order_id, (fills.get(f.client_order_id) ?? 0) + 1)
      expect([...fills.values()].every((n) => n === 1)).toBe(true)
      const position = new Map<string, number>()
      for (const f of ofType(records, "fill")) position.set(f.ticker, (position.get(f.ticker) ?? 0) + (f.side === "buy" ? f.qty : -f.qty))
      for (const p of held) expect(position.get(p.ticker) ?? 0).toBe(p.qty)
    }))
})
