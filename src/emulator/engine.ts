/**
 * The emulator's clock and event loop.
 *
 * Market time = anchorMarket + (now() − anchorReal) × speed. At startup the
 * anchors are (`start`, startup real time); `advanceTo(t)` moves the market
 * anchor forward. Everything that happens "in the market" — bars being
 * published, orders filling or expiring, sessions closing — is processed in
 * chronological order by {@link Engine.sync}, which runs before every REST
 * request, right after an order is accepted (a market order whose bar is in
 * progress fills on arrival, at its submission time), on every websocket
 * message, on `tick()`/`advanceTo()`, and from a real-time timer set (scaled
 * by `speed`) to the next such event. There is no polling loop: the timer is
 * re-armed for exactly the next event.
 */
import type { Bar } from "../core/bar.js"
import type { Fees } from "../core/fill-model.js"
import { Broker, type TradeUpdate } from "./broker.js"
import type { Market } from "./market.js"
import { composeFill, type EmulatorMiddleware } from "./middleware.js"

export type LogLevel = "debug" | "info" | "warn" | "error"
export type LogFn = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void

export interface PublishedBar {
  readonly symbol: string
  readonly bar: Bar
}

export interface EngineListener {
  /** Bars that were published at market time `at` (one call per publish moment). */
  readonly onBars: (bars: ReadonlyArray<PublishedBar>, at: number) => void
  readonly onTradeUpdate: (update: TradeUpdate) => void
}

export interface EngineOptions {
  readonly market: Market
  readonly start: number
  readonly speed: number
  readonly now: () => number
  readonly initialCash: number
  readonly slippageBps: number
  readonly fees: Fees
  readonly middleware: ReadonlyArray<EmulatorMiddleware>
  readonly log: LogFn
  readonly accountId: string
  readonly accountNumber: string
}

const MAX_TIMER_MS = 2_147_483_647

export class Engine {
  readonly market: Market
  readonly broker: Broker
  private anchorMarket: number
  private anchorReal: number
  private processedUntil: number
  /** Per symbol: how many bars have been announced as published. */
  private readonly announced = new Map<string, number>()
  /** Index of the first session whose close has not been processed. */
  private closeIndex = 0
  private readonly equityAtClose = new Map<number, number>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  private listener: EngineListener | undefined
  private syncing = false

  constructor(private readonly opts: EngineOptions) {
    this.market = opts.market
    this.anchorMarket = opts.start
    this.anchorReal = opts.now()
    this.processedUntil = opts.start
    this.broker = new Broker(
      opts.market,
      {
        initialCash: opts.initialCash,
        slippageBps: opts.slippageBps,
        fees: opts.fees,
        createdAt: opts.start,
        accountId: opts.accountId,
        accountNumber: opts.accountNumber,
        fillHook: composeFill(opts.middleware)
      },
      (update) => this.listener?.onTradeUpdate(update)
    )
    for (const symbol of opts.market.symbols) {
      this.announced.set(symbol, opts.market.publishedCount(symbol, opts.start))
    }
    const sessions = opts.market.sessions
    while (this.closeIndex < sessions.length && sessions[this.closeIndex].close <= opts.start) this.closeIndex++
  }

  setListener(listener: EngineListener): void {
    this.listener = listener
  }

  /** Current market time (never earlier than what has already been processed). */
  marketNow(): number {
    const t = this.anchorMarket + (this.opts.now() - this.anchorReal) * this.opts.speed
    return Math.max(t, this.processedUntil)
  }

  /** Processes everything due up to the current market time and re-arms the timer. */
  sync(): void {
    if (this.closed || this.syncing) return
    this.syncing = true
    try {
      this.processUntil(this.marketNow())
    } finally {
      this.syncing = false
    }
    this.schedule()
  }

  /** Jumps market time forward to `t` (no-op if `t` is not in the future) and processes. */
  advanceTo(t: number): void {
    if (t > this.marketNow()) {
      this.anchorMarket = t
      this.anchorReal = this.opts.now()
    }
    this.sync()
  }

  /** Equity at the previous session's close (`last_equity`) and that session's date. */
  lastEquity(t: number): { equity: number; asOf: string } {
    const today = this.market.latestStartedSession(t)
    if (today === undefined) return { equity: this.opts.initialCash, asOf: this.market.sessions[0]?.date ?? "" }
    const prev = this.market.sessions[today.index - 1]
    return {
      equity: this.equityAtClose.get(today.index - 1) ?? this.opts.initialCash,
      asOf: prev?.date ?? today.date
    }
  }

  close(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Next market time (after what has been processed) at which something happens. */
  nextEventTime(): number | undefined {
    let best: number | undefined
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (best === undefined || t < best)) best = t
    }
    const barMs = this.market.barMs
    for (const [symbol, count] of this.announced) {
      const s = this.market.series.get(symbol)!
      if (count < s.bars.length) consider(s.times[count] + barMs)
    }
    consider(this.broker.nextEventTime())
    consider(this.market.sessions[this.closeIndex]?.close)
    return best
  }

  private processUntil(target: number): void {
    for (;;) {
      const next = this.nextEventTime()
      if (next === undefined || next > target) break
      this.processAt(Math.max(next, this.processedUntil))
    }
    if (target > this.processedUntil) this.processedUntil = target
  }

  private processAt(t: number): void {
    this.processedUntil = t
    const barMs = this.market.barMs
    const published: PublishedBar[] = []
    for (const [symbol, count] of this.announced) {
      const s = this.market.series.get(symbol)!
      let n = count
      while (n < s.bars.length && s.times[n] + barMs <= t) {
        published.push({ symbol, bar: s.bars[n] })
        n++
      }
      if (n !== count) this.announced.set(symbol, n)
    }
    if (published.length > 0) {
      this.opts.log("debug", "bars published", { at: t, count: published.length })
      this.listener?.onBars(published, t)
    }
    this.broker.processOrders(t)
    const sessions = this.market.sessions
    while (this.closeIndex < sessions.length && sessions[this.closeIndex].close <= t) {
      const s = sessions[this.closeIndex]
      this.equityAtClose.set(s.index, this.broker.equity(s.close))
      this.opts.log("info", "session closed", { date: s.date })
      this.closeIndex++
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.closed || !(this.opts.speed > 0)) return
    const next = this.nextEventTime()
    if (next === undefined) return
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil((next - this.marketNow()) / this.opts.speed)))
    this.timer = setTimeout(() => {
      this.timer = undefined
      try {
        this.sync()
      } catch (e) {
        this.opts.log("error", "emulator event loop failed", { error: e instanceof Error ? e.message : String(e) })
      }
    }, delay)
    this.timer.unref?.()
  }
}
