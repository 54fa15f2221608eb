import { ApiError, FetchError } from "@alpacahq/alpaca-trade-api"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Either, Fiber, Schedule, TestClock } from "effect"
import type { Bar } from "../../src/core/bar.js"
import type { Order } from "../../src/domain/Trading.js"
import { BarAggregator, dailyBucket, intradayBucket } from "../../src/layers/alpaca/aggregate.js"
import { decodeCalendar } from "../../src/layers/alpaca/calendar.js"
import { makeAlpacaRateLimiter, makeSlidingWindow, rebaseUrl } from "../../src/layers/alpaca/client.js"
import { decodeAccount, decodeAnswer, decodeOrder, decodePositions } from "../../src/layers/alpaca/decode.js"
import { backoffSchedule, classifyAlpacaError, dataOp, isHealable, retryHealable, submitOp, tradingOp } from "../../src/layers/alpaca/errors.js"
import { nyMidnight, nyWallToEpoch } from "../../src/core/nytime.js"
import { OrderTracker } from "../../src/layers/alpaca/tracker.js"
import { BrokerUnavailable, inBackground, KeysRefused, OrderRejected, RateLimited } from "../../src/services/Broker.js"

const MIN = 60_000

const apiError = (status: number, message: string, retryAfterMs?: number) =>
  new ApiError(new Response(null, { status }), status, 40010001, message, undefined, retryAfterMs, "req-42")

describe("classifyAlpacaError", () => {
  it("maps 429 to RateLimited with the SDK's retryAfterMs", () => {
    const e = classifyAlpacaError(tradingOp("account"), apiError(429, "too many requests", 7_000))
    expect(e).toBeInstanceOf(RateLimited)
    expect(Duration.toMillis((e as RateLimited).retryAfter)).toBe(7_000)
    expect(isHealable(e)).toBe(true)
  })

  it("maps refused placements (403 buying power, 422 duplicate id) to OrderRejected, never retried", () => {
    const poor = classifyAlpacaError(submitOp("c-1"), apiError(403, "insufficient buying power"))
    expect(poor).toBeInstanceOf(OrderRejected)
    expect(poor).toMatchObject({ clientOrderId: "c-1", status: 403 })
    expect(classifyAlpacaError(submitOp("c-1"), apiError(422, "client_order_id must be unique"))).toMatchObject({ _tag: "OrderRejected", status: 422 })
    expect(isHealable(poor)).toBe(false)
  })

  it("maps network failures and 5xx to BrokerUnavailable that may heal, other 4xx to final ones", () => {
    const network = classifyAlpacaError(tradingOp("positions"), new FetchError(new Error("ECONNRESET"), "fetch failed"))
    expect(network).toBeInstanceOf(BrokerUnavailable)
    expect(network).toMatchObject({ status: undefined })
    expect(isHealable(network)).toBe(true)
    const server = classifyAlpacaError(tradingOp("positions"), apiError(503, "unavailable"))
    expect(server).toMatchObject({ _tag: "BrokerUnavailable", status: 503 })
    expect(isHealable(server)).toBe(true)
    expect(classifyAlpacaError(tradingOp("order by client order id"), apiError(404, "not found"))).toMatchObject({ _tag: "BrokerUnavailable", status: 404 })
    // A submit that got no answer may have been placed: it is not a refusal.
    expect(classifyAlpacaError(submitOp("c-2"), new FetchError(new Error("timeout"), "fetch failed"))._tag).toBe("BrokerUnavailable")
  })

  it("maps 401, and 403 outside placement, to KeysRefused, never retried; a 401 on placement too", () => {
    for (const [op, status] of [[tradingOp("account"), 401], [tradingOp("clock"), 403], [submitOp("c-3"), 401]] as const) {
      const refused = classifyAlpacaError(op, apiError(status, "forbidden"))
      expect(refused, `${op.api} ${status}`).toBeInstanceOf(KeysRefused)
      expect(refused).toMatchObject({ status })
      expect(isHealable(refused)).toBe(false)
    }
    expect(new KeysRefused({ operation: "account", status: 401, source: "the keys file /x/api_keys.yaml" }).message).toBe(
      "the broker refused the API keys (HTTP 401 on account); keys read from the keys file /x/api_keys.yaml"
    )
    // a data 403 is the plan refusing a feed, not the keys
    expect(classifyAlpacaError(dataOp("bars", "AAA"), apiError(403, "subscription does not permit"))).toMatchObject({ _tag: "MarketDataError", status: 403 })
  })

  it.effect("retryHealable gives up on KeysRefused at the first attempt", () =>
    Effect.gen(function* () {
      let attempts = 0
      const call = Effect.suspend(() => (attempts++, Effect.fail(classifyAlpacaError(tradingOp("account"), apiError(401, "unauthorized")))))
      const result = yield* Effect.either(retryHealable(call, { backoff: { base: Duration.seconds(1), max: Duration.seconds(1) }, maxRetries: 5 }))
      expect(Either.isLeft(result) && result.left._tag).toBe("KeysRefused")
      expect(attempts).toBe(1)
    })
  )

  it("maps data calls to MarketDataError and anything else thrown to MalformedAnswer", () => {
    expect(classifyAlpacaError(dataOp("bars", "AAA"), apiError(500, "boom"))).toMatchObject({ _tag: "MarketDataError", ticker: "AAA", status: 500 })
    const odd = classifyAlpacaError(tradingOp("account"), new SyntaxError("Unexpected token < in JSON"))
    expect(odd._tag).toBe("MalformedAnswer")
    expect(isHealable(odd)).toBe(false)
  })
})

describe("retry policy", () => {
  const backoff = { base: Duration.seconds(1), max: Duration.seconds(4) }

  it.effect("retries healable failures on a jittered exponential backoff", () =>
    Effect.gen(function* () {
      let calls = 0
      const flaky = Effect.suspend(() => {
        calls++
        return calls < 3 ? Effect.fail(new BrokerUnavailable({ operation: "x", detail: "down", status: 503 })) : Effect.succeed("ok")
      })
      const fiber = yield* Effect.fork(retryHealable(flaky, { backoff, maxRetries: 5 }))
      yield* TestClock.adjust("700 millis")
      expect(calls).toBe(1)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(calls).toBe(3)
    }))

  it.effect("never retries what cannot heal, and gives up after maxRetries", () =>
    Effect.gen(function* () {
      let calls = 0
      const refused = Effect.suspend(() => {
        calls++
        return Effect.fail(new OrderRejected({ clientOrderId: "c", reason: "no", status: 422 }))
      })
      expect((yield* Effect.flip(retryHealable(refused, { backoff, maxRetries: 5 })))._tag).toBe("OrderRejected")
      expect(calls).toBe(1)

      calls = 0
      const down = Effect.suspend(() => {
        calls++
        return Effect.fail(new BrokerUnavailable({ operation: "x", detail: "down" }))
      })
      const fiber = yield* Effect.fork(Effect.either(retryHealable(down, { backoff, maxRetries: 2 })))
      yield* TestClock.adjust("1 minute")
      expect(Either.isLeft(yield* Fiber.join(fiber))).toBe(true)
      expect(calls).toBe(3)
    }))

  it.effect("waits at least a RateLimited error's retryAfter", () =>
    Effect.gen(function* () {
      let calls = 0
      const limited = Effect.suspend(() => {
        calls++
        return calls === 1 ? Effect.fail(new RateLimited({ operation: "x", retryAfter: Duration.seconds(30) })) : Effect.succeed("ok")
      })
      const fiber = yield* Effect.fork(retryHealable(limited, { backoff, maxRetries: 5 }))
      yield* TestClock.adjust("29 seconds")
      expect(calls).toBe(1)
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(calls).toBe(2)
    }))

  it.effect("reconnect delays grow from base and never exceed max", () =>
    Effect.gen(function* () {
      const delays = Chunk.toReadonlyArray(yield* Schedule.run(Schedule.delays(backoffSchedule(backoff)), 0, Array.from({ length: 10 }, () => undefined)))
      const ms = delays.map(Duration.toMillis)
      expect(ms[0]).toBeGreaterThanOrEqual(800)
      expect(ms[0]).toBeLessThanOrEqual(1_200)
      expect(ms.every((d) => d <= 4_000)).toBe(true)
      expect(ms.slice(4).every((d) => d === 4_000)).toBe(true)
    }))
})

describe("the shared rate limiter", () => {
  it.effect("starts at most `limit` calls in any sliding window, the rest in order as the window moves", () =>
    Effect.gen(function* () {
      const window = yield* makeSlidingWindow(3, Duration.minutes(1))
      const started: Array<number> = []
      const call = (i: number) => Effect.zipRight(window.admit(false), Effect.sync(() => started.push(i)))
      yield* call(0)
      yield* TestClock.adjust("20 seconds")
      yield* call(1)
      yield* call(2)
      const waiting = yield* Effect.fork(Effect.all([call(3), call(4), call(5)]))
      yield* TestClock.adjust("39 seconds")
      expect(started).toEqual([0, 1, 2])
      // 60 s after the first call one slot frees; the other two wait for the calls of second 20.
      yield* TestClock.adjust("1 second")
      expect(started).toEqual([0, 1, 2, 3])
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(waiting)
      expect(started).toEqual([0, 1, 2, 3, 4, 5])
    }))

  it.effect("background calls spend only half the budget; a decision's call passes a waiting background one", () =>
    Effect.gen(function* () {
      const limiter = yield* makeAlpacaRateLimiter(4)
      const started: Array<string> = []
      const call = (name: string) => limiter.limit("trading", Effect.sync(() => started.push(name)))
      yield* inBackground(Effect.all([call("b1"), call("b2")]))
      const waitingBackground = yield* Effect.fork(inBackground(call("b3")))
      yield* TestClock.adjust("1 second")
      expect(started).toEqual(["b1", "b2"])
      // the reserved half is there for a decision at once
      yield* call("d1")
      yield* call("d2")
      expect(started).toEqual(["b1", "b2", "d1", "d2"])
      // b3 starts once the window holds fewer than 2 calls: b1 and b2 leave it at 60 s, d1 and d2 at 61 s
      yield* TestClock.adjust("59 seconds")
      expect(started).toHaveLength(4)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waitingBackground)
      expect(started).toEqual(["b1", "b2", "d1", "d2", "b3"])
      // market data has a budget of its own
      yield* limiter.limit("data", Effect.sync(() => started.push("data")))
      expect(started.at(-1)).toBe("data")
    }))

  it.effect("a 429 pauses every call of that API until its retry time, and only that API", () =>
    Effect.gen(function* () {
      const limiter = yield* makeAlpacaRateLimiter(200)
      const started: Array<string> = []
      yield* limiter.pause("trading", Duration.seconds(30))
      const waiting = yield* Effect.fork(limiter.limit("trading", Effect.sync(() => started.push("order"))))
      yield* limiter.limit("data", Effect.sync(() => started.push("bars")))
      yield* TestClock.adjust("29 seconds")
      expect(started).toEqual(["bars"])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waiting)
      expect(started).toEqual(["bars", "order"])
    }))

  it.effect("counts the clock it is given, not the one its callers run on (real time under an accelerated market)", () =>
    Effect.gen(function* () {
      const real = yield* Effect.clock
      // callers see a market clock 600× faster than the limiter's
      const market: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() * 600,
        currentTimeMillis: Effect.map(real.currentTimeMillis, (t) => t * 600),
        unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() * 600n,
        currentTimeNanos: Effect.map(real.currentTimeNanos, (t) => t * 600n),
        sleep: (d) => real.sleep(Duration.millis(Duration.toMillis(d) / 600))
      }
      const limiter = yield* makeAlpacaRateLimiter(2, real)
      let started = 0
      const call = limiter.limit("trading", Effect.sync(() => void started++))
      yield* Effect.withClock(Effect.all([call, call]), market)
      const third = yield* Effect.fork(Effect.withClock(call, market))
      // a market minute (0.1 s real) frees nothing
      yield* TestClock.adjust("100 millis")
      expect(started).toBe(2)
      yield* TestClock.adjust("60 seconds")
      yield* Fiber.join(third)
      expect(started).toBe(3)
    }))
})

describe("decoding Alpaca answers", () => {
  it.effect("parses decimal strings and names the wire field of a bad one", () =>
    Effect.gen(function* () {
      expect(yield* decodeAnswer("account", () => decodeAccount({ cash: "1000.5", equity: "1200", buyingPower: "800.25" }))).toEqual({
        cash: 1000.5,
        equity: 1200,
        buyingPower: 800.25
      })
      const bad = yield* Effect.flip(decodeAnswer("account", () => decodeAccount({ cash: "1", equity: "1", buyingPower: "" })))
      expect(bad).toMatchObject({ _tag: "MalformedAnswer", field: "buying_power" })
      for (const junk of ["0x10", " ", "1,000", "NaN", "1e999", null]) {
        const e = yield* Effect.flip(decodeAnswer("account", () => decodeAccount({ cash: junk, equity: "1", buyingPower: "1" })))
        expect(e.field).toBe("cash")
      }
      const pos = yield* Effect.flip(decodeAnswer("positions", () => decodePositions([{ symbol: "AAA", qty: "3", avgEntryPrice: "1" }, { symbol: "BBB", qty: "x" }])))
      expect(pos.field).toBe("positions[1].qty")
      expect(pos.message).toContain("positions[1].qty")
    }))

  it.effect("folds Alpaca's order statuses onto ours", () =>
    Effect.gen(function* () {
      const raw = (status: string, filledQty = "0") => ({
        id: "o-1",
        clientOrderId: "c-1",
        symbol: "AAA",
        side: "buy",
        qty: "10",
        filledQty,
        filledAvgPrice: filledQty === "0" ? null : "10.5",
        status,
        submittedAt: new Date(1_000)
      })
      expect((yield* decodeAnswer("o", () => decodeOrder(raw("partially_filled", "4")))).status).toBe("partially_filled")
      expect((yield* decodeAnswer("o", () => decodeOrder(raw("pending_cancel", "4")))).status).toBe("partially_filled")
      expect((yield* decodeAnswer("o", () => decodeOrder(raw("done_for_day")))).status).toBe("accepted")
      expect((yield* decodeAnswer("o", () => decodeOrder(raw("replaced")))).status).toBe("canceled")
      expect((yield* decodeAnswer("o", () => decodeOrder(raw("calculated", "10")))).status).toBe("filled")
      expect(yield* decodeAnswer("o", () => decodeOrder(raw("new")))).toEqual({
        id: "o-1",
        clientOrderId: "c-1",
        ticker: "AAA",
        side: "buy",
        qty: 10,
        filledQty: 0,
        filledAvgPrice: undefined,
        status: "new",
        submittedAt: 1_000
      })
      expect((yield* Effect.flip(decodeAnswer("o", () => decodeOrder(raw("teleported"))))).field).toBe("order.status")
    }))

  it("reads the calendar's New York wall times across DST and early closes", () => {
    const sessions = decodeCalendar([
      { date: new Date("2024-03-08T00:00:00Z"), open: "09:30", close: "16:00" },
      { date: new Date("2024-03-11T00:00:00Z"), open: "09:30", close: "16:00" },
      { date: new Date("2024-11-29T00:00:00Z"), open: "09:30", close: "13:00" }
    ])
    expect(sessions).toEqual([
      { date: "2024-03-08", open: Date.UTC(2024, 2, 8, 14, 30), close: Date.UTC(2024, 2, 8, 21, 0) },
      { date: "2024-03-11", open: Date.UTC(2024, 2, 11, 13, 30), close: Date.UTC(2024, 2, 11, 20, 0) },
      { date: "2024-11-29", open: Date.UTC(2024, 10, 29, 14, 30), close: Date.UTC(2024, 10, 29, 18, 0) }
    ])
    expect(nyWallToEpoch("2024-03-10", "03:30")).toBe(Date.UTC(2024, 2, 10, 7, 30))
    expect(nyMidnight("2024-07-01")).toBe(Date.UTC(2024, 6, 1, 4, 0))
    expect(nyWallToEpoch("2024-13-01", "09:30")).toBeUndefined()
  })

  it("moves only the SDK's fixed hosts onto the configured bases", () => {
    expect(rebaseUrl("https://paper-api.alpaca.markets/v2/orders?status=open", "https://paper-api.alpaca.markets", "http://127.0.0.1:9/proxy/")).toBe(
      "http://127.0.0.1:9/proxy/v2/orders?status=open"
    )
    expect(rebaseUrl("https://paper-api.alpaca.markets.evil.com/v2", "https://paper-api.alpaca.markets", "http://x")).toBe(
      "https://paper-api.alpaca.markets.evil.com/v2"
    )
  })
})

describe("OrderTracker", () => {
  const order = (o: Partial<Order>): Order => ({
    id: "o-1",
    clientOrderId: "c-1",
    ticker: "AAA",
    side: "buy",
    qty: 10,
    filledQty: 0,
    filledAvgPrice: undefined,
    status: "new",
    submittedAt: 0,
    ...o
  })

  it("reports each filled quantity once, priced exactly or from the average, and a terminal event once", () => {
    const t = new OrderTracker()
    t.track("c-1")
    expect(t.observe(order({}), 1)).toEqual([])
    const first = t.observe(order({ filledQty: 4, filledAvgPrice: 10, status: "partially_filled" }), 2, { qty: 4, price: 10 })
    expect(first).toMatchObject([{ _tag: "Fill", partial: true, fill: { qty: 4, price: 10, time: 2 } }])
    // The same event again (stream replay, or REST after the stream): nothing new.
    expect(t.observe(order({ filledQty: 4, filledAvgPrice: 10, status: "partially_filled" }), 3)).toEqual([])
    // REST after missed fills: 6 more at an average of 11 overall → the 6 cost (110 − 40) / 6.
    const caughtUp = t.observe(order({ filledQty: 10, filledAvgPrice: 11, status: "filled" }), 4)
    expect(caughtUp).toHaveLength(1)
    expect(caughtUp[0]).toMatchObject({ _tag: "Fill", partial: false, fill: { qty: 6, time: 4 } })
    expect(caughtUp[0]._tag === "Fill" && caughtUp[0].fill.price).toBeCloseTo(70 / 6, 10)
    expect(t.pending()).toEqual([])

    t.track("c-2")
    const canceled = order({ id: "o-2", clientOrderId: "c-2", filledQty: 2, filledAvgPrice: 9, status: "canceled" })
    expect(t.observe(canceled, 5).map((u) => u._tag)).toEqual(["Fill", "Canceled"])
    expect(t.observe(canceled, 6)).toEqual([])
    expect(t.pending()).toEqual([])
  })

  it("keeps unconfirmed submissions pending and forgets refused ones", () => {
    const t = new OrderTracker()
    t.track("a")
    t.track("b")
    t.forget("b")
    expect(t.pending()).toEqual([{ clientOrderId: "a", confirmed: false }])
  })
})

describe("BarAggregator", () => {
  const minute = (i: number, override: Partial<Bar> = {}): Bar => ({ time: i * MIN, open: 100 + i, high: 105 + i, low: 95 + i, close: 100 + i, volume: 10, ...override })
  const five = (i: number) => intradayBucket("5m", i * MIN)

  it("emits a bucket on its last minute, combining OHLCV; a correction replaces its minute", () => {
    const a = new BarAggregator()
    expect(a.push(minute(0), five(0))).toEqual([])
    expect(a.push(minute(1), five(1))).toEqual([])
    // updatedBars: minute 0 corrected (lower open, higher high, more volume).
    expect(a.push(minute(0, { open: 90, high: 130, volume: 40 }), five(0))).toEqual([])
    expect(a.push(minute(2), five(2))).toEqual([])
    expect(a.push(minute(3), five(3))).toEqual([])
    expect(a.push(minute(4), five(4))).toEqual([{ time: 0, open: 90, high: 130, low: 95, close: 104, volume: 80 }])
    // A correction after the bucket was emitted cannot change it.
    expect(a.push(minute(4, { close: 1 }), five(4))).toEqual([])
  })

  it("emits an incomplete bucket when a later bucket's minute arrives, and ignores late minutes", () => {
    const a = new BarAggregator()
    a.push(minute(5), five(5))
    a.push(minute(6), five(6))
    expect(a.push(minute(11), five(11))).toEqual([{ time: 5 * MIN, open: 105, high: 111, low: 100, close: 106, volume: 20 }])
    expect(a.push(minute(7), five(7))).toEqual([])
    expect(a.push(minute(14), five(14))).toEqual([{ time: 10 * MIN, open: 111, high: 119, low: 106, close: 114, volume: 20 }])
  })

  it("1-minute bars pass straight through; daily buckets close at the session close", () => {
    const a = new BarAggregator()
    expect(a.push(minute(3), intradayBucket("1m", 3 * MIN))).toEqual([minute(3)])

    const open = Date.UTC(2024, 10, 29, 14, 30)
    const close = Date.UTC(2024, 10, 29, 18, 0)
    const d = new BarAggregator()
    const bar = (t: number): Bar => ({ time: t, open: 1, high: 2, low: 0.5, close: 1.5, volume: 1 })
    const session = { open, close }
    // Pre-market minutes are not part of the daily bar.
    expect(d.push({ ...bar(open - 30 * MIN), high: 99 }, dailyBucket(open - 30 * MIN, session))).toEqual([])
    expect(d.push(bar(open), dailyBucket(open, session))).toEqual([])
    expect(d.push(bar(close - MIN), dailyBucket(close - MIN, session))).toEqual([
      { time: Date.UTC(2024, 10, 29, 5, 0), open: 1, high: 2, low: 0.5, close: 1.5, volume: 2 }
    ])

    // A day whose closing minute never came ends with its first post-market minute.
    const e = new BarAggregator()
    e.push(bar(open), dailyBucket(open, session))
    expect(e.push(bar(close + 10 * MIN), dailyBucket(close + 10 * MIN, session))).toHaveLength(1)
  })
})
