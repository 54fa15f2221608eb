/**
 * Keeps one SDK websocket alive forever. The SDK's own reconnect is off (it gives up after 10
 * attempts and sleeps on real timers); instead each connection is a scoped resource, and when it
 * drops a new one is opened after a capped, jittered exponential delay on Effect's Clock (so
 * TestClock drives it). The old socket is closed (its scope released) before the new one opens, so
 * Alpaca never sees two of ours (one market data connection per key: a second gets 406). The
 * delay resets once a connection got ready.
 */
import { StatusBoard } from "../../services/StatusBoard.js"
import { type Clock, Deferred, Effect, Runtime, Schedule, type Scope } from "effect"
import type { AlpacaBackoff } from "./client.js"
import { backoffSchedule } from "./errors.js"

/** What every SDK stream (AlpacaWebSocket) offers that the supervisor needs. */
export interface SdkStream {
  connect(): void
  disconnect(): void
  removeAllListeners(): unknown
  onDisconnect(fn: () => void): unknown
  onError(fn: (err: string) => void): unknown
}

export interface StreamSignals {
  /** The connection is usable (authenticated and, where it matters, subscribed). */
  readonly ready: () => void
}

export interface SupervisedStream<S extends SdkStream> {
  /** Used in log lines, e.g. `trade_updates stream`. */
  readonly name: string
  readonly backoff: AlpacaBackoff
  /** The clock the reconnect delays wait on: real time, even when the program runs on an accelerated market's (default: the fiber's). */
  readonly clock?: Clock.Clock | undefined
  /**
   * Creates the SDK stream (with the SDK's reconnect disabled) and wires its listeners; it must
   * call `signals.ready()` once usable. The supervisor calls `connect()` after.
   */
  readonly open: (signals: StreamSignals) => S
  /** Runs once per connection when it is ready; `reconnected` is false for the very first. */
  readonly onReady: (stream: S, reconnected: boolean) => Effect.Effect<void>
  /** Runs on every SDK error message (e.g. to switch feeds); the supervisor logs them too. */
  readonly onError?: (stream: S, message: string) => Effect.Effect<void>
}

interface ConnectionEnd {
  readonly wasReady: boolean
  readonly reason: string
}

/**
 * Runs `spec`'s stream until interrupted (fork it in the layer's scope). Never fails; a defect in
 * one connection is logged and treated as a drop.
 */
export const superviseStream = <S extends SdkStream>(spec: SupervisedStream<S>): Effect.Effect<never> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runFork(runtime)
    // `/status` names each stream: market_data, trade_updates, news
    const board = yield* StatusBoard
    const statusName = spec.name.replace(/ stream$/, "").replace(/\W+/g, "_")
    const driver = yield* Schedule.driver(backoffSchedule(spec.backoff))
    let everReady = false
    let attempt = 0

    const connection: Effect.Effect<ConnectionEnd, never, Scope.Scope> = Effect.gen(function* () {
      const ready = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      let lastError = "connection closed"
      const stream = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const s = spec.open({ ready: () => void run(Deferred.succeed(ready, undefined)) })
          s.onError((message) => {
            lastError = message
            run(
              Effect.logWarning(`${spec.name}: ${message}`).pipe(
                Effect.zipRight(spec.onError === undefined ? Effect.void : spec.onError(s, message))
              )
            )
          })
          s.onDisconnect(() => void run(Deferred.succeed(closed, undefined)))
          s.connect()
          return s
        }),
        (s) =>
          Effect.sync(() => {
            s.removeAllListeners()
            s.disconnect()
          })
      )
      const gotReady = yield* Effect.raceFirst(Deferred.await(ready).pipe(Effect.as(true)), Deferred.await(closed).pipe(Effect.as(false)))
      if (!gotReady) return { wasReady: false, reason: lastError }
      const reconnected = everReady
      everReady = true
      yield* board.stream(statusName, true)
      if (reconnected) yield* Effect.logInfo(`${spec.name}: reconnected`)
      yield* spec.onReady(stream, reconnected)
      yield* Deferred.await(closed)
      return { wasReady: true, reason: lastError }
    })

    return yield* Effect.forever(
      Effect.gen(function* () {
        const end = yield* Effect.scoped(connection).pipe(
          Effect.catchAllCause((cause) => Effect.succeed<ConnectionEnd>({ wasReady: false, reason: `failed: ${cause.toString()}` }))
        )
        yield* board.stream(statusName, false)
        if (end.wasReady) {
          attempt = 0
          yield* driver.reset
        }
        attempt += 1
        yield* Effect.logWarning(`${spec.name} disconnected (${end.reason}); reconnecting with backoff`)
        const delay = driver.next(undefined).pipe(Effect.ignore)
        yield* spec.clock === undefined ? delay : Effect.withClock(delay, spec.clock)
        yield* Effect.logInfo(`${spec.name}: reconnect attempt ${attempt}`)
      })
    )
  })

/**
 * Alpaca's 406 on a stream (another connection with these keys holds it): said once, as an error,
 * then the connection is dropped and the supervisor retries it with backoff. Returns undefined for
 * any other message. `what` names the stream in the message (`market data`, `news`).
 */
export const connectionLimitHandler = (what: string) => {
  let said = false
  return (stream: SdkStream, message: string): Effect.Effect<void> | undefined => {
    if (!/connection limit exceeded/i.test(message)) return undefined
    const first = !said
    said = true
    return Effect.zipRight(
      first
        ? Effect.logError(
            `alpaca ${what}: another connection with these API keys holds the ${what} stream (Alpaca allows one per key: another deployment or process with the same keys?); reconnecting with backoff until it is free`
          )
        : Effect.void,
      Effect.sync(() => stream.disconnect())
    )
  }
}
