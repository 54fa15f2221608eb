/**
 * Websocket side of the emulator, speaking Alpaca's two stream protocols.
 *
 * Market data (`/v2/iex`, `/v2/sip`, `/v2/delayed_sip`, `/v2/test`): on connect
 * `[{"T":"success","msg":"connected"}]`; `{"action":"auth","key","secret"}` →
 * `[{"T":"success","msg":"authenticated"}]` or `[{"T":"error","code":402,"msg":"auth failed"}]`;
 * `subscribe`/`unsubscribe` → the full `[{"T":"subscription",...}]` list; then
 * `[{"T":"b",...}, ...]` batches when bars are published. Frames are msgpack
 * (binary, `t` as a msgpack timestamp) when the upgrade request carries
 * `Content-Type: application/msgpack` — which the official SDK always sends —
 * and JSON text otherwise. Inbound frames may be msgpack (binary) or JSON.
 * Like Alpaca, a key holds one authenticated connection per feed path: a second
 * one answers its valid `auth` with `[{"T":"error","code":406,"msg":"connection limit exceeded"}]`
 * and is closed while the first keeps working; once the first closes (normally,
 * abruptly, or dropped by the emulator) a new one is accepted. A feed the plan
 * does not include (`/v2/sip` on `basic`, plans.ts) answers a valid `auth` with
 * `[{"T":"error","code":409,"msg":"insufficient subscription"}]` and closes.
 *
 * Trading (`/stream`): `{"action":"authenticate","data":{"key_id","secret_key"}}`
 * (or `{"action":"auth","key","secret"}`) → an `authorization` message;
 * `{"action":"listen","data":{"streams":["trade_updates"]}}` → `listening`;
 * then `{"stream":"trade_updates","data":{...}}` events. Like Alpaca's paper
 * endpoint, JSON is sent in BINARY frames (msgpack if requested by header).
 *
 * News (`/v1beta1/news`, a market-data socket too): the same flow, but the one
 * channel is `news` (`{"action":"subscribe","news":["AAPL"]}` or `["*"]`), the
 * subscription reply is `[{"T":"subscription","news":[...]}]`, and items are
 * `[{"T":"n",...}]` (news.ts), sent to sockets subscribed to one of their symbols.
 * One authenticated connection per key here too (406 beyond).
 *
 * During an outage with `streams` (outages.ts) upgrades are refused with the
 * outage's HTTP status.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack"
import { WebSocket, WebSocketServer, type RawData } from "ws"
import type { PublishedBar, LogFn } from "./engine.js"
import { tradeCountOf, vwapOf } from "./market.js"
import type { SocketContext } from "./middleware.js"
import type { NewsStreamItem } from "./news.js"
import { streamAllowed, type Plan } from "./plans.js"

const NEWS_PATH = "/v1beta1/news"
const MARKET_DATA_PATHS = new Set(["/v2/iex", "/v2/sip", "/v2/delayed_sip", "/v2/test", NEWS_PATH])
const TRADING_PATH = "/stream"
const AUTH_TIMEOUT_MS = 10_000

/** Stock channels Alpaca reports in a subscription message. */
const CHANNELS = [
  "trades",
  "quotes",
  "bars",
  "updatedBars",
  "dailyBars",
  "statuses",
  "lulds",
  "corrections",
  "cancelErrors"
] as const
/** The news socket's one channel. */
const NEWS_CHANNELS = ["news"] as const
type Channel = (typeof CHANNELS)[number] | (typeof NEWS_CHANNELS)[number]
const SUBSCRIBABLE = new Set<string>(["trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds"])
const NEWS_SUBSCRIBABLE = new Set<string>(NEWS_CHANNELS)

export interface StreamHubOptions {
  readonly authenticate: (key: unknown, secret: unknown) => boolean
  /** Called before handling each inbound message (brings the market up to date). */
  readonly sync: () => void
  readonly frameHook: (ctx: SocketContext, payload: unknown, send: () => void) => void
  /** Decides which market-data feeds a key may authenticate on. */
  readonly plan: Plan
  /** The HTTP status refusing an upgrade of `kind` now (an outage), or undefined. */
  readonly upgradeRefusal: (kind: SocketContext["kind"]) => number | undefined
  readonly log: LogFn
}

interface Connection {
  readonly ctx: SocketContext
  readonly ws: WebSocket
  authenticated: boolean
}

interface MarketDataConnection extends Connection {
  readonly subs: Record<Channel, Set<string>>
  /** The key it authenticated with. */
  key?: unknown
}

interface TradingConnection extends Connection {
  listening: boolean
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z")

export class StreamHub {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  private readonly marketData = new Set<MarketDataConnection>()
  private readonly trading = new Set<TradingConnection>()
  private readonly pending = new Set<Promise<void>>()
  private nextId = 1

  constructor(private readonly opts: StreamHubOptions) {}

  /** Handles an HTTP upgrade; returns false if the path is not a stream endpoint. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? "/").split("?")[0]
    const kind = MARKET_DATA_PATHS.has(path) ? "market-data" : path === TRADING_PATH ? "trading" : undefined
    if (kind === undefined) return false
    const refused = this.opts.upgradeRefusal(kind)
    if (refused !== undefined) {
      this.opts.log("info", "stream upgrade refused (outage)", { path, status: refused })
      socket.end(`HTTP/1.1 ${refused} ${STATUS_CODES[refused] ?? "Error"}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return true
    }
    const contentType = String(req.headers["content-type"] ?? "").toLowerCase()
    const codec = contentType.includes("application/msgpack") ? "msgpack" : "json"
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const ctx: SocketContext = { id: this.nextId++, kind, path, codec, terminate: () => ws.terminate() }
      this.opts.log("info", "stream connected", { id: ctx.id, path, codec })
      if (kind === "market-data") this.acceptMarketData(ws, ctx)
      else this.acceptTrading(ws, ctx)
    })
    return true
  }

  /** Sends published bars to subscribed market-data connections (one array per connection). */
  broadcastBars(bars: ReadonlyArray<PublishedBar>): void {
    for (const conn of this.marketData) {
      if (!conn.authenticated) continue
      const subs = conn.subs.bars
      if (subs.size === 0) continue
      const wildcard = subs.has("*")
      const frames = bars
        .filter((b) => wildcard || subs.has(b.symbol))
        .map((b) => ({
          T: "b",
          S: b.symbol,
          o: b.bar.open,
          h: b.bar.high,
          l: b.bar.low,
          c: b.bar.close,
          v: b.bar.volume,
          t: conn.ctx.codec === "msgpack" ? new Date(b.bar.time) : rfc3339(b.bar.time),
          n: tradeCountOf(b.bar),
          vw: vwapOf(b.bar)
        }))
      if (frames.length > 0) this.send(conn, frames)
    }
  }

  /** Sends news versions to the news sockets subscribed to one of their symbols (or `*`). */
  broadcastNews(items: ReadonlyArray<NewsStreamItem>): void {
    for (const conn of this.marketData) {
      if (!conn.authenticated || conn.ctx.path !== NEWS_PATH) continue
      const subs = conn.subs.news
      if (subs.size === 0) continue
      const wildcard = subs.has("*")
      const frames = items.filter((item) => wildcard || item.symbols.some((s) => subs.has(s))).map((item) => item.json)
      if (frames.length > 0) this.send(conn, frames)
    }
  }

  /** Sends a `trade_updates` event (`data` is the event body) to listening trading connections. */
  broadcastTradeUpdate(data: Record<string, unknown>): void {
    for (const conn of this.trading) {
      if (conn.authenticated && conn.listening) this.send(conn, { stream: "trade_updates", data })
    }
  }

  /** Resolves once every frame handed to `ws` so far has been written. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  /**
   * Abruptly drops (TCP-level, no close frame — the client sees code 1006)
   * every open connection of `kind` (both kinds when omitted); returns how many.
   */
  drop(kind?: SocketContext["kind"]): number {
    const victims: Connection[] = []
    if (kind === undefined || kind === "market-data") victims.push(...this.marketData)
    if (kind === undefined || kind === "trading") victims.push(...this.trading)
    let n = 0
    for (const conn of victims) {
      if (conn.ws.readyState !== WebSocket.OPEN) continue
      this.opts.log("info", "stream dropped (fault injection)", { id: conn.ctx.id, path: conn.ctx.path })
      conn.ctx.terminate()
      n++
    }
    return n
  }

  /** Drops every connection. */
  close(): void {
    for (const conn of [...this.marketData, ...this.trading]) conn.ws.terminate()
    this.marketData.clear()
    this.trading.clear()
    this.wss.close()
  }

  // ------------------------------------------------------------------ common

  private send(conn: Connection, payload: unknown): void {
    this.opts.frameHook(conn.ctx, payload, () => {
      if (conn.ws.readyState !== WebSocket.OPEN) return
      let data: Buffer | string
      let binary: boolean
      if (conn.ctx.codec === "msgpack") {
        const bytes = msgpackEncode(payload)
        data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        binary = true
      } else {
        data = JSON.stringify(payload)
        // Alpaca's paper trading stream sends JSON in binary frames; market data uses text.
        binary = conn.ctx.kind === "trading"
        if (binary) data = Buffer.from(data, "utf8")
      }
      const done = new Promise<void>((resolve) => {
        conn.ws.send(data, { binary }, () => resolve())
      })
      this.pending.add(done)
      void done.then(() => this.pending.delete(done))
    })
  }

  private decode(raw: RawData, isBinary: boolean): { ok: true; value: unknown } | { ok: false } {
    const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw)
    if (isBinary) {
      try {
        return { ok: true, value: msgpackDecode(buf) }
      } catch {
        // fall through: some clients send JSON in binary frames
      }
    }
    try {
      return { ok: true, value: JSON.parse(buf.toString("utf8")) }
    } catch {
      return { ok: false }
    }
  }

  private watch(conn: Connection, onMessage: (msg: unknown, valid: boolean) => void, onClose: () => void): void {
    conn.ws.on("message", (raw, isBinary) => {
      try {
        this.opts.sync()
        const decoded = this.decode(raw, isBinary)
        onMessage(decoded.ok ? decoded.value : undefined, decoded.ok)
      } catch (e) {
        this.opts.log("error", "stream message handling failed", {
          id: conn.ctx.id,
          error: e instanceof Error ? e.message : String(e)
        })
      }
    })
    conn.ws.on("close", () => {
      this.opts.log("info", "stream disconnected", { id: conn.ctx.id, path: conn.ctx.path })
      onClose()
    })
    conn.ws.on("error", (e) => this.opts.log("warn", "stream socket error", { id: conn.ctx.id, error: e.message }))
  }

  // ------------------------------------------------------------- market data

  private acceptMarketData(ws: WebSocket, ctx: SocketContext): void {
    const subs = Object.fromEntries([...CHANNELS, ...NEWS_CHANNELS].map((c) => [c, new Set<string>()])) as Record<Channel, Set<string>>
    const conn: MarketDataConnection = { ctx, ws, authenticated: false, subs }
    this.marketData.add(conn)
    const authTimer = setTimeout(() => {
      if (!conn.authenticated && ws.readyState === WebSocket.OPEN) {
        this.send(conn, [{ T: "error", code: 404, msg: "auth timeout" }])
        ws.close()
      }
    }, AUTH_TIMEOUT_MS)
    authTimer.unref()
    this.watch(
      conn,
      (msg, valid) => this.onMarketDataMessage(conn, msg, valid),
      () => {
        clearTimeout(authTimer)
        this.marketData.delete(conn)
      }
    )
    this.send(conn, [{ T: "success", msg: "connected" }])
  }

  private onMarketDataMessage(conn: MarketDataConnection, msg: unknown, valid: boolean): void {
    const error = (code: number, text: string): void => this.send(conn, [{ T: "error", code, msg: text }])
    if (!valid || typeof msg !== "object" || msg === null || Array.isArray(msg)) return error(400, "invalid syntax")
    const m = msg as Record<string, unknown>
    switch (m.action) {
      case "auth": {
        if (conn.authenticated) return error(403, "already authenticated")
        if (!this.opts.authenticate(m.key, m.secret)) {
          this.opts.log("warn", "stream auth failed", { id: conn.ctx.id })
          return error(402, "auth failed")
        }
        if (!streamAllowed(this.opts.plan, conn.ctx.path)) return this.refuse(conn, 409, "insufficient subscription")
        if (this.holdsConnection(m.key, conn)) return this.refuse(conn, 406, "connection limit exceeded")
        conn.authenticated = true
        conn.key = m.key
        this.send(conn, [{ T: "success", msg: "authenticated" }])
        return
      }
      case "subscribe":
      case "unsubscribe": {
        if (!conn.authenticated) return error(401, "not authenticated")
        const news = conn.ctx.path === NEWS_PATH
        const changes: Array<[Channel, string[]]> = []
        for (const [key, value] of Object.entries(m)) {
          if (key === "action") continue
          if (!(news ? NEWS_SUBSCRIBABLE : SUBSCRIBABLE).has(key)) continue
          if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) return error(400, "invalid syntax")
          changes.push([key as Channel, value as string[]])
        }
        for (const [channel, symbols] of changes) {
          for (const s of symbols) {
            if (m.action === "subscribe") conn.subs[channel].add(s)
            else conn.subs[channel].delete(s)
          }
        }
        conn.subs.corrections = new Set(conn.subs.trades)
        conn.subs.cancelErrors = new Set(conn.subs.trades)
        const frame: Record<string, unknown> = { T: "subscription" }
        for (const c of news ? NEWS_CHANNELS : CHANNELS) frame[c] = [...conn.subs[c]]
        this.send(conn, [frame])
        return
      }
      default:
        return error(400, "invalid syntax")
    }
  }

  /**
   * Whether another authenticated connection of `key` on `conn`'s path is open. Only OPEN
   * sockets count: one the emulator dropped (`terminate`) or that is closing is CLOSING at once,
   * before its `close` event, so a client reconnecting right after a drop is not refused.
   */
  private holdsConnection(key: unknown, conn: MarketDataConnection): boolean {
    for (const other of this.marketData) {
      if (other === conn || !other.authenticated || other.key !== key || other.ctx.path !== conn.ctx.path) continue
      if (other.ws.readyState === WebSocket.OPEN) return true
    }
    return false
  }

  /** Sends Alpaca's error frame, then closes the connection (a refused `auth`). */
  private refuse(conn: MarketDataConnection, code: number, text: string): void {
    this.opts.log("warn", "stream auth refused", { id: conn.ctx.id, path: conn.ctx.path, code })
    this.send(conn, [{ T: "error", code, msg: text }])
    conn.ws.close()
  }

  // ----------------------------------------------------------------- trading

  private acceptTrading(ws: WebSocket, ctx: SocketContext): void {
    const conn: TradingConnection = { ctx, ws, authenticated: false, listening: false }
    this.trading.add(conn)
    this.watch(
      conn,
      (msg, valid) => this.onTradingMessage(conn, msg, valid),
      () => this.trading.delete(conn)
    )
  }

  private onTradingMessage(conn: TradingConnection, msg: unknown, valid: boolean): void {
    if (!valid || typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      this.send(conn, { action: "error", data: { error_message: "invalid syntax" } })
      return
    }
    const m = msg as Record<string, unknown>
    const data = typeof m.data === "object" && m.data !== null ? (m.data as Record<string, unknown>) : {}
    switch (m.action) {
      case "authenticate":
      case "auth": {
        const key = m.action === "auth" ? (m.key ?? data.key_id) : data.key_id
        const secret = m.action === "auth" ? (m.secret ?? data.secret_key) : data.secret_key
        const ok = this.opts.authenticate(key, secret)
        if (ok) conn.authenticated = true
        else this.opts.log("warn", "trading stream auth failed", { id: conn.ctx.id })
        this.send(conn, {
          stream: "authorization",
          data: { status: ok ? "authorized" : "unauthorized", action: m.action }
        })
        return
      }
      case "listen": {
        if (!conn.authenticated) {
          this.send(conn, { stream: "authorization", data: { status: "unauthorized", action: "listen" } })
          return
        }
        const streams = Array.isArray(data.streams) ? data.streams : []
        conn.listening = streams.includes("trade_updates")
        this.send(conn, { stream: "listening", data: { streams: conn.listening ? ["trade_updates"] : [] } })
        return
      }
      default:
        this.send(conn, { action: "error", data: { error_message: "invalid syntax" } })
    }
  }
}
