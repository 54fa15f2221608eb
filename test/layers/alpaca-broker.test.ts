import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Logger, Redacted, TestClock } from "effect"
import type { Bar } from "../../src/core/bar.js"
import type { TradeUpdate } from "../../src/domain/Trading.js"
import { startEmulator, type EmulatorMiddleware, type SocketContext } from "../../src/emulator/index.js"
import { AlpacaBrokerLive } from "../../src/layers/AlpacaBroker.js"
import { AlpacaRateLimiterLive, type AlpacaSettings } from "../../src/layers/alpaca/client.js"
import { alpacaSettingsForEmulator } from "../../src/cli/alpaca-emulator.js"
import { Broker } from "../../src/services/Broker.js"

const MIN = 60_000
/** 2024-01-02 09:30 New York. */
const OPEN = Date.UTC(2024, 0, 2, 14, 30)

/** AAA: 1-minute bars for an hour, bar i opens at 100 + i. */
const bars = (): Map<string, Bar[]> =>
  new Map([
    [
      "AAA",
      Array.from({ length: 60 }, (_, i) => ({ time: OPEN + i * MIN, open: 100 + i, high: 102 + i, low: 99 + i, close: 101 + i, volume: 1000 + i }))
    ]
  ])

/** Yields to the event loop (socket I/O) until `check` holds; fails after 5 s of real time. */
const waitUntil = <A>(label: string, check: Effect.Effect<A | undefined>): Effect.Effect<A> =>
  Effect.gen(function* () {
    const deadline = Date.now() + 5_000
    while (true) {
      const value = yield* check
      if (value !== undefined) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${label}`)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
  })

interface Fixture {
  readonly emu: Awaited<ReturnType<typeof startEmulator>>
  readonly broker: Context.Tag.Service<Broker>
  readonly logs: Array<string>
  /** The logger collecting `logs`, for the caller's side of a service call. */
  readonly logging: Layer.Layer<never>
  /** Trading sockets that have said `listening`, oldest first. */
  readonly listening: Array<SocketContext>
  readonly settings: AlpacaSettings
}

const setup = (
  options: { readonly keyId?: string; readonly secretKey?: string; readonly failFirstAccount?: boolean; readonly loseFirstOrderAnswer?: boolean } = {}
) =>
  Effect.gen(function* () {
    const listening: Array<SocketContext> = []
    let accountCalls = 0
    let orderPosts = 0
    const watch: EmulatorMiddleware = {
      http: async (req, next) => {
        if (req.path === "/v2/account" && options.failFirstAccount === true && accountCalls++ === 0) {
          return { status: 503, body: { code: 50300000, message: "service unavailable" } }
        }
        if (req.path === "/v2/orders" && req.method === "POST" && options.loseFirstOrderAnswer === true && orderPosts++ === 0) {
          // The order is placed, but its answer never arrives.
          const placed = await next()
          req.destroy()
          return placed
        }
        return next()
      },
      frame: (ctx, payload, send) => {
        send()
        if (ctx.kind === "trading" && (payload as { stream?: unknown }).stream === "listening") listening.push(ctx)
      }
    }
    const emu = yield* Effect.acquireRelease(
      Effect.promise(() => startEmulator({ bars: bars(), port: 0, now: () => 0, middleware: [watch], keyId: options.keyId, secretKey: options.secretKey })),
      (e) => Effect.promise(() => e.close())
    )
    const settings = alpacaSettingsForEmulator(emu, {
      ...(options.keyId === undefined ? {} : { keyId: Redacted.make(options.keyId) }),
      ...(options.secretKey === undefined ? {} : { secretKey: Redacted.make(options.secretKey) })
    })
    const logs: Array<string> = []
    const logger = Logger.make(({ logLevel, message, annotations }) => {
      logs.push(`${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify([...annotations])}`)
    })
    const layer = AlpacaBrokerLive(settings).pipe(Layer.provide(AlpacaRateLimiterLive(settings)))
    const logging = Logger.replace(Logger.defaultLogger, logger)
    const context = yield* Layer.build(layer).pipe(Effect.provide(logging))
    const broker = Context.get(context, Broker)
    yield* waitUntil("trade_updates to listen", Effect.sync(() => (listening.length > 0 ? true : undefined)))
    return { emu, broker, logs, logging, listening, settings } satisfies Fixture
  })

/** Drains `takeUpdates` until `accept` holds for what has been collected. */
const collectUpdates = (f: Fixture, label: string, accept: (all: ReadonlyArray<TradeUpdate>) => boolean) =>
  Effect.gen(function* () {
    const all: Array<TradeUpdate> = []
    return yield* waitUntil(
      label,
      Effect.map(f.broker.takeUpdates, (batch) => {
        all.push(...batch)
        return accept(all) ? all : undefined
      })
    )
  })

const fills = (updates: ReadonlyArray<TradeUpdate>) => updates.flatMap((u) => (u._tag === "Fill" ? [u] : []))

describe("AlpacaBroker against the emulator", { timeout: 20_000 }, () => {
  it.scoped("reads account and positions, submits, and delivers the fill as a TradeUpdate", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 2 * MIN + 30_000))
      const account = yield* f.broker.account
      expect(account).toEqual({ cash: 100_000, equity: 100_000, buyingPower: 100_000 })
      expect(yield* f.broker.positions).toEqual([])

      const order = yield* f.broker.submit({ ticker: "AAA", side: "buy", qty: 10, type: "market", timeInForce: "day", clientOrderId: "buy-1" })
      expect(order).toMatchObject({ clientOrderId: "buy-1", ticker: "AAA", side: "buy", qty: 10, filledQty: 0, status: "new" })

      // The bar in progress (09:32) opens at 102: the order fills there, on arrival.
      const updates = yield* collectUpdates(f, "the fill", (all) => fills(all).length > 0)
      expect(updates).toHaveLength(1)
      const fill = fills(updates)[0]
      expect(fill.partial).toBe(false)
      expect(fill.fill).toMatchObject({ ticker: "AAA", side: "buy", qty: 10, price: 102, clientOrderId: "buy-1", orderId: order.id, time: OPEN + 2 * MIN + 30_000 })
      expect(fill.order.status).toBe("filled")
      expect(yield* f.broker.orderByClientId("buy-1")).toMatchObject({ id: order.id, status: "filled" })

      expect(yield* f.broker.positions).toEqual([{ ticker: "AAA", qty: 10, avgEntryPrice: 102 }])
      expect((yield* f.broker.account).cash).toBe(100_000 - 1020)
      expect(yield* f.broker.openOrders).toEqual([])
      expect(yield* f.broker.takeUpdates).toEqual([])
    }))

  it.scoped("refuses a duplicate client order id and missing buying power with OrderRejected", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 2 * MIN + 30_000))
      const request = { ticker: "AAA", side: "buy", qty: 1, type: "limit", limitPrice: 50, timeInForce: "gtc", clientOrderId: "dup" } as const
      yield* f.broker.submit(request)
      const duplicate = yield* Effect.flip(f.broker.submit(request))
      expect(duplicate._tag).toBe("OrderRejected")
      expect(duplicate).toMatchObject({ clientOrderId: "dup", status: 422 })

      const tooBig = yield* Effect.flip(
        f.broker.submit({ ticker: "AAA", side: "buy", qty: 100_000, type: "market", timeInForce: "day", clientOrderId: "big" })
      )
      expect(tooBig._tag).toBe("OrderRejected")
      expect(tooBig).toMatchObject({ clientOrderId: "big", status: 403 })
      expect(tooBig.message).toContain("insufficient buying power")

      const noShares = yield* Effect.flip(
        f.broker.submit({ ticker: "AAA", side: "sell", qty: 5, type: "market", timeInForce: "day", clientOrderId: "short" })
      )
      expect(noShares).toMatchObject({ _tag: "OrderRejected", status: 403 })

      expect(yield* f.broker.orderByClientId("never-submitted")).toBeUndefined()
      expect(yield* f.broker.orderByClientId("big")).toBeUndefined()
    }))

  it.scoped("a submit whose answer was lost is retried, and the duplicate refusal resolves to the order already placed", () =>
    Effect.gen(function* () {
      const f = yield* setup({ loseFirstOrderAnswer: true })
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 2 * MIN + 30_000))
      const submitted = yield* f.broker
        .submit({ ticker: "AAA", side: "buy", qty: 3, type: "limit", limitPrice: 50, timeInForce: "gtc", clientOrderId: "lost" })
        .pipe(Effect.fork)
      const order = yield* waitUntil(
        "the retried submit",
        Effect.gen(function* () {
          yield* TestClock.adjust("1 second")
          const done = yield* Fiber.poll(submitted)
          return done._tag === "Some" ? done.value : undefined
        })
      )
      if (order._tag === "Failure") throw new Error(`submit failed: ${String(order.cause)}`)
      expect(order.value).toMatchObject({ clientOrderId: "lost", qty: 3, status: "new" })
      expect((yield* f.broker.openOrders).map((o) => o.clientOrderId)).toEqual(["lost"])
    }))

  it.scoped("cancels an open order and reports it as Canceled", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 2 * MIN + 30_000))
      const order = yield* f.broker.submit({ ticker: "AAA", side: "buy", qty: 1, type: "limit", limitPrice: 50, timeInForce: "gtc", clientOrderId: "lim" })
      yield* f.broker.cancel(order.id)
      const updates = yield* collectUpdates(f, "the cancel", (all) => all.some((u) => u._tag === "Canceled"))
      expect(updates.map((u) => u._tag)).toEqual(["Canceled"])
      // Cancelling again is harmless: the order is already final.
      yield* f.broker.cancel(order.id)
    }))

  it.scoped("reconnects a dropped trade_updates socket and reconciles the fill it missed", () =>
    Effect.gen(function* () {
      const f = yield* setup()
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 2 * MIN + 30_000))
      f.listening[0].terminate()
      // The order fills on arrival while nobody listens: the emulator's trade update is lost.
      yield* f.broker.submit({ ticker: "AAA", side: "buy", qty: 7, type: "market", timeInForce: "day", clientOrderId: "while-down" })
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 3 * MIN))
      expect(yield* f.broker.takeUpdates).toEqual([])

      // Backoff runs on Effect's Clock: move it until the stream listens again.
      yield* waitUntil(
        "the reconnect",
        Effect.gen(function* () {
          if (f.listening.length >= 2) return true
          yield* TestClock.adjust("1 second")
          return undefined
        })
      )
      const updates = yield* collectUpdates(f, "the reconciled fill", (all) => fills(all).length > 0)
      expect(fills(updates).map((u) => u.fill)).toEqual([
        expect.objectContaining({ clientOrderId: "while-down", qty: 7, price: 102, time: OPEN + 2 * MIN + 30_000 })
      ])
      expect(f.logs.some((l) => l.includes("reconnect"))).toBe(true)
      expect(f.logs.some((l) => l.includes("reconciling 1 open order"))).toBe(true)

      // A later stream event about the same order adds nothing: it was reported once.
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 5 * MIN))
      expect(yield* f.broker.takeUpdates).toEqual([])

      // The new connection delivers updates as usual (submitted at 09:35, filled at that bar's open).
      yield* f.broker.submit({ ticker: "AAA", side: "sell", qty: 7, type: "market", timeInForce: "day", clientOrderId: "after" })
      yield* Effect.promise(() => f.emu.advanceTo(OPEN + 6 * MIN))
      const after = yield* collectUpdates(f, "the second fill", (all) => fills(all).length > 0)
      expect(fills(after).map((u) => [u.fill.clientOrderId, u.fill.side, u.fill.qty, u.fill.price])).toEqual([["after", "sell", 7, 105]])
    }))

  it.scoped("never logs the secret key", () =>
    Effect.gen(function* () {
      const secret = "very-secret-key-0123456789"
      const f = yield* setup({ keyId: "KEY-ID-TEST", secretKey: secret, failFirstAccount: true })
      // A 503 heals on retry (after a backoff on Effect's Clock), with a warning.
      const account = yield* f.broker.account.pipe(Effect.provide(f.logging), Effect.fork)
      yield* waitUntil(
        "the retried account",
        Effect.gen(function* () {
          yield* TestClock.adjust("1 second")
          return (yield* Fiber.poll(account))._tag === "Some" ? true : undefined
        })
      )
      expect((yield* Fiber.join(account)).cash).toBe(100_000)
      expect(f.logs.some((l) => l.includes("service unavailable") && l.includes("may heal"))).toBe(true)
      f.listening[0].terminate()
      yield* waitUntil(
        "the reconnect",
        Effect.gen(function* () {
          if (f.listening.length >= 2) return true
          yield* TestClock.adjust("1 second")
          return undefined
        })
      )
      expect(f.logs.length).toBeGreaterThan(0)
      expect(f.logs.join("\n")).not.toContain(secret)
      expect(String(f.settings.secretKey)).not.toContain(secret)
      expect(JSON.stringify(f.settings)).not.toContain(secret)
    }))
})
