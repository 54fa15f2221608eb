import { Clock, Duration, Effect, Metric } from "effect"
import { actionsToOrders, type TradeRules } from "../core/actions.js"
import type { Bar } from "../core/bar.js"
import { buildObservation } from "../core/layouts.js"
import { newYorkDay } from "../core/aggregate.js"
import { formatUtc } from "../core/nytime.js"
import { applyRiskLimits, type RiskLimits } from "../core/risk.js"
import { type GuardEvent, type GuardLimits, RiskGuard } from "../core/risk-guard.js"
import { TurbulenceIndex } from "../core/turbulence.js"
import { type Interval, intervalMillis } from "../domain/Config.js"
import type { OrderRequest, TradeUpdate } from "../domain/Trading.js"
import { Broker } from "../services/Broker.js"
import { FeatureEngine, type TickerFeatures } from "../services/FeatureEngine.js"
import { Journal } from "../services/Journal.js"
import { MarketData } from "../services/MarketData.js"
import { Policy } from "../services/Policy.js"
import { TradingMetrics } from "./metrics.js"
import { recoverFromJournal } from "./recover.js"

export interface SessionSettings {
  readonly deploymentId: string
  readonly interval: Interval
  readonly rules: TradeRules
  readonly risk: RiskLimits
  /** The daily loss kill switch and the rejection circuit breaker. */
  readonly guard?: GuardLimits | undefined
  /** Stop after this many decisions. */
  readonly maxSteps?: number | undefined
  /** Stop before bars that start at or after this time (epoch ms). */
  readonly until?: number | undefined
  /** No buys in the last part of a session (default: none). */
  readonly stopOpeningBeforeClose?: Duration.Duration | undefined
  /** Sell every position on the session's last bar instead of deciding (default: no). */
  readonly flattenAtClose?: boolean | undefined
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

export const iso = formatUtc

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

    // FinRL's numpy env always sees its turbulence features, with a threshold of 99 unless set
    const observedThreshold = settings.rules.turbulenceThreshold ?? (card.observation.layout === "finrl-stock-trading-np" ? 99 : undefined)

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

    // a restart resolves every order its journal meant to send, asking the broker — never resending
    const { journaled, addFill, lastDecisionBarTime } = yield* recoverFromJournal(tickers, start)

    const latest = new Map<string, TickerFeatures>()
    let turbulenceValue = 0
    const historyBars = Math.max(3 * features.warmupBars, turbulence === undefined ? 0 : 253)
    const history = yield* marketData.history(tickers, settings.interval, start, historyBars)
    for (const ticker of tickers) {
      for (const bar of history.get(ticker) ?? []) latest.set(ticker, yield* features.update(ticker, bar))
    }
    if (turbulence !== undefined) {
      // the turbulence index warms up on the same history, on the bar times every ticker has
      const closes = new Map<number, Array<number>>()
      tickers.forEach((ticker, i) => {
        for (const bar of history.get(ticker) ?? []) {
          const row = closes.get(bar.time) ?? new Array<number>(tickers.length).fill(NaN)
          row[i] = bar.close
          closes.set(bar.time, row)
        }
      })
      for (const time of [...closes.keys()].sort((a, b) => a - b)) {
        const row = closes.get(time)!
        if (row.every(Number.isFinite)) turbulenceValue = turbulence.next(row)
      }
    }
    yield* Effect.logInfo("session started").pipe(Effect.annotateLogs({ tickers: tickers.join(","), warmupBars: features.warmupBars }))

    const guard = new RiskGuard(settings.guard ?? {})
    const onGuardEvent = (event: GuardEvent, time: number) =>
      Effect.gen(function* () {
        const { kind, ...fields } = event
        yield* journal.append({ type: kind, time: iso(time), ...fields })
        if (kind === "circuit_closed") return yield* Effect.logInfo("circuit breaker closed: orders resume")
        yield* Effect.logError(kind === "kill_switch" ? "KILL SWITCH: daily loss limit reached; no new positions today, open orders canceled" : "CIRCUIT BREAKER OPEN: repeated rejections; no orders until the cool-down ends").pipe(
          Effect.annotateLogs(fields)
        )
        if (kind === "kill_switch") {
          const open = yield* broker.openOrders.pipe(Effect.orElseSucceed(() => []))
          yield* Effect.forEach(open, (o) => broker.cancel(o.id).pipe(Effect.ignore), { discard: true })
        }
      })

    const cooldown = tickers.map(() => 0)
    const equity: Array<number> = [(yield* broker.account).equity]
    let steps = 0, orders = 0, fills = 0, rejections = 0, tradedNotional = 0
    let firstPrices: ReadonlyArray<number> | undefined

    const journalUpdates = Effect.gen(function* () {
      for (const update of yield* broker.takeUpdates) {
        if (update._tag === "Fill") {
          // journal what this update adds to what the journal holds (a restart's recovery or a
          // reconciliation may have journaled part of it): never a fill twice
          const id = update.fill.clientOrderId
          const before = journaled.get(id) ?? { qty: 0, notional: 0 }
          const cumulative = update.order.filledQty > 0 ? update.order.filledQty : before.qty + update.fill.qty
          const qty = cumulative - before.qty
          if (qty <= 1e-9) continue
          const avg = update.order.filledAvgPrice
          const price = Math.abs(qty - update.fill.qty) <= 1e-9 || avg === undefined ? update.fill.price : (avg * cumulative - before.notional) / qty
          addFill(id, qty, price)
          fills++
          tradedNotional += qty * price
          yield* Metric.increment(TradingMetrics.fills)
          yield* journal.append(updateRecord({ ...update, fill: { ...update.fill, qty, price } }))
          continue
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
        for (const event of guard.onStep(steps, newYorkDay(barTime), account.equity)) yield* onGuardEvent(event, decisionTime)
        const mode = guard.mode
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
          turbulenceThreshold: observedThreshold,
          cooldown
        })
        const action = yield* policy.act(observation)
        const plan = actionsToOrders(action, { cash: account.cash, prices, holdings }, settings.rules, turbulenceValue)
        const risked = applyRiskLimits(plan.orders, { prices, holdings }, settings.risk)
        const adjustments = risked.adjustments.map((a) => ({ ticker: tickers[a.index], side: a.side, requested: a.requested, allowed: a.allowed, rule: a.rule as string }))
        const blocked = (side: "buy" | "sell") =>
          mode === "halted" ? "circuit_breaker_open" : side === "buy" && mode === "no_new_positions" ? "daily_loss_limit" : side === "buy" && options.noNewPositions === true ? "no_new_positions_before_close" : undefined
        for (const o of risked.orders) {
          const rule = blocked(o.side)
          if (rule !== undefined) adjustments.push({ ticker: tickers[o.index], side: o.side, requested: o.qty, allowed: 0, rule })
        }
        const requests: ReadonlyArray<OrderRequest> = risked.orders
          .filter((o) => bars.has(tickers[o.index]) && blocked(o.side) === undefined)
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

    /** The broker's 422 for a client order id it already has means the order got through before. */
    const alreadySent = (request: OrderRequest, reason: string) =>
      /client.?order.?id/i.test(reason) && /unique|exist|duplicate|already/i.test(reason)
        ? Effect.map(broker.orderByClientId(request.clientOrderId).pipe(Effect.orElseSucceed(() => undefined)), (o) => o !== undefined)
        : Effect.succeed(false)

    /** Submits one order; a rejection is journaled (never retried) and reported as `false`. */
    const submit = (request: OrderRequest) =>
      broker.submit(request).pipe(
        Effect.catchTag("OrderRejected", (rejected) =>
          Effect.flatMap(alreadySent(request, rejected.reason), (sent) =>
            sent
              ? Effect.logInfo("order already at the broker (duplicate client order id): not resent").pipe(
                  Effect.annotateLogs({ client_order_id: request.clientOrderId })
                )
              : Effect.fail(rejected)
          )
        ),
        Effect.tap(() =>
          Effect.sync(() => {
            orders++
            cooldown[tickers.indexOf(request.ticker)] = 0
            guard.onAccepted()
          }).pipe(Effect.zipRight(Metric.increment(TradingMetrics.orders)))
        ),
        Effect.as(true),
        Effect.catchTag("OrderRejected", (rejected) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            rejections++
            const events = guard.onRejection()
            return Metric.increment(TradingMetrics.rejections).pipe(Effect.zipRight(journal.append({
              type: "rejection",
              time: iso(now),
              ticker: request.ticker,
              side: request.side,
              qty: request.qty,
              client_order_id: request.clientOrderId,
              reason: rejected.reason
            })), Effect.zipRight(Effect.forEach(events, (e) => onGuardEvent(e, now), { discard: true })))
          }).pipe(Effect.as(false))
        )
      )

    /**
     * The market-hours rules of a step whose bar ends at `barEnd` in a session closing at `close`:
     * flatten on the last bar (when configured), no new positions in the closing window.
     */
    const stopOpeningMs = settings.stopOpeningBeforeClose === undefined ? 0 : Duration.toMillis(settings.stopOpeningBeforeClose)
    // the closing rules are intraday rules: a daily bar's one decision is at the close
    const intraday = span < 86_400_000
    const decideInSession = (barTime: number, barEnd: number, close: number, bars: ReadonlyMap<string, Bar>, holds: ReadonlyArray<Hold>) =>
      intraday && settings.flattenAtClose === true && barEnd >= close
        ? flatten(barTime)
        : decide(barTime, bars, holds, { noNewPositions: intraday && stopOpeningMs > 0 && barEnd >= close - stopOpeningMs })

    /** Sells every position of the deployment's tickers: journaled as a `flatten` record, returned to submit. */
    const flatten = (barTime: number) =>
      Effect.gen(function* () {
        const positions = yield* broker.positions
        const requests: ReadonlyArray<OrderRequest> = positions
          .filter((p) => tickers.includes(p.ticker) && p.qty > 0)
          .map((p) => ({ ticker: p.ticker, side: "sell", qty: p.qty, type: "market", timeInForce: "day", clientOrderId: clientOrderId(settings.deploymentId, p.ticker, barTime, "f") }))
        yield* journal.append({
          type: "flatten",
          time: iso(yield* Clock.currentTimeMillis),
          bar_time: iso(barTime),
          orders: requests.map((r) => ({ ticker: r.ticker, side: r.side, qty: r.qty, client_order_id: r.clientOrderId }))
        })
        return requests
      })

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
      decideInSession,
      submit,
      journalUpdates,
      markEquity,
      finish,
      steps: () => steps,
      /** Bars up to this time were decided before a restart: never decide them again. */
      resumeAfter: lastDecisionBarTime ?? -Infinity,
      latest: (ticker: string) => latest.get(ticker)
    }
  })

export type Session = Effect.Effect.Success<ReturnType<typeof startSession>>
