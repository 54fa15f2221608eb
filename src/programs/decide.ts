import { Clock, Effect, Metric } from "effect"
import { actionsToOrders, type TradeRules } from "../core/actions.js"
import type { Bar } from "../core/bar.js"
import { buildObservation } from "../core/layouts.js"
import { applyRiskLimits, type RiskLimits } from "../core/risk.js"
import { TurbulenceIndex } from "../core/turbulence.js"
import { type Interval, intervalMillis } from "../domain/Config.js"
import type { OrderRequest, TradeUpdate } from "../domain/Trading.js"
import { Broker } from "../services/Broker.js"
import { FeatureEngine, type TickerFeatures } from "../services/FeatureEngine.js"
import { Journal } from "../services/Journal.js"
import { MarketData } from "../services/MarketData.js"
import { Policy } from "../services/Policy.js"
import { TradingMetrics } from "./metrics.js"

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
  /** Equity at the start, then after each step (marked at the latest closes). */
  readonly equity: ReadonlyArray<number>
  readonly tradedNotional: number
  /** Equal-weight buy & hold of the tickers from the first decision's closes to the last bar's. */
  readonly buyAndHoldReturn: number
}

/** A ticker that does not trade in a step, and why. */
export interface Hold {
  readonly ticker: string
  readonly reason: string
}

export const iso = (ms: number) => new Date(ms).toISOString()

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
 * The decision core every session shares, whatever drives it (a replay, live per-ticker actors):
 * journals the start, warms the indicators up from history, then on each step builds the
 * observation, runs the policy once for the portfolio, turns the action into orders (FinRL's
 * rules, then the risk limits) and journals the decision; fills and rejections are journaled too.
 */
export const startSession = (settings: SessionSettings) =>
  Effect.gen(function* () {
    const marketData = yield* MarketData
    const features = yield* FeatureEngine
    const policy = yield* Policy
    const broker = yield* Broker
    const journal = yield* Journal
    const card = policy.card
    const tickers = card.tickers
    const span = intervalMillis[settings.interval]
    const turbulence =
      settings.rules.turbulenceThreshold !== undefined || card.observation.layout === "finrl-stock-trading-np"
        ? new TurbulenceIndex(tickers.length)
        : undefined

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
    const historyBars = Math.max(3 * features.warmupBars, turbulence === undefined ? 0 : 253)
    const history = yield* marketData.history(tickers, settings.interval, start, historyBars)
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
          yield* Metric.increment(TradingMetrics.fills)
        }
        yield* journal.append(updateRecord(update))
      }
    })

    /** Feeds one completed bar to the ticker's indicators. */
    const observe = (ticker: string, bar: Bar) =>
      Effect.tap(features.update(ticker, bar), (f) => Effect.sync(() => latest.set(ticker, f)))

    /**
     * Decides on the bars of `barTime`: `bars` holds the tickers that have theirs (features already
     * observed); the others hold. Returns the orders to submit (none before every indicator is warm).
     */
    const decide = (
      barTime: number,
      bars: ReadonlyMap<string, Bar>,
      holds: ReadonlyArray<Hold>,
      options: { readonly noNewPositions?: boolean } = {}
    ) =>
      Effect.gen(function* () {
        if (turbulence !== undefined && tickers.every((t) => bars.has(t))) {
          turbulenceValue = turbulence.next(tickers.map((t) => bars.get(t)!.close))
        }
        const current = tickers.map((t) => latest.get(t))
        if (bars.size === 0 || !current.every((f) => f !== undefined && f.warm)) return [] as ReadonlyArray<OrderRequest>
        const decisionTime = yield* Clock.currentTimeMillis
        const account = yield* broker.account
        const positions = yield* broker.positions
        const holdings = tickers.map((t) => positions.find((p) => p.ticker === t)?.qty ?? 0)
        const prices = current.map((f) => f!.close)
        firstPrices ??= prices
        const observation = buildObservation(card.observation.layout, {
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
        const adjustments = risked.adjustments.map((a) => ({ ticker: tickers[a.index], side: a.side, requested: a.requested, allowed: a.allowed, rule: a.rule as string }))
        if (options.noNewPositions === true) {
          for (const o of risked.orders) {
            if (o.side === "buy") adjustments.push({ ticker: tickers[o.index], side: o.side, requested: o.qty, allowed: 0, rule: "no_new_positions_before_close" })
          }
        }
        const requests: ReadonlyArray<OrderRequest> = risked.orders
          .filter((o) => bars.has(tickers[o.index]) && !(options.noNewPositions === true && o.side === "buy"))
          .map((o) => ({
            ticker: tickers[o.index],
            side: o.side,
            qty: o.qty,
            type: "market",
            timeInForce: "day",
            clientOrderId: clientOrderId(settings.deploymentId, tickers[o.index], barTime, o.side === "buy" ? "b" : "s")
          }))
        yield* journal.append({
          type: "decision",
          time: iso(Math.max(decisionTime, barTime + span)),
          bar_time: iso(barTime),
          observation: Array.from(observation),
          action: Array.from(action),
          orders: requests.map((r) => ({ ticker: r.ticker, side: r.side, qty: r.qty, client_order_id: r.clientOrderId })),
          ...(holds.length > 0 ? { holds } : {}),
          ...(adjustments.length > 0 ? { risk: adjustments } : {})
        })
        for (let i = 0; i < cooldown.length; i++) cooldown[i]++
        steps++
        yield* Metric.increment(TradingMetrics.decisions)
        yield* Metric.incrementBy(TradingMetrics.holds, holds.length)
        yield* Metric.set(TradingMetrics.lastDecision, decisionTime / 1000)
        return requests
      })

    /** Submits one order; a rejection is journaled (never retried) and reported as `false`. */
    const submit = (request: OrderRequest) =>
      broker.submit(request).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            orders++
            cooldown[tickers.indexOf(request.ticker)] = 0
          }).pipe(Effect.zipRight(Metric.increment(TradingMetrics.orders)))
        ),
        Effect.as(true),
        Effect.catchTag("OrderRejected", (rejected) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            rejections++
            return Metric.increment(TradingMetrics.rejections).pipe(Effect.zipRight(journal.append({
              type: "rejection",
              time: iso(now),
              ticker: request.ticker,
              side: request.side,
              qty: request.qty,
              client_order_id: request.clientOrderId,
              reason: rejected.reason
            })))
          }).pipe(Effect.as(false))
        )
      )

    const markEquity = Effect.flatMap(broker.account, (a) =>
      Effect.sync(() => void equity.push(a.equity)).pipe(Effect.zipRight(Metric.set(TradingMetrics.equity, a.equity)))
    )

    const finish = Effect.gen(function* () {
      yield* journalUpdates
      const lastPrices = tickers.map((t) => latest.get(t)?.close ?? NaN)
      const buyAndHoldReturn = firstPrices === undefined ? 0 : firstPrices.reduce((s, p, i) => s + lastPrices[i] / p - 1, 0) / tickers.length
      yield* journal.append({ type: "session_end", time: iso(yield* Clock.currentTimeMillis), steps, orders, fills, rejections })
      const summary: SessionSummary = { steps, orders, fills, rejections, equity, tradedNotional, buyAndHoldReturn }
      return summary
    })

    return {
      tickers,
      span,
      observe,
      decide,
      submit,
      journalUpdates,
      markEquity,
      finish,
      steps: () => steps,
      latest: (ticker: string) => latest.get(ticker)
    }
  })

export type Session = Effect.Effect.Success<ReturnType<typeof startSession>>
