import { Clock, Effect, Stream } from "effect"
import { actionsToOrders, type TradeRules } from "../core/actions.js"
import { buildObservation } from "../core/layouts.js"
import { applyRiskLimits, type RiskLimits } from "../core/risk.js"
import { TurbulenceIndex } from "../core/turbulence.js"
import { type Interval, intervalMillis } from "../domain/Config.js"
import type { LayoutName } from "../domain/Model.js"
import type { BarSlice, OrderRequest, TradeUpdate } from "../domain/Trading.js"
import { Broker } from "../services/Broker.js"
import { FeatureEngine, type TickerFeatures } from "../services/FeatureEngine.js"
import { Journal } from "../services/Journal.js"
import { MarketData } from "../services/MarketData.js"
import { Policy } from "../services/Policy.js"

export interface SessionSettings {
  readonly deploymentId: string
  readonly interval: Interval
  readonly rules: TradeRules
  readonly risk: RiskLimits
  /** Stop after this many decisions. */
  readonly maxSteps?: number | undefined
}

export interface SessionSummary {
  readonly steps: number
  readonly orders: number
  readonly fills: number
  readonly rejections: number
  /** Equity at the start, then after each step's bar (marked at its closes). */
  readonly equity: ReadonlyArray<number>
  readonly tradedNotional: number
  /** Equal-weight buy & hold of the tickers from the first decision's closes to the last bar's. */
  readonly buyAndHoldReturn: number
}

const iso = (ms: number) => new Date(ms).toISOString()

/** `<deployment>-<TICKER>-<yyyymmddThhmmZ>-<leg>`: the same decision always gets the same id. */
export const clientOrderId = (deploymentId: string, ticker: string, barTime: number, leg: string): string =>
  `${deploymentId}-${ticker}-${iso(barTime).replace(/[-:]/g, "").slice(0, 13)}Z-${leg}`

const updateRecord = (u: TradeUpdate) =>
  u._tag === "Fill"
    ? {
        type: u.partial ? "partial_fill" : "fill",
        time: iso(u.fill.time),
        ticker: u.fill.ticker,
        side: u.fill.side,
        qty: u.fill.qty,
        price: u.fill.price,
        client_order_id: u.fill.clientOrderId
      }
    : {
        type: u._tag === "Canceled" ? "cancel" : u._tag === "Rejected" ? "rejection" : "expiry",
        time: iso(u.time),
        ticker: u.order.ticker,
        side: u.order.side,
        qty: u.order.qty,
        client_order_id: u.order.clientOrderId,
        ...(u.reason === undefined ? {} : { reason: u.reason })
      }

/**
 * The decision loop, the same for a backtest and for paper trading: for each bar slice, journal the
 * broker's trade updates, update every ticker's features, and once all are warm build the
 * observation, run the policy once for the portfolio, turn the action into orders (FinRL's rules,
 * then the risk limits), journal the decision and submit its orders.
 */
export const runSession = (settings: SessionSettings) =>
  Effect.gen(function* () {
    const marketData = yield* MarketData
    const features = yield* FeatureEngine
    const policy = yield* Policy
    const broker = yield* Broker
    const journal = yield* Journal
    const card = policy.card
    const tickers = card.tickers
    const layout: LayoutName = card.observation.layout
    const span = intervalMillis[settings.interval]
    const turbulence = settings.rules.turbulenceThreshold !== undefined || layout === "finrl-stock-trading-np" ? new TurbulenceIndex(tickers.length) : undefined

    const start = yield* Clock.currentTimeMillis
    yield* journal.append({
      type: "session_start",
      time: iso(start),
      deployment: settings.deploymentId,
      model: { name: card.name, version: String(card.version), sha256: card.onnx.sha256 },
      tickers,
      indicators: features.indicatorNames,
      interval: settings.interval
    })

    const latest = new Map<string, TickerFeatures>()
    const history = yield* marketData.history(tickers, settings.interval, start, Math.max(features.warmupBars, turbulence === undefined ? 0 : 253))
    for (const ticker of tickers) {
      for (const bar of history.get(ticker) ?? []) latest.set(ticker, yield* features.update(ticker, bar))
    }
    yield* Effect.logInfo("session started").pipe(Effect.annotateLogs({ tickers: tickers.join(","), warmupBars: features.warmupBars }))

    const cooldown = tickers.map(() => 0)
    const equity: Array<number> = [(yield* broker.account).equity]
    let steps = 0, orders = 0, fills = 0, rejections = 0, tradedNotional = 0, turbulenceValue = 0
    let firstPrices: ReadonlyArray<number> | undefined

    const journalUpdates = Effect.gen(function* () {
      for (const update of yield* broker.takeUpdates) {
        if (update._tag === "Fill") {
          fills++
          tradedNotional += update.fill.qty * update.fill.price
        }
        yield* journal.append(updateRecord(update))
      }
    })

    const step = (slice: BarSlice) =>
      Effect.gen(function* () {
        yield* journalUpdates
        for (const ticker of tickers) {
          const bar = slice.bars.get(ticker)
          if (bar !== undefined) latest.set(ticker, yield* features.update(ticker, bar))
        }
        if (turbulence !== undefined && tickers.every((t) => slice.bars.has(t))) {
          turbulenceValue = turbulence.next(tickers.map((t) => slice.bars.get(t)!.close))
        }
        const current = tickers.map((t) => latest.get(t))
        if (!current.every((f) => f !== undefined && f.warm)) return
        const decisionTime = slice.time + span
        const account = yield* broker.account
        const positions = yield* broker.positions
        const holdings = tickers.map((t) => positions.find((p) => p.ticker === t)?.qty ?? 0)
        const prices = current.map((f) => f!.close)
        firstPrices ??= prices
        const observation = buildObservation(layout, {
          cash: account.cash,
          closes: prices,
          holdings,
          indicators: current.map((f) => f!.values),
          turbulence: turbulenceValue,
          turbulenceThreshold: settings.rules.turbulenceThreshold,
          cooldown
        })
        const action = yield* policy.act(observation)
        const plan = actionsToOrders(action, { cash: account.cash, prices, holdings }, settings.rules, turbulenceValue)
        const risked = applyRiskLimits(plan.orders, { prices, holdings }, settings.risk)
        const holds = tickers.filter((t) => !slice.bars.has(t)).map((ticker) => ({ ticker, reason: "no bar for this step" }))
        const requests: Array<OrderRequest> = risked.orders
          .filter((o) => slice.bars.has(tickers[o.index]))
          .map((o) => ({
            ticker: tickers[o.index],
            side: o.side,
            qty: o.qty,
            type: "market",
            timeInForce: "day",
            clientOrderId: clientOrderId(settings.deploymentId, tickers[o.index], slice.time, o.side === "buy" ? "b" : "s")
          }))
        yield* journal.append({
          type: "decision",
          time: iso(decisionTime),
          bar_time: iso(slice.time),
          observation: Array.from(observation),
          action: Array.from(action),
          orders: requests.map((r) => ({ ticker: r.ticker, side: r.side, qty: r.qty, client_order_id: r.clientOrderId })),
          ...(holds.length > 0 ? { holds } : {}),
          ...(risked.adjustments.length > 0
            ? { risk: risked.adjustments.map((a) => ({ ticker: tickers[a.index], side: a.side, requested: a.requested, allowed: a.allowed, rule: a.rule })) }
            : {})
        })
        for (let i = 0; i < cooldown.length; i++) cooldown[i]++
        for (const request of requests) {
          const submitted = yield* broker.submit(request).pipe(
            Effect.as(true),
            Effect.catchTag("OrderRejected", (rejected) =>
              journal.append({
                type: "rejection",
                time: iso(decisionTime),
                ticker: request.ticker,
                side: request.side,
                qty: request.qty,
                client_order_id: request.clientOrderId,
                reason: rejected.reason
              }).pipe(Effect.as(false))
            )
          )
          if (submitted) {
            orders++
            cooldown[tickers.indexOf(request.ticker)] = 0
          } else rejections++
        }
        steps++
        yield* journalUpdates
        equity.push((yield* broker.account).equity)
      })

    yield* marketData.bars(tickers, settings.interval).pipe(
      Stream.runForEachWhile((slice) =>
        step(slice).pipe(Effect.map(() => settings.maxSteps === undefined || steps < settings.maxSteps))
      )
    )
    yield* journalUpdates
    const lastPrices = tickers.map((t) => latest.get(t)?.close ?? NaN)
    const buyAndHoldReturn = firstPrices === undefined ? 0 : firstPrices.reduce((s, p, i) => s + lastPrices[i] / p - 1, 0) / tickers.length
    const summary: SessionSummary = { steps, orders, fills, rejections, equity, tradedNotional, buyAndHoldReturn }
    yield* journal.append({ type: "session_end", time: iso(yield* Clock.currentTimeMillis), steps, orders, fills, rejections })
    return summary
  })
