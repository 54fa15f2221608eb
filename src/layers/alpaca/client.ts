/**
 * The Alpaca SDK client, built from our settings, and the one REST rate limiter every Alpaca layer
 * shares. The SDK's own retries and rate limiting are OFF: retries follow `retryPolicy`
 * (errors.ts) and only heal what can heal; the limiter below is process-wide, across layers.
 */
import { Alpaca, type AlpacaClientOptions, type trading } from "@alpacahq/alpaca-trade-api"
import { Clock, Context, Duration, Effect, FiberRef, Layer, Redacted } from "effect"
import { RequestPriority } from "../../services/Broker.js"
import { ConfigError } from "../../config/errors.js"

export type AlpacaFeed = "iex" | "sip"

export interface AlpacaBackoff {
  /** First reconnect/retry delay (jittered ±20 %, doubled per attempt). */
  readonly base: Duration.Duration
  /** No single delay exceeds this (a server's Retry-After may). */
  readonly max: Duration.Duration
}

export interface AlpacaSettings {
  readonly keyId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  /** Trading REST base, default `https://paper-api.alpaca.markets`. */
  readonly tradingUrl: string
  /** Market data REST base, default `https://data.alpaca.markets`. */
  readonly dataUrl: string
  /** Market data websocket base without the feed, default `wss://stream.data.alpaca.markets/v2`. */
  readonly dataStreamUrl: string
  /** `trade_updates` websocket, default `wss://paper-api.alpaca.markets/stream`. */
  readonly tradingStreamUrl: string
  /** `sip` falls back to `iex` (once, with a warning) when the plan refuses it. */
  readonly feed: AlpacaFeed
  /** Shared REST budget of the whole process, default 200 (Alpaca's per-account limit). */
  readonly requestsPerMinute: number
  readonly backoff: AlpacaBackoff
  /** Retries of a failed REST call that may heal (network, 5xx, 429) before giving up, default 5. */
  readonly maxRetries: number
  /** Per-request timeout, default 30 s. */
  readonly requestTimeout: Duration.Duration
  /** Bars per page of `GET /v2/stocks/bars` (1–10000, across symbols), default 10000. */
  readonly barsPageLimit: number
}

export const ALPACA_DEFAULTS = {
  tradingUrl: "https://paper-api.alpaca.markets",
  dataUrl: "https://data.alpaca.markets",
  dataStreamUrl: "wss://stream.data.alpaca.markets/v2",
  tradingStreamUrl: "wss://paper-api.alpaca.markets/stream",
  feed: "iex",
  requestsPerMinute: 200,
  backoff: { base: Duration.seconds(1), max: Duration.seconds(60) },
  maxRetries: 5,
  requestTimeout: Duration.seconds(30),
  barsPageLimit: 10_000
} as const satisfies Omit<AlpacaSettings, "keyId" | "secretKey">

export type AlpacaSettingsInput = Pick<AlpacaSettings, "keyId" | "secretKey"> &
  Partial<Omit<AlpacaSettings, "keyId" | "secretKey" | "backoff">> & {
    readonly backoff?: Partial<AlpacaBackoff>
  }

/** Settings with Alpaca's defaults filled in. */
export const makeAlpacaSettings = (input: AlpacaSettingsInput): AlpacaSettings => ({
  ...ALPACA_DEFAULTS,
  ...input,
  backoff: { ...ALPACA_DEFAULTS.backoff, ...input.backoff }
})

/** The market data websocket of `feed`: `dataStreamUrl` + `/iex` or `/sip`. */
export const dataStreamUrlFor = (settings: AlpacaSettings, feed: AlpacaFeed): string =>
  `${settings.dataStreamUrl.replace(/\/+$/, "")}/${feed}`

// The SDK derives these hosts itself (paper trading; market data ignores `paper`).
const SDK_TRADING_ORIGIN = "https://paper-api.alpaca.markets"
const SDK_DATA_ORIGIN = "https://data.alpaca.markets"

/** `url` moved from the SDK's `origin` onto `base` (which may carry a path prefix); other URLs unchanged. */
export const rebaseUrl = (url: string, origin: string, base: string): string => {
  if (!url.startsWith(origin)) return url
  const rest = url.slice(origin.length)
  if (rest !== "" && !rest.startsWith("/") && !rest.startsWith("?")) return url
  return `${base.replace(/\/+$/, "")}${rest}`
}

/** REST middleware pointing the SDK's fixed hosts at `tradingUrl` / `dataUrl`. */
const rebaseMiddleware = (settings: AlpacaSettings): trading.Middleware => ({
  pre: async (context) => ({
    url: rebaseUrl(rebaseUrl(context.url, SDK_TRADING_ORIGIN, settings.tradingUrl), SDK_DATA_ORIGIN, settings.dataUrl),
    init: context.init
  })
})

/**
 * The SDK client for `settings` (no SDK retries, no SDK rate limiting). The only place the keys
 * leave their `Redacted`. Fails with a ConfigError when the SDK refuses the credentials.
 */
export const makeAlpacaClient = (settings: AlpacaSettings): Effect.Effect<Alpaca, ConfigError> =>
  Effect.try({
    try: () => {
      const options: AlpacaClientOptions = {
        keyId: Redacted.value(settings.keyId),
        secret: Redacted.value(settings.secretKey),
        paper: true,
        retry: false,
        rateLimit: false,
        timeoutMs: Duration.toMillis(settings.requestTimeout),
        middleware: [rebaseMiddleware(settings)]
      }
      return new Alpaca(options)
    },
    catch: (cause) =>
      new ConfigError({
        field: "alpaca keys",
        detail: `the Alpaca client refused the settings: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  })

/** Alpaca counts the trading API and market data apart, each per key per minute. */
export type AlpacaApi = "trading" | "data"

/** Runs REST calls within the process-wide Alpaca budgets, counted on real time. */
export interface AlpacaRateLimiterService {
  /**
   * Starts `call` within `api`'s budget. A call made {@link inBackground} (reconciliation) or as a
   * probe only starts while half the budget is unspent: the other half is kept for the calls a
   * decision needs.
   */
  readonly limit: <A, E, R>(api: AlpacaApi, call: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Alpaca answered 429: no call of `api` starts before `retryAfter` has passed. */
  readonly pause: (api: AlpacaApi, retryAfter: Duration.Duration) => Effect.Effect<void>
  /** The real-time clock the budgets count on; backoffs against Alpaca (stream reconnects) wait on it too. */
  readonly clock: Clock.Clock
}

/** The ONE limiter every Alpaca REST call of every layer goes through. */
export class AlpacaRateLimiter extends Context.Tag("rl-paper-trader/AlpacaRateLimiter")<
  AlpacaRateLimiter,
  AlpacaRateLimiterService
>() {}

/** The share of a budget background calls may spend. */
export const BACKGROUND_SHARE = 0.5

/** A 429 without a usable reset time pauses this long (Alpaca's windows are a minute; a second is a polite floor). */
const MIN_PAUSE_MS = 1_000

/** One API's budget: at most `limit` starts in any `window` on `clock`, none while paused. */
export interface SlidingWindow {
  readonly admit: (background: boolean) => Effect.Effect<void>
  readonly pause: (ms: number) => Effect.Effect<void>
}

/**
 * At most `limit` calls start in any `window` (a sliding window): Alpaca counts requests per
 * minute, and unlike a token bucket that starts full (Effect's RateLimiter allows a full bucket
 * plus a minute of refills, 2× the limit, in the first minute) this never earns a 429 on its own.
 * `clock` is real time: against an accelerated market the budget is still Alpaca's per real minute.
 * A waiter sleeps outside the lock, so a background call waiting for spare budget never holds up
 * a decision's call.
 */
export const makeSlidingWindow = (limit: number, window: Duration.DurationInput, clock?: Clock.Clock): Effect.Effect<SlidingWindow> =>
  Effect.gen(function* () {
    const time = clock ?? (yield* Effect.clock)
    const windowMs = Duration.toMillis(window)
    const max = Math.max(1, Math.floor(limit))
    const backgroundMax = Math.max(1, Math.floor(max * BACKGROUND_SHARE))
    const lock = yield* Effect.makeSemaphore(1)
    // Start times of the calls within the last window, oldest first.
    const starts: Array<number> = []
    let pausedUntil = Number.NEGATIVE_INFINITY
    /** 0 when admitted (its start recorded), else how long to wait before asking again. */
    const tryAdmit = (background: boolean) =>
      lock.withPermits(1)(
        Effect.map(time.currentTimeMillis, (now) => {
          while (starts.length > 0 && starts[0] <= now - windowMs) starts.shift()
          if (now < pausedUntil) return pausedUntil - now
          const cap = background ? backgroundMax : max
          if (starts.length < cap) {
            starts.push(now)
            return 0
          }
          // the count drops below the cap when the (length − cap + 1) oldest starts leave the window
          return Math.max(1, starts[starts.length - cap] + windowMs - now)
        })
      )
    const admit = (background: boolean): Effect.Effect<void> =>
      Effect.flatMap(tryAdmit(background), (wait) => (wait === 0 ? Effect.void : Effect.zipRight(time.sleep(Duration.millis(wait)), Effect.suspend(() => admit(background)))))
    const pause = (ms: number) =>
      lock.withPermits(1)(
        Effect.map(time.currentTimeMillis, (now) => {
          pausedUntil = Math.max(pausedUntil, now + Math.max(MIN_PAUSE_MS, ms))
        })
      )
    return { admit, pause }
  })

/** The process-wide limiter: `requestsPerMinute` REST calls of each API in any minute of `clock` (default: the Clock it is built on). */
export const makeAlpacaRateLimiter = (requestsPerMinute: number, clock?: Clock.Clock): Effect.Effect<AlpacaRateLimiterService> =>
  Effect.gen(function* () {
    const time = clock ?? (yield* Effect.clock)
    const windows: Record<AlpacaApi, SlidingWindow> = {
      trading: yield* makeSlidingWindow(requestsPerMinute, Duration.minutes(1), time),
      data: yield* makeSlidingWindow(requestsPerMinute, Duration.minutes(1), time)
    }
    return AlpacaRateLimiter.of({
      clock: time,
      limit: (api, call) => Effect.zipRight(Effect.flatMap(FiberRef.get(RequestPriority), (p) => windows[api].admit(p !== "decision")), call),
      pause: (api, retryAfter) => windows[api].pause(Duration.toMillis(retryAfter))
    })
  })

/**
 * The process-wide limiter as a layer. Pass the real-time clock when the program runs on another
 * (market time of an accelerated emulator): Alpaca counts real minutes.
 */
export const AlpacaRateLimiterLive = (settings: Pick<AlpacaSettings, "requestsPerMinute">, clock?: Clock.Clock) =>
  Layer.effect(AlpacaRateLimiter, makeAlpacaRateLimiter(settings.requestsPerMinute, clock))
