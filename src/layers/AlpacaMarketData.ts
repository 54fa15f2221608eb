/**
 * The MarketData port on Alpaca.
 *
 * - history / barAt: `GET /v2/stocks/bars` (multi-symbol, paginated) at the interval's timeframe,
 *   through the shared rate limiter, healable errors retried; only bars closed by then.
 * - live: ONE market data websocket for the process (opened by the first `live`), subscribed to
 *   `bars` and `updatedBars` of every ticker asked for, minute bars fanned out per ticker
 *   (PubSub) and aggregated per subscriber into interval bars. Reconnects forever; after a
 *   reconnect the minutes missed meanwhile are fetched over REST before live ones.
 * - feed: `sip` refused by the plan (REST 403, stream 409) falls back to `iex`, said once.
 */
import type { streaming } from "@alpacahq/alpaca-trade-api"
import { Clock, Deferred, Effect, Layer, PubSub, Queue, Stream } from "effect"
import type { Bar } from "../core/bar.js"
import type { ConfigError } from "../config/errors.js"
import { intervalMillis, type Interval } from "../domain/Config.js"
import { MarketData, type MarketDataError } from "../services/MarketData.js"
import { BarAggregator, dailyBucket, intradayBucket, type Bucket } from "./alpaca/aggregate.js"
import { makeSessionCalendar } from "./alpaca/calendar.js"
import { AlpacaRateLimiter, dataStreamUrlFor, makeAlpacaClient, type AlpacaFeed, type AlpacaSettings } from "./alpaca/client.js"
import { array, decodeAnswer, decodeRestBar, decodeStreamBar, record } from "./alpaca/decode.js"
import { dataOp, retryHealable, toMarketDataError, type AlpacaError } from "./alpaca/errors.js"
import { DAY, MINUTE, nyDate, nyMidnight } from "../core/nytime.js"
import { alpacaCall } from "./alpaca/rest.js"
import { connectionLimitHandler, superviseStream } from "./alpaca/stream.js"

/** Alpaca's timeframe for each interval. */
export const ALPACA_TIMEFRAME: Record<Interval, string> = { "1m": "1Min", "5m": "5Min", "15m": "15Min", "1h": "1Hour", "1d": "1Day" }

/** Regular-session minutes per trading day, for sizing a history window. */
const SESSION_MINUTES = 390
/** Wider, older windows tried for tickers still short of bars (sparse feeds, long halts). */
const HISTORY_ROUNDS = 4

interface BarsQuery {
  readonly symbols: ReadonlyArray<string>
  readonly timeframe: string
  readonly start: number
  readonly end?: number | undefined
  readonly limit: number
  readonly sort: "asc" | "desc"
  readonly pageToken?: string | undefined
}

interface BarsPage {
  readonly bars: ReadonlyMap<string, ReadonlyArray<Bar>>
  readonly next: string | undefined
}

/** A minute from the stream: `updated` corrects an earlier one. */
interface MinuteEvent {
  readonly bar: Bar
  readonly updated: boolean
}

type HubEvent =
  | { readonly _tag: "Bar"; readonly updated: boolean; readonly raw: streaming.StreamBar }
  | { readonly _tag: "Reconnected" }

/** Calendar days that surely hold `count` bars of `interval` (weekends, holidays, a margin). */
const lookbackMs = (interval: Interval, count: number): number => {
  if (interval === "1d") return (Math.ceil((count * 7) / 5) + 7) * DAY
  const perSession = Math.ceil((SESSION_MINUTES * MINUTE) / intervalMillis[interval])
  const sessions = Math.ceil(count / perSession)
  return (Math.ceil((sessions * 7) / 5) + 3) * DAY
}

export const makeAlpacaMarketData = (settings: AlpacaSettings) =>
  Effect.gen(function* () {
    const limiter = yield* AlpacaRateLimiter
    const client = yield* makeAlpacaClient(settings)
    const calendar = yield* makeSessionCalendar(client, limiter, settings)
    let feed: AlpacaFeed = settings.feed

    const fallBackToIex = (why: string) =>
      Effect.suspend(() => {
        if (feed !== "sip") return Effect.void
        feed = "iex"
        return Effect.logWarning(`alpaca market data: the SIP feed is not available to this account (${why}); using IEX from now on`)
      })

    const decodePage = (raw: unknown): BarsPage => {
      const body = record(raw, "(body)")
      const byTicker = record(body.bars ?? {}, "bars")
      const bars = new Map<string, ReadonlyArray<Bar>>()
      for (const [ticker, list] of Object.entries(byTicker)) {
        bars.set(
          ticker,
          array(list, `bars.${ticker}`).map((b, i) => decodeRestBar(b, `bars.${ticker}[${i}]`))
        )
      }
      const token = body.nextPageToken
      return { bars, next: typeof token === "string" && token !== "" ? token : undefined }
    }

    const barsPage = (query: BarsQuery): Effect.Effect<BarsPage, AlpacaError> => {
      const ticker = query.symbols.length === 1 ? query.symbols[0] : undefined
      const attempt: Effect.Effect<unknown, AlpacaError> = Effect.suspend(() => {
        const used = feed
        return alpacaCall(limiter, dataOp("bars", ticker), (init) =>
          client.marketData.stocks.stockBars(
            {
              symbols: query.symbols.join(","),
              timeframe: query.timeframe,
              start: new Date(query.start),
              end: query.end === undefined ? undefined : new Date(query.end),
              limit: query.limit,
              sort: query.sort,
              pageToken: query.pageToken,
              feed: used
            },
            init
          )
        ).pipe(
          Effect.catchIf(
            (e): e is MarketDataError => e._tag === "MarketDataError" && e.status === 403 && used === "sip",
            (e) => Effect.zipRight(fallBackToIex(e.detail), attempt)
          )
        )
      })
      return retryHealable(attempt, settings).pipe(Effect.flatMap((raw) => decodeAnswer("bars", () => decodePage(raw))))
    }

    /** Session close of `date`, `undefined` when it is no trading day. */
    const closeOn = (date: string) => Effect.map(calendar.sessionOn(date), (s) => s?.close)

    const history = (tickers: ReadonlyArray<string>, interval: Interval, before: number, count: number) =>
      Effect.gen(function* () {
        const symbols = [...new Set(tickers)]
        const collected = new Map(symbols.map((t) => [t, [] as Array<Bar>]))
        const done = () => new Map([...collected].map(([t, bars]) => [t, [...bars].reverse()] as const))
        if (symbols.length === 0 || count <= 0) return done()
        const cutoff = Math.min(before, yield* Clock.currentTimeMillis)
        const span = intervalMillis[interval]
        // `end` bounds bar START times: a bar counts when it closed by the cutoff.
        let end: number
        if (interval === "1d") {
          const today = nyDate(cutoff)
          const close = yield* closeOn(today)
          end = close !== undefined && cutoff >= close ? cutoff : nyMidnight(today) - 1
        } else {
          end = Math.floor(cutoff / span) * span - span
        }
        let window = lookbackMs(interval, count)
        let short = symbols
        for (let round = 0; round < HISTORY_ROUNDS && short.length > 0; round++) {
          const start = end - window
          let pageToken: string | undefined
          do {
            const page = yield* barsPage({ symbols: short, timeframe: ALPACA_TIMEFRAME[interval], start, end, limit: settings.barsPageLimit, sort: "desc", pageToken })
            for (const [ticker, bars] of page.bars) {
              const into = collected.get(ticker)
              if (into === undefined) continue
              for (const bar of bars) if (into.length < count && bar.time <= end && bar.time >= start) into.push(bar)
            }
            pageToken = page.next
          } while (pageToken !== undefined && short.some((t) => collected.get(t)!.length < count))
          short = short.filter((t) => collected.get(t)!.length < count)
          end = start - 1
          window *= 2
        }
        return done()
      }).pipe(Effect.mapError((e) => toMarketDataError(e, tickers.length === 1 ? tickers[0] : undefined)))

    const barAt = (ticker: string, interval: Interval, time: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (interval === "1d") {
          const close = yield* closeOn(nyDate(time))
          if (close === undefined || now < close) return undefined
        } else if (time + intervalMillis[interval] > now) {
          return undefined
        }
        const page = yield* barsPage({ symbols: [ticker], timeframe: ALPACA_TIMEFRAME[interval], start: time, end: time, limit: 1, sort: "asc" })
        return page.bars.get(ticker)?.find((b) => b.time === time)
      }).pipe(Effect.mapError((e) => toMarketDataError(e, ticker)))

    /** Completed minutes of `ticker` in [from, to), over REST. */
    const minutesBetween = (ticker: string, from: number, to: number) =>
      Effect.gen(function* () {
        const out: Array<Bar> = []
        let pageToken: string | undefined
        do {
          const page = yield* barsPage({ symbols: [ticker], timeframe: "1Min", start: from, end: to - 1, limit: settings.barsPageLimit, sort: "asc", pageToken })
          out.push(...(page.bars.get(ticker) ?? []).filter((b) => b.time >= from && b.time + MINUTE <= to))
          pageToken = page.next
        } while (pageToken !== undefined)
        return out
      })

    // ------------------------------------------------------------------ live

    const topics = new Map<string, PubSub.PubSub<MinuteEvent>>()
    const lastMinute = new Map<string, number>()
    const inbox = yield* Queue.unbounded<HubEvent>()
    const subscriptionLock = yield* Effect.makeSemaphore(1)
    let socket: streaming.StockDataStream | undefined
    let everConnected = false

    const publish = (ticker: string, event: MinuteEvent) =>
      Effect.suspend(() => {
        const topic = topics.get(ticker)
        if (topic === undefined) return Effect.void
        lastMinute.set(ticker, Math.max(lastMinute.get(ticker) ?? Number.NEGATIVE_INFINITY, event.bar.time))
        return PubSub.publish(topic, event)
      })

    // After a reconnect, each ticker's first live minute is preceded by the minutes missed since its last one.
    const gapSince = new Map<string, number>()

    const fillGap = (ticker: string, before: number) =>
      Effect.suspend(() => {
        const last = gapSince.get(ticker)
        gapSince.delete(ticker)
        if (last === undefined || before <= last + MINUTE) return Effect.void
        return minutesBetween(ticker, last + MINUTE, before).pipe(
          Effect.tap((missed) => (missed.length > 0 ? Effect.logInfo(`alpaca market data: backfilled ${missed.length} minute(s) of ${ticker}`) : Effect.void)),
          Effect.flatMap((missed) => Effect.forEach(missed, (bar) => publish(ticker, { bar, updated: false }), { discard: true })),
          Effect.catchAll((e) => Effect.logWarning(`alpaca market data: could not backfill ${ticker}: ${e.message}`))
        )
      })

    const handle = (event: HubEvent) =>
      event._tag === "Reconnected"
        ? Effect.sync(() => {
            for (const [ticker, last] of lastMinute) gapSince.set(ticker, last)
          })
        : decodeAnswer("stream bar", () => decodeStreamBar(event.raw)).pipe(
            Effect.flatMap(({ ticker, bar }) => Effect.zipRight(fillGap(ticker, bar.time), publish(ticker, { bar, updated: event.updated }))),
            Effect.catchAll((e) => Effect.logWarning(`alpaca market data: ignored a bar: ${e.message}`))
          )

    yield* Queue.take(inbox).pipe(Effect.flatMap(handle), Effect.forever, Effect.forkScoped)

    const connectionLimit = connectionLimitHandler("market data")
    const supervisor = superviseStream({
      name: "market data stream",
      backoff: settings.backoff,
      clock: limiter.clock,
      open: (signals) => {
        const stream = client.marketData.stockStream({ url: dataStreamUrlFor(settings, feed), reconnect: false })
        stream.onBar((raw) => void Queue.unsafeOffer(inbox, { _tag: "Bar", updated: false, raw }))
        stream.onUpdatedBar((raw) => void Queue.unsafeOffer(inbox, { _tag: "Bar", updated: true, raw }))
        stream.onConnect(() => {
          // Queued before the SDK resends the subscriptions, so the backfill precedes newer live minutes.
          if (everConnected) Queue.unsafeOffer(inbox, { _tag: "Reconnected" })
          everConnected = true
          signals.ready()
        })
        const tickers = [...topics.keys()]
        if (tickers.length > 0) {
          stream.subscribeForBars(tickers)
          stream.subscribeForUpdatedBars(tickers)
        }
        socket = stream
        return stream
      },
      onReady: () => Effect.void,
      onError: (stream, message) => {
        if (feed === "sip" && /insufficient subscription/i.test(message)) return Effect.zipRight(fallBackToIex(message), Effect.sync(() => stream.disconnect()))
        return connectionLimit(stream, message) ?? Effect.void
      }
    })

    // The socket opens when the first ticker asks, but runs in the layer's fiber (its logger, its scope).
    const socketWanted = yield* Deferred.make<void>()
    yield* Deferred.await(socketWanted).pipe(Effect.zipRight(supervisor), Effect.forkScoped)

    /** The ticker's minute topic; the first time, subscribes it on the (lazily opened) socket. */
    const topicOf = (ticker: string) =>
      subscriptionLock.withPermits(1)(
        Effect.gen(function* () {
          const existing = topics.get(ticker)
          if (existing !== undefined) return existing
          const topic = yield* PubSub.unbounded<MinuteEvent>()
          topics.set(ticker, topic)
          if (socket !== undefined) {
            socket.subscribeForBars([ticker])
            socket.subscribeForUpdatedBars([ticker])
          }
          yield* Deferred.succeed(socketWanted, undefined)
          return topic
        })
      )

    const bucketOf = (interval: Interval, time: number): Effect.Effect<Bucket> =>
      interval === "1d"
        ? calendar.sessionOn(nyDate(time)).pipe(
            Effect.catchAll((e) => Effect.as(Effect.logWarning(`alpaca market data: no session for ${nyDate(time)}: ${e.message}`), undefined)),
            Effect.map((session) => dailyBucket(time, session))
          )
        : Effect.succeed(intradayBucket(interval, time))

    const live = (ticker: string, interval: Interval): Stream.Stream<Bar, MarketDataError> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const minutes = yield* PubSub.subscribe(yield* topicOf(ticker))
          const aggregator = new BarAggregator()
          const step = (event: MinuteEvent) =>
            Effect.gen(function* () {
              const bucket = yield* bucketOf(interval, event.bar.time)
              const out: Array<Bar> = []
              // Joined mid-bucket: the bucket's earlier minutes come from REST, so it is whole.
              if (aggregator.isFresh && bucket.firstMinute < event.bar.time && event.bar.time <= bucket.lastMinute) {
                const earlier = yield* minutesBetween(ticker, bucket.firstMinute, event.bar.time).pipe(
                  Effect.catchAll((e) => Effect.as(Effect.logWarning(`alpaca market data: could not fetch the start of ${ticker}'s bar: ${e.message}`), [] as Array<Bar>))
                )
                for (const bar of earlier) out.push(...aggregator.push(bar, bucket))
              }
              out.push(...aggregator.push(event.bar, bucket))
              return out
            })
          return Stream.fromQueue(minutes).pipe(Stream.mapEffect(step), Stream.flattenIterables)
        })
      )

    return MarketData.of({ history, live, barAt })
  })

/** The MarketData port on Alpaca; needs the process-wide AlpacaRateLimiter. */
export const AlpacaMarketDataLive = (settings: AlpacaSettings): Layer.Layer<MarketData, ConfigError, AlpacaRateLimiter> =>
  Layer.scoped(MarketData, makeAlpacaMarketData(settings))
