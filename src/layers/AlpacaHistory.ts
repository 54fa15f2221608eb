/**
 * The BarHistory port on Alpaca: `GET /v2/stocks/bars` through the official SDK, many symbols per
 * request, paginated (a page holds at most `barsPageLimit` bars across symbols), every call through
 * the process-wide rate limiter, healable errors retried. A feed the plan refuses is an error, never
 * a silent switch: a folder's bars all come from one feed.
 */
import { Effect, Layer } from "effect"
import type { Bar } from "../core/bar.js"
import { ConfigError } from "../config/errors.js"
import { BarHistory, type HistoryQuery } from "../services/BarHistory.js"
import { KeysRefused } from "../services/Broker.js"
import { MarketDataError } from "../services/MarketData.js"
import { AlpacaRateLimiter, makeAlpacaClient, type AlpacaSettings } from "./alpaca/client.js"
import { array, decodeAnswer, decodeRestBar, record } from "./alpaca/decode.js"
import { dataOp, retryHealable, toMarketDataError } from "./alpaca/errors.js"
import { alpacaCall } from "./alpaca/rest.js"

interface Page {
  readonly bars: ReadonlyMap<string, ReadonlyArray<Bar>>
  readonly next: string | undefined
}

const decodePage = (raw: unknown): Page => {
  const body = record(raw, "(body)")
  const byTicker = record(body.bars ?? {}, "bars")
  const bars = new Map<string, ReadonlyArray<Bar>>()
  for (const [ticker, list] of Object.entries(byTicker)) {
    bars.set(ticker, array(list, `bars.${ticker}`).map((b, i) => decodeRestBar(b, `bars.${ticker}[${i}]`)))
  }
  const token = body.nextPageToken
  return { bars, next: typeof token === "string" && token !== "" ? token : undefined }
}

/** Alpaca's refusals, as what the user must change: the keys (exit 2), the feed, the request; else a market data error. */
const refusal = (error: MarketDataError, query: HistoryQuery): MarketDataError | KeysRefused | ConfigError => {
  if (error.status === 401 || (error.status === 403 && query.feed !== "sip")) return new KeysRefused({ operation: "market data bars", status: error.status })
  if (error.status === 403) {
    return new ConfigError({
      field: "alpaca.feed",
      detail: `Alpaca refuses this SIP request (${error.detail}): the free plan serves SIP bars only once they are 15 minutes old, IEX in full; set alpaca.feed: iex`
    })
  }
  if (error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
    return new ConfigError({ field: "tickers", detail: `Alpaca refused the bars request for ${query.symbols.join(", ")}: ${error.detail}` })
  }
  return error
}

export const makeAlpacaHistory = (settings: AlpacaSettings) =>
  Effect.gen(function* () {
    const limiter = yield* AlpacaRateLimiter
    const client = yield* makeAlpacaClient(settings)

    const page = (query: HistoryQuery, pageToken: string | undefined) =>
      retryHealable(
        alpacaCall(limiter, dataOp("bars"), (init) =>
          client.marketData.stocks.stockBars(
            {
              symbols: query.symbols.join(","),
              timeframe: query.timeframe,
              start: new Date(query.start),
              // Alpaca's end is inclusive
              end: new Date(query.end - 1),
              limit: settings.barsPageLimit,
              adjustment: query.adjustment,
              feed: query.feed,
              sort: "asc",
              pageToken
            },
            init
          )
        ),
        settings
      ).pipe(
        Effect.flatMap((raw) => decodeAnswer("bars", () => decodePage(raw))),
        Effect.mapError((e) => refusal(toMarketDataError(e), query))
      )

    const bars = (query: HistoryQuery) =>
      Effect.gen(function* () {
        const collected = new Map<string, Array<Bar>>()
        let received = 0
        let token: string | undefined
        do {
          const answer = yield* page(query, token)
          for (const [ticker, list] of answer.bars) {
            if (!query.symbols.includes(ticker)) continue
            const into = collected.get(ticker) ?? []
            for (const bar of list) if (bar.time >= query.start && bar.time < query.end) into.push(bar)
            collected.set(ticker, into)
            received += list.length
          }
          if (query.onPage !== undefined) yield* query.onPage(received)
          token = answer.next
        } while (token !== undefined)
        return collected as ReadonlyMap<string, ReadonlyArray<Bar>>
      })

    return BarHistory.of({ bars })
  })

/** The port on Alpaca; needs the process's one {@link AlpacaRateLimiter}. */
export const AlpacaHistoryLive = (settings: AlpacaSettings) => Layer.effect(BarHistory, makeAlpacaHistory(settings))
