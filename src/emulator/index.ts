/**
 * Local Alpaca paper-API emulator speaking Alpaca's wire protocol, so the
 * official SDK (`@alpacahq/alpaca-trade-api` 4.x) works against it unchanged.
 *
 * One port (always 127.0.0.1) serves:
 * - Trading REST at Alpaca's paths: `/v2/account`, `/v2/clock`, `/v3/clock`,
 *   `/v2/calendar`, `/v3/calendar/{market}`, `/v2/assets[/{symbol}]`,
 *   `/v2/positions[/{symbol}]`, `/v2/orders[/{id}]`, `/v2/orders:by_client_order_id`.
 * - Market data REST: `/v2/stocks/bars`, `/v2/stocks/{symbol}/bars`,
 *   `/v2/stocks/bars/latest`, `/v2/stocks/{symbol}/bars/latest`; news: `/v1beta1/news`.
 * - Market data stream: `ws://…/v2/iex`, `/v2/sip` (also `/v2/delayed_sip`, `/v2/test`).
 * - News stream: `ws://…/v1beta1/news` (`alpaca.marketData.newsStream({ url })`).
 * - Trade updates stream: `ws://…/stream`.
 *
 * Pointing the SDK at it (see sdk.ts):
 * ```ts
 * const alpaca = new Alpaca({ keyId: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY,
 *   middleware: [emulatorRestMiddleware(handle.url)] })
 * alpaca.marketData.stockStream({ feed: "iex", url: `ws://127.0.0.1:${handle.port}/v2/iex` })
 * alpaca.trading.stream({ url: `ws://127.0.0.1:${handle.port}/stream` })
 * ```
 *
 * Market model: market time = start + (now() − startup real time) × speed.
 * Trading days are the New York dates that have bars; a session runs from its
 * first bar's start to its last bar's end. A bar is published (served and
 * streamed) once its END ≤ market time. News (option `news`: a news file's
 * path or parsed articles, news.ts): an article version is published once its
 * `updated_at` ≤ market time; REST serves each article at its newest published
 * version and the news stream delivers each version once, to the sockets
 * subscribed to one of its symbols.
 *
 * Fill rule (details in broker.ts; the simulator's, from core/fill-model.ts):
 * a market order submitted at market time T fills completely at the open of
 * the first bar of its symbol whose END is after T — the bar in progress (at
 * once, at T) or else the next bar (at its start) — ± `slippageBps` (buys up,
 * sells down). A limit order fills at the open of a bar starting at or after T
 * if the open is at or better than the limit, else at the limit once a bar
 * whose range crossed it is published. Fills book `buyCostPct`/`sellCostPct`
 * of their notional as fees (default 0, as Alpaca charges no commission).
 *
 * As strict as Alpaca: `rateLimitPerMinute` (default 200) requests per key and
 * API per minute of real time, 429 beyond (server.ts; news counts as market
 * data); one authenticated market-data socket per key and feed (the news
 * endpoint included), 406 beyond (streams.ts); on the `basic`
 * plan (default) recent SIP bars are 403 and the `/v2/sip` stream 409 (plans.ts).
 *
 * Faults (faults.ts, README "Faults"): `faults: { seed, http429Rate, http5xxRate,
 * http5xxAfterRate, timeoutRate, latencyMs, wsDropEverySeconds, lostTradeUpdatesRate,
 * slowFillBars, partialFillRate, outageAtSeconds, … }`, all off by default;
 * `handle.dropSockets(kind?)`, `handle.outage(…)` (outages.ts) and `handle.faultCounts()`.
 */
import { readdir, readFile } from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { basename, extname, join } from "node:path"
import type { Bar } from "../core/bar.js"
import { parseBarsCsv } from "../core/bars-csv.js"
import type { TradeUpdate } from "./broker.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY } from "./constants.js"
import { dataRoutes } from "./data-api.js"
import { Engine, type LogFn } from "./engine.js"
import { FaultInjector, zeroFaultCounts, type FaultCounts, type FaultOptions } from "./faults.js"
import { Market } from "./market.js"
import { composeFrame, type EmulatorMiddleware } from "./middleware.js"
import { loadNewsDesk, newsStreamItem, NewsPublisher } from "./news.js"
import type { NewsArticle } from "../domain/News.js"
import { decimal } from "./format.js"
import { formatUtc } from "../core/nytime.js"
import { Outages, type OutageOptions } from "./outages.js"
import { isPlan, PLANS, type Plan } from "./plans.js"
import { createRestHandler, RATE_LIMIT_PER_MINUTE } from "./server.js"
import { StreamHub } from "./streams.js"
import { tradingRoutes } from "./trading-api.js"

export { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY } from "./constants.js"
export {
  emulatorClientOptions,
  emulatorRestMiddleware,
  emulatorStreamUrls,
  rewriteToEmulator,
  wsUrl
} from "./sdk.js"
export type {
  EmulatorMiddleware,
  FillProposal,
  HttpNext,
  HttpRequest,
  HttpResponse,
  SocketContext
} from "./middleware.js"
export type { LogFn, LogLevel } from "./engine.js"
export { outageProblem, type OutageApi, type OutageOptions } from "./outages.js"
export { isPlan, PLANS, SIP_DELAY_MS, type Plan } from "./plans.js"
export { NEWS_DEFAULT_LIMIT, NEWS_MAX_LIMIT, newsEventTimes } from "./news.js"
export { RATE_LIMIT_PER_MINUTE } from "./server.js"
export {
  describeFaults,
  FAULT_FLAGS,
  faultOptionsProblem,
  parseFaultSpec,
  type FaultCounts,
  type FaultOptions,
  type FaultSpecResult
} from "./faults.js"

/** Which stream sockets {@link EmulatorHandle.dropSockets} drops (`market-data` includes the news socket). */
export type StreamKind = "market-data" | "trading"

export interface EmulatorOptions {
  /** Bars per ticker, ascending; `Bar.time` is the bar START (epoch ms). */
  readonly bars: ReadonlyMap<string, ReadonlyArray<Bar>>
  /** TCP port; 0 or omitted = any free port. Always binds 127.0.0.1. */
  readonly port?: number
  /** Market time runs at `speed` × real time (default 1; 0 freezes it apart from `advanceTo`). */
  readonly speed?: number
  /** Market time at startup, epoch ms; default: the first bar's start (market open). */
  readonly start?: number
  /** Real-time source (default `Date.now`). */
  readonly now?: () => number
  /** Accepted credentials (defaults {@link EMULATOR_KEY_ID} / {@link EMULATOR_SECRET_KEY}). */
  readonly keyId?: string
  readonly secretKey?: string
  /** Starting cash (default 100000). */
  readonly initialCash?: number
  /** Market-order slippage in basis points (default 0): buys fill at open×(1+bps/1e4), sells at open×(1−bps/1e4). */
  readonly slippageBps?: number
  /** Fee on a buy's notional, a fraction in [0, 1] (default 0: Alpaca charges no commission on US equities); cash −= price·qty·(1 + pct). */
  readonly buyCostPct?: number
  /** Fee on a sell's notional, a fraction in [0, 1] (default 0); cash += price·qty·(1 − pct). */
  readonly sellCostPct?: number
  /**
   * REST requests per API key per minute of REAL time (`now`, never market time), the trading
   * and market data APIs counted apart; beyond it, 429 (default {@link RATE_LIMIT_PER_MINUTE}, Alpaca's).
   */
  readonly rateLimitPerMinute?: number
  /**
   * Market-data subscription (default `"basic"`, a new paper account's): on `basic`, SIP bars
   * ending within 15 minutes of market time are 403 and the `/v2/sip` stream is 409.
   */
  readonly plan?: Plan
  /** Structured log sink; the emulator never writes to the console. */
  readonly log?: LogFn
  /** Interception point for REST requests, stream frames and fills (fault injection goes here). */
  readonly middleware?: ReadonlyArray<EmulatorMiddleware>
  /**
   * Seeded fault injection (429/5xx/timeouts/latency, stream drops, lost
   * trade updates, partial and slow fills); all off when omitted. Installed
   * as the innermost middleware, after `middleware`. See README.md "Faults".
   */
  readonly faults?: FaultOptions
  /**
   * News served at `/v1beta1/news` (REST and stream): a news file's path (JSON lines of Alpaca
   * news articles, src/core/news-file.ts) or the articles already parsed, in `updated_at` order.
   * None when omitted (the endpoints answer with no news).
   */
  readonly news?: string | ReadonlyArray<NewsArticle>
}

export interface EmulatorHandle {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** Current market time, epoch ms. */
  marketNow(): number
  /** Processes everything due at the current market time (bars, fills, expiries) and flushes stream frames. */
  tick(): Promise<void>
  /**
   * Moves market time forward to `marketTime` (no-op if not in the future),
   * processes every event on the way in order, and flushes stream frames.
   */
  advanceTo(marketTime: number): Promise<void>
  /**
   * Drops (abruptly, no close frame) every open stream socket of `kind`
   * (both kinds when omitted), as the `wsDropEverySeconds` fault does; works
   * with or without `faults`. Returns how many sockets were dropped (counted in `wsDrops`).
   */
  dropSockets(kind?: StreamKind): number
  /**
   * Alpaca is down from now for `forMs` of real time (`now`): every REST request of `api`
   * (default all) answers `status` (default 503) unperformed; with `streams`, its stream sockets
   * are dropped now and upgrades refused until the end. Throws a RangeError on bad options.
   */
  outage(options: OutageOptions): void
  /** What fault injection has done so far (all zero without `faults`). */
  faultCounts(): FaultCounts
  /** Stops timers, drops every connection and closes the server. */
  close(): Promise<void>
}

const noLog: LogFn = () => {}

/** What is wrong with the slippage and fee options, if anything. */
export const tradingCostProblem = (options: Pick<EmulatorOptions, "slippageBps" | "buyCostPct" | "sellCostPct">): string | undefined => {
  const { slippageBps = 0, buyCostPct = 0, sellCostPct = 0 } = options
  if (!(Number.isFinite(slippageBps) && slippageBps >= 0 && slippageBps < 10_000)) return `slippageBps must be in [0, 10000), got ${slippageBps}`
  if (!(Number.isFinite(buyCostPct) && buyCostPct >= 0 && buyCostPct <= 1)) return `buyCostPct must be a fraction in [0, 1], got ${buyCostPct}`
  if (!(Number.isFinite(sellCostPct) && sellCostPct >= 0 && sellCostPct <= 1)) return `sellCostPct must be a fraction in [0, 1], got ${sellCostPct}`
  return undefined
}

/** What is wrong with the rate-limit and plan options, if anything. */
export const strictnessProblem = (options: Pick<EmulatorOptions, "rateLimitPerMinute" | "plan">): string | undefined => {
  const { rateLimitPerMinute = RATE_LIMIT_PER_MINUTE, plan = "basic" } = options
  if (!(Number.isSafeInteger(rateLimitPerMinute) && rateLimitPerMinute >= 1)) return `rateLimitPerMinute must be a whole number ≥ 1, got ${rateLimitPerMinute}`
  if (!isPlan(plan)) return `plan must be ${PLANS.join(" or ")}, got ${String(plan)}`
  return undefined
}

/** Starts the emulator and resolves once it listens; rejects on bad slippage, fee, rate-limit or plan options or a bad news file. */
export const startEmulator = async (options: EmulatorOptions): Promise<EmulatorHandle> => {
  const problem = tradingCostProblem(options) ?? strictnessProblem(options)
  if (problem !== undefined) throw new RangeError(`emulator: ${problem}`)
  const log = options.log ?? noLog
  const now = options.now ?? Date.now
  const keyId = options.keyId ?? EMULATOR_KEY_ID
  const secretKey = options.secretKey ?? EMULATOR_SECRET_KEY
  const faults = options.faults === undefined ? undefined : new FaultInjector(options.faults, { now, log })
  const middleware = [...(options.middleware ?? []), ...(faults === undefined ? [] : [faults.middleware])]
  const market = new Market(options.bars)
  const start = options.start ?? (market.sessions.length > 0 ? market.firstBarStart : now())
  const authenticate = (key: unknown, secret: unknown): boolean => key === keyId && secret === secretKey
  const plan = options.plan ?? "basic"
  const newsDesk = await loadNewsDesk(options.news)

  const engine = new Engine({
    market,
    start,
    speed: options.speed ?? 1,
    now,
    initialCash: options.initialCash ?? 100_000,
    slippageBps: options.slippageBps ?? 0,
    fees: { buyPct: options.buyCostPct ?? 0, sellPct: options.sellCostPct ?? 0 },
    middleware,
    log,
    accountId: "d3b5a5c6-7e1f-4c2a-9b0e-e5a1a7c0ffee",
    accountNumber: "PA0EMULATOR1"
  })

  let wsDrops = 0
  const dropSockets = (kind?: StreamKind): number => {
    const n = streams.drop(kind)
    wsDrops += n
    return n
  }
  const outages = new Outages({ now, log, drop: dropSockets })
  const streams = new StreamHub({
    authenticate,
    sync: () => sync(),
    frameHook: composeFrame(middleware),
    plan,
    upgradeRefusal: (kind) => outages.upgradeRefusal(kind),
    log
  })
  const news = new NewsPublisher({
    desk: newsDesk,
    start,
    speed: options.speed ?? 1,
    marketNow: () => engine.marketNow(),
    publish: (versions) => streams.broadcastNews(versions.map(newsStreamItem)),
    log
  })
  const sync = (): void => {
    engine.sync()
    news.sync()
  }
  engine.setListener({
    onBars: (bars) => streams.broadcastBars(bars),
    onTradeUpdate: (u) => {
      if (faults?.loseTradeUpdate(u.event, u.order.id) === true) return
      streams.broadcastTradeUpdate(tradeUpdateJson(engine, u))
    }
  })

  const handler = createRestHandler({
    routes: [...tradingRoutes(engine), ...dataRoutes(engine, plan, newsDesk)],
    middleware,
    authenticate,
    sync,
    now,
    rateLimitPerMinute: options.rateLimitPerMinute ?? RATE_LIMIT_PER_MINUTE,
    outage: (api) => outages.restAnswer(api),
    log
  })
  const server = createServer(handler)
  server.on("upgrade", (req, socket, head) => {
    if (!streams.handleUpgrade(req, socket, head)) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`
  log("info", "emulator listening", {
    url,
    symbols: market.symbols.length,
    sessions: market.sessions.length,
    timeframe: market.nativeTimeframe,
    news: newsDesk.versions.length,
    start: formatUtc(start)
  })
  sync()

  const { outageAtSeconds, outageSeconds } = options.faults ?? {}
  if (outageAtSeconds !== undefined && outageSeconds !== undefined) {
    outages.schedule(now() + outageAtSeconds * 1000, { api: "all", forMs: outageSeconds * 1000, streams: true })
  }
  const dropEvery = options.faults?.wsDropEverySeconds
  const dropTimer = dropEvery === undefined ? undefined : setInterval(() => dropSockets(), dropEvery * 1000)
  dropTimer?.unref()

  let closed: Promise<void> | undefined
  return {
    url,
    port,
    marketNow: () => engine.marketNow(),
    tick: async () => {
      sync()
      await streams.flush()
    },
    advanceTo: async (marketTime) => {
      engine.advanceTo(marketTime)
      news.sync()
      await streams.flush()
    },
    dropSockets,
    outage: (o) => outages.schedule(now(), o),
    faultCounts: () => ({ ...(faults?.snapshot() ?? zeroFaultCounts()), wsDrops, outageAnswers: outages.answered }),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        if (dropTimer !== undefined) clearInterval(dropTimer)
        outages.close()
        faults?.close()
        engine.close()
        news.close()
        streams.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    }
  }
}

const tradeUpdateJson = (engine: Engine, u: TradeUpdate): Record<string, unknown> => {
  const data: Record<string, unknown> = {
    event: u.event,
    order: engine.broker.orderJson(u.order),
    timestamp: formatUtc(u.at)
  }
  if (u.executionId !== undefined) data.execution_id = u.executionId
  if (u.price !== undefined) data.price = decimal(u.price)
  if (u.qty !== undefined) data.qty = decimal(u.qty)
  if (u.positionQty !== undefined) data.position_qty = decimal(u.positionQty)
  return data
}

/**
 * Loads `<TICKER>.csv` files from `dir` (via `parseBarsCsv`) into the
 * `bars` map `startEmulator` expects. Rejects if any file has problems,
 * listing them (file:line: message).
 */
export const loadBarsDir = async (dir: string): Promise<Map<string, ReadonlyArray<Bar>>> => {
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && extname(e.name).toLowerCase() === ".csv")
    .map((e) => e.name)
    .sort()
  const out = new Map<string, ReadonlyArray<Bar>>()
  const problems: string[] = []
  for (const name of entries) {
    const ticker = basename(name, extname(name))
    const parsed = parseBarsCsv(await readFile(join(dir, name), "utf8"))
    for (const p of parsed.problems) problems.push(`${name}:${p.line}: ${p.message}`)
    out.set(
      ticker,
      parsed.rows.map((r): Bar => ({ time: r.time, open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume }))
    )
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join("\n")
    const more = problems.length > 20 ? `\n… and ${problems.length - 20} more` : ""
    throw new Error(`invalid bar files in ${dir}:\n${shown}${more}`)
  }
  if (out.size === 0) throw new Error(`no <TICKER>.csv files in ${dir}`)
  return out
}
