import { Clock, Duration, Effect, Metric, Option } from "effect"
import type { TradeRules } from "../core/actions.js"
import type { Bar } from "../core/bar.js"
import { newYorkDay } from "../core/aggregate.js"
import { clientOrderId, flattenOrders, type KernelConfig, nonFiniteProblem, observe, type OrderIntent, planStep, type StepInput } from "../core/kernel.js"
import { type Fees, Ledger, ledgerFromJournal, type LedgerSnapshot, NO_FEES, wirePrice } from "../core/ledger.js"
import { mergeFeatures, planFeatures } from "../core/feature-plan.js"
import { NewsBook, newsFeatureValues, newsLookbackMs } from "../core/news-features.js"
import { formatUtc } from "../core/nytime.js"
import { observationFeatureNames } from "../core/layouts.js"
import type { RiskLimits } from "../core/risk.js"
import { type GuardEvent, type GuardLimits, RiskGuard } from "../core/risk-guard.js"
import { TurbulenceIndex } from "../core/turbulence.js"
import { type Interval, intervalMillis } from "../domain/Config.js"
import { JOURNAL_VERSION, type NewsSeen, type ReconcileDifference } from "../domain/Journal.js"
import { type NewsEvent, versionKey } from "../domain/News.js"
import type { OrderRequest, TradeUpdate } from "../domain/Trading.js"
import { Broker } from "../services/Broker.js"
import { FeatureEngine, type TickerFeatures } from "../services/FeatureEngine.js"
import { Journal } from "../services/Journal.js"
import { MarketData } from "../services/MarketData.js"
import { News, NewsError } from "../services/News.js"
import { SentimentScorer } from "../services/SentimentScorer.js"
import type { SessionView } from "../services/StatusBoard.js"
import { Policy } from "../services/Policy.js"
import { TradingMetrics } from "./metrics.js"
import { makeOutages, type OutageBackoff } from "./outage.js"
import { recoverFromJournal } from "./recover.js"
import { makeDriftWatch } from "./drift.js"

export { clientOrderId } from "../core/kernel.js"

/** Non-finite policy outputs in a row that open the policy circuit, unless configured. */
export const DEFAULT_MAX_CONSECUTIVE_POLICY_ERRORS = 5

export interface SessionGuardLimits extends GuardLimits {
  /** Non-finite policy outputs in a row that open the policy circuit (an error log; default 5). */
  readonly maxConsecutivePolicyErrors?: number | undefined
}

export interface SessionSettings {
  readonly deploymentId: string
  readonly interval: Interval
  readonly rules: TradeRules
  readonly risk: RiskLimits
  /** The daily loss kill switch, the rejection circuit breaker and the policy circuit. */
  readonly guard?: SessionGuardLimits | undefined
  /** What the broker charges per fill, as the ledger books it (default none, as Alpaca). */
  readonly fees?: Fees | undefined
  /** Stop after this many decisions. */
  readonly maxSteps?: number | undefined
  /** Stop before bars that start at or after this time (epoch ms). */
  readonly until?: number | undefined
  /** Decide only on these bar times (epoch ms); the other bars only feed the indicators. Default: every bar. */
  readonly decideOn?: ReadonlySet<number> | undefined
  /** No buys in the last part of a session (default: none). */
  readonly stopOpeningBeforeClose?: Duration.Duration | undefined
  /**
   * Sell every position before the close instead of deciding (default: no): on the bar that ends
   * `flattenLead` before the close, so the sells fill by the close. Later bars of that session day
   * run no policy and buy nothing; they only sell what is still held and not already being sold (a
   * refused or canceled flatten sell, a late buy's fill).
   */
  readonly flattenAtClose?: boolean | undefined
  /** How long before the close the flatten is decided (default: one interval; zero flattens on the last bar). */
  readonly flattenLead?: Duration.Duration | undefined
  /** How often a service that is out is tried again (default from 1 s, doubling, at most 60 s apart). */
  readonly outageBackoff?: OutageBackoff | undefined
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

/** A session's state for a live status page (`/status`): the StatusBoard's view of it. */
export type SessionStatus = SessionView

/** A ticker that does not trade in a step, and why. */
export interface Hold {
  readonly ticker: string
  readonly reason: string
}

export const iso = formatUtc

const toRequest = (o: OrderIntent): OrderRequest => ({ ticker: o.ticker, side: o.side, qty: o.qty, type: "market", timeInForce: "day", clientOrderId: o.clientOrderId })
const orderLine = (o: OrderIntent) => ({ ticker: o.ticker, side: o.side, qty: o.qty, client_order_id: o.clientOrderId })

/** The bars of one step, with the market-hours facts its rules need. */
export interface StepBars {
  readonly barTime: number
  /** When the bar ends (the session's close if that comes first). */
  readonly barEnd: number
  /** The session's close. */
  readonly close: number
  /** The tickers that have their bar; the others hold. */
  readonly bars: ReadonlyMap<string, Bar>
  readonly holds: ReadonlyArray<Hold>
  /** Feed the bars to the indicators without deciding (a comparison replays only the bars a paper session decided on). */
  readonly observeOnly?: boolean | undefined
  /** Every ticker holds, for this reason (the broker is out: no order could be sent); the bars still feed the indicators. */
  readonly holdAll?: string | undefined
}

/**
 * The session every driver shares, whatever feeds it (a replay, live per-ticker actors): journals
 * the start, rebuilds the ledger, warms the indicators up from history; then `step` is the one
 * decision step — bars → features → ledger snapshot → kernel → policy → kernel → journal → order
 * intents — and `applyUpdates` books the broker's fills and order ends into the ledger and the
 * journal. All of the session's state lives in the `state` object below, changed only here.
 */
export const startSession = (settings: SessionSettings & { readonly mode?: "backtest" | "trade" | undefined }) =>
  Effect.gen(function* () {
    const marketData = yield* MarketData
    const features = yield* FeatureEngine
    const policy = yield* Policy
    const broker = yield* Broker
    const journal = yield* Journal
    const card = policy.card
    const tickers = card.tickers
    const span = intervalMillis[settings.interval]
    const usesTurbulence = settings.rules.turbulenceThreshold !== undefined || card.observation.layout === "finrl-stock-trading-np"
    const kernel: KernelConfig = {
      deploymentId: settings.deploymentId,
      tickers,
      layout: card.observation.layout,
      rules: settings.rules,
      risk: settings.risk,
      // FinRL's numpy env always sees its turbulence features, with a threshold of 99 unless set
      observedThreshold: settings.rules.turbulenceThreshold ?? (card.observation.layout === "finrl-stock-trading-np" ? 99 : undefined)
    }

    // news features (FinRL's sentiment columns) sit among the indicators in the model's feature list
    const plan = planFeatures(card.tech_indicators)
    if (typeof plan === "string") return yield* new NewsError({ detail: plan })
    const newsFeed = plan.news.length === 0 ? undefined : yield* Effect.gen(function* () {
      const source = yield* Effect.serviceOption(News)
      const scorer = yield* Effect.serviceOption(SentimentScorer)
      if (Option.isNone(source) || Option.isNone(scorer)) {
        return yield* new NewsError({ detail: `the model reads news features (${plan.news.map((f) => f.name).join(", ")}) but the deployment has no news source: configure \`news:\`` })
      }
      return { source: source.value, scorer: scorer.value, book: new NewsBook(tickers), scores: new Map<string, number>(), lookbackMs: newsLookbackMs(plan.news) }
    })

    /** Books articles as they arrive and scores each version once (the scorer's own cache keeps scores across restarts). */
    const addNews = (events: ReadonlyArray<NewsEvent>) =>
      Effect.gen(function* () {
        if (newsFeed === undefined || events.length === 0) return
        const unscored = events.filter((e) => !newsFeed.scores.has(versionKey(e)))
        const scores = unscored.length === 0 ? [] : yield* newsFeed.scorer.score(unscored)
        unscored.forEach((e, i) => newsFeed.scores.set(versionKey(e), scores[i]))
        for (const e of events) newsFeed.book.add(e)
      })

    /** Each ticker's news features at a bar's close, and what they were computed from: only articles created and received before it. */
    const newsAt = (barEnd: number) =>
      Effect.gen(function* () {
        if (newsFeed === undefined) return undefined
        yield* addNews(yield* newsFeed.source.take(barEnd))
        newsFeed.book.prune(barEnd - newsFeed.lookbackMs)
        return tickers.map((ticker) => {
          const visible = newsFeed.book.visible(ticker, barEnd, newsFeed.lookbackMs)
          const values = newsFeatureValues(plan.news, visible, (e) => newsFeed.scores.get(versionKey(e)) ?? 0, barEnd)
          const seen: NewsSeen = {
            ticker,
            items: visible.map((e) => ({ id: e.id, updated_at: iso(e.updatedAt) })),
            features: Object.fromEntries(plan.news.map((f, k) => [f.name, values[k]]))
          }
          return { values, seen }
        })
      })

    // every observation against the model's training statistics (model.yaml `observation_stats`)
    const drift = yield* makeDriftWatch(card, observationFeatureNames(card.observation.layout, tickers, plan.names))

    const start = yield* Clock.currentTimeMillis
    yield* journal.append({
      type: "session_start",
      time: iso(start),
      journal_version: JOURNAL_VERSION,
      deployment: settings.deploymentId,
      model: { name: card.name, version: String(card.version), sha256: card.onnx.sha256 },
      tickers,
      indicators: plan.names,
      interval: settings.interval,
      ...(settings.mode === undefined ? {} : { mode: settings.mode })
    })

    // a broker or data outage at any point is waited out, journaled once
    const outages = yield* makeOutages(settings.outageBackoff)

    // a restart resolves every order its journal meant to send, asking the broker — never resending
    const { journaled, addFill, lastDecisionBarTime } = yield* recoverFromJournal(tickers, start, outages)

    // the ledger is rebuilt from the journal (and reconciled with the broker below); a fresh journal
    // starts it from the broker's truth: its cash, the deployment's positions and open orders
    const ownOrder = (id: string) => id.startsWith(`${settings.deploymentId}-`)
    const fees = settings.fees ?? NO_FEES
    const rebuilt = ledgerFromJournal(journal.recovered, tickers, fees)
    const fromBroker = rebuilt === undefined
      ? yield* Effect.gen(function* () {
          const account = yield* outages.untilAnswered("broker", broker.account)
          const held = yield* outages.untilAnswered("broker", broker.positions)
          const ledger = new Ledger(tickers, fees, { cash: account.cash, positions: new Map(held.filter((p) => tickers.includes(p.ticker)).map((p) => [p.ticker, p.qty])) })
          for (const o of yield* outages.untilAnswered("broker", broker.openOrders)) {
            if (ownOrder(o.clientOrderId) && tickers.includes(o.ticker)) ledger.intend(o, 0, o.filledQty)
          }
          return ledger
        })
      : undefined
    const state = {
      ledger: rebuilt ?? fromBroker!,
      latest: new Map<string, TickerFeatures>(),
      turbulence: usesTurbulence ? new TurbulenceIndex(tickers.length) : undefined,
      turbulenceValue: 0,
      guard: new RiskGuard(settings.guard ?? {}),
      cooldown: tickers.map(() => 0),
      equity: [] as Array<number>,
      steps: 0,
      orders: 0,
      fills: 0,
      rejections: 0,
      tradedNotional: 0,
      firstPrices: undefined as ReadonlyArray<number> | undefined,
      /** Order intents booked so far: a reconciliation that saw new ones come in meanwhile compares next time. */
      intents: 0,
      /** Steps in a row whose policy output was not finite (refused). */
      policyErrors: 0,
      /** The latest decision's bar time, orders and holds, for a live status. */
      lastDecision: undefined as SessionStatus["lastDecision"],
      /** The New York day whose flatten has been decided: its later bars only sell what remains. */
      flattenedDay: undefined as number | undefined
    }

    const historyBars = Math.max(3 * features.warmupBars, state.turbulence === undefined ? 0 : 253)
    const history = yield* outages.untilAnswered("market_data", marketData.history(tickers, settings.interval, start, historyBars))
    for (const ticker of tickers) {
      for (const bar of history.get(ticker) ?? []) {
        state.latest.set(ticker, yield* features.update(ticker, bar))
        state.ledger.mark(ticker, bar.close)
      }
    }
    if (state.turbulence !== undefined) {
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
        if (row.every(Number.isFinite)) state.turbulenceValue = state.turbulence.next(row)
      }
    }
    if (newsFeed !== undefined) {
      yield* addNews(yield* outages.untilAnswered("market_data", newsFeed.source.history(tickers, start - newsFeed.lookbackMs - span, start)))
    }
    state.equity.push(state.ledger.equity())
    yield* Effect.logInfo("session started").pipe(Effect.annotateLogs({ tickers: tickers.join(","), warmupBars: features.warmupBars }))

    const onGuardEvent = (event: GuardEvent, time: number) =>
      Effect.gen(function* () {
        yield* journal.append(event.kind === "circuit_closed" ? { type: "circuit_closed", time: iso(time) } : event.kind === "kill_switch"
          ? { type: "kill_switch", time: iso(time), loss: event.loss, limit: event.limit, dayStartEquity: event.dayStartEquity }
          : { type: "circuit_open", time: iso(time), rejections: event.rejections, untilStep: event.untilStep })
        if (event.kind === "circuit_closed") return yield* Effect.logInfo("circuit breaker closed: orders resume")
        const { kind: _, ...fields } = event
        yield* Effect.logError(event.kind === "kill_switch" ? "KILL SWITCH: daily loss limit reached; no new positions today, open orders canceled" : "CIRCUIT BREAKER OPEN: repeated rejections; no orders until the cool-down ends").pipe(
          Effect.annotateLogs(fields)
        )
        if (event.kind === "kill_switch") {
          const open = yield* broker.openOrders.pipe(Effect.orElseSucceed(() => []))
          yield* Effect.forEach(open, (o) => broker.cancel(o.id).pipe(Effect.ignore), { discard: true })
        }
      })

    /**
     * Books one trade update: a fill into the ledger (only what it adds to what the journal holds), an
     * order's end. Journaled first, booked after: an update the journal refused changes nothing, and
     * is booked when the journal takes it.
     */
    const applyUpdate = (update: TradeUpdate) =>
      Effect.gen(function* () {
        if (update._tag === "Fill") {
          // journal what this update adds to what the journal holds (a restart's recovery or a
          // reconciliation may have journaled part of it): never a fill twice
          const id = update.fill.clientOrderId
          const before = journaled.get(id) ?? { qty: 0, notional: 0 }
          const cumulative = update.order.filledQty > 0 ? update.order.filledQty : before.qty + update.fill.qty
          const qty = cumulative - before.qty
          if (qty <= 1e-9) return false
          const avg = update.order.filledAvgPrice
          // booked and journaled at the price the wire carries, in a backtest as live
          const price = wirePrice(Math.abs(qty - update.fill.qty) <= 1e-9 || avg === undefined ? update.fill.price : (avg * cumulative - before.notional) / qty)
          const fill = { clientOrderId: id, ticker: update.fill.ticker, side: update.fill.side, qty, price }
          const fee = state.ledger.feeOf(fill)
          yield* journal.append({
            type: update.partial ? "partial_fill" : "fill",
            time: iso(update.fill.time),
            ticker: update.fill.ticker,
            side: update.fill.side,
            qty,
            price,
            client_order_id: id,
            ...(fee === 0 ? {} : { fee })
          })
          addFill(id, qty, price)
          state.ledger.fill(fill)
          state.fills++
          state.tradedNotional += qty * price
          yield* Metric.increment(TradingMetrics.fills)
          return true
        }
        yield* journal.append({
          type: update._tag === "Canceled" ? "cancel" : update._tag === "Rejected" ? "rejection" : "expiry",
          time: iso(update.time),
          ticker: update.order.ticker,
          side: update.order.side,
          qty: update.order.qty,
          client_order_id: update.order.clientOrderId,
          ...(update.reason === undefined ? {} : { reason: update.reason })
        })
        state.ledger.close(update.order.clientOrderId)
        return true
      })

    /** Updates taken from the broker that the journal refused (disk full): booked first next time. */
    let unbooked: ReadonlyArray<TradeUpdate> = []

    /**
     * Takes every trade update the broker has received and books it, in order; returns how many
     * changed something. When the journal refuses one, it and the ones after it wait for the next
     * call (the failure is the caller's): none is lost, none booked twice.
     */
    const applyUpdates = Effect.uninterruptibleMask((restore) =>
      // only the broker call can be interrupted (a stop with a hung network): updates taken are booked whole
      Effect.flatMap(restore(broker.takeUpdates), (taken) =>
        taken.length === 0 && unbooked.length === 0 ? Effect.succeed(0) : Effect.gen(function* () {
          const updates = [...unbooked, ...taken]
          unbooked = []
          let changed = 0
          for (let i = 0; i < updates.length; i++) {
            const booked = yield* applyUpdate(updates[i]).pipe(Effect.tapError(() => Effect.sync(() => void (unbooked = updates.slice(i)))))
            if (booked) changed++
          }
          return changed
        })
      )
    )

    /**
     * Compares the ledger with the broker (account, positions, open orders) and adopts the broker's
     * truth, journaling any difference with both sides. Call it when nothing is in flight.
     */
    // only the broker calls can be interrupted (a stop with a hung network); what they answered is adopted whole
    const reconcile = Effect.uninterruptibleMask((restore) => Effect.gen(function* () {
      yield* restore(broker.reconcile)
      yield* restore(applyUpdates)
      const intentsBefore = state.intents
      const [account, positions, open] = yield* restore(Effect.all([broker.account, broker.positions, broker.openOrders]))
      // an order that moved, or a step that sent new ones, while we asked may or may not be in the
      // answers: then compare next time
      yield* restore(broker.reconcile)
      if ((yield* restore(applyUpdates)) > 0 || state.intents !== intentsBefore) return undefined
      const differences = state.ledger.reconcile({
        cash: account.cash,
        positions: new Map(positions.filter((p) => tickers.includes(p.ticker)).map((p) => [p.ticker, p.qty])),
        openOrders: open.filter((o) => ownOrder(o.clientOrderId) && tickers.includes(o.ticker))
      })
      if (differences.length === 0) return differences
      const now = yield* Clock.currentTimeMillis
      const lines: Array<ReconcileDifference> = differences.map((d) => ({
        what: d.what,
        ...(d.ticker === undefined ? {} : { ticker: d.ticker }),
        ...(d.clientOrderId === undefined ? {} : { client_order_id: d.clientOrderId }),
        ledger: d.ledger,
        broker: d.broker
      }))
      yield* journal.append({ type: "reconcile", time: iso(now), differences: lines })
      yield* Metric.incrementBy(TradingMetrics.reconciliations, lines.length)
      yield* Effect.logWarning("the broker's account differs from the ledger: the broker's is adopted").pipe(
        Effect.annotateLogs({ differences: lines.map((d) => `${d.what}${d.ticker === undefined ? "" : ` ${d.ticker}`}: ledger ${d.ledger}, broker ${d.broker}`).join("; ") })
      )
      return differences
    }))

    // a restart's ledger meets the broker's truth before the first decision
    if (rebuilt !== undefined) {
      yield* reconcile.pipe(
        Effect.catchAll((e) => Effect.logWarning("could not reconcile the rebuilt ledger with the broker; it is tried again every step").pipe(Effect.annotateLogs({ error: e.message })))
      )
    }

    const portfolioRecord = (time: number, barTime: number, snapshot: LedgerSnapshot) =>
      journal.append({
        type: "portfolio",
        time: iso(time),
        bar_time: iso(barTime),
        cash: snapshot.cash,
        equity: snapshot.equity,
        positions: state.ledger.positionMap(),
        prices: state.ledger.markMap(),
        open_orders: state.ledger.openOrders().map((o) => ({ client_order_id: o.clientOrderId, ticker: o.ticker, side: o.side, qty: o.qty, filled_qty: o.filledQty }))
      })

    const stopOpeningMs = settings.stopOpeningBeforeClose === undefined ? 0 : Duration.toMillis(settings.stopOpeningBeforeClose)
    const flattenLeadMs = settings.flattenLead === undefined ? span : Duration.toMillis(settings.flattenLead)
    // the closing rules are intraday rules: a daily bar's one decision is at the close
    const intraday = span < 86_400_000

    const maxPolicyErrors = settings.guard?.maxConsecutivePolicyErrors ?? DEFAULT_MAX_CONSECUTIVE_POLICY_ERRORS

    /**
     * A policy output with a NaN or ±Infinity: no orders this step, a `policy_error` record instead of
     * the decision; a warning at the first of a run of them, an error when the run reaches the limit
     * (the policy circuit opens: every step stays refused until a finite output closes it).
     */
    const refusePolicyOutput = (decisionTime: number, barTime: number, action: Float32Array, problem: string) =>
      Effect.gen(function* () {
        state.policyErrors++
        yield* Metric.increment(TradingMetrics.policyErrors)
        yield* journal.append({
          type: "policy_error",
          time: iso(decisionTime),
          bar_time: iso(barTime),
          action: Array.from(action, (a) => (Number.isFinite(a) ? a : null)),
          problem: `the policy's action is not finite: ${problem}; no orders this step`
        })
        const fields = { bar_time: iso(barTime), problem, in_a_row: state.policyErrors }
        if (state.policyErrors === 1) {
          yield* Effect.logWarning("the policy's action is not finite: no orders until it is (one warning per run of bad outputs)").pipe(Effect.annotateLogs(fields))
        }
        if (state.policyErrors === maxPolicyErrors) {
          yield* Effect.logError(`policy circuit open: ${maxPolicyErrors} non-finite policy outputs in a row; no orders until a finite one`).pipe(Effect.annotateLogs(fields))
        }
      })

    /** A finite output after a run of bad ones: says so once and starts counting afresh. */
    const policyRecovered = Effect.suspend(() => {
      if (state.policyErrors === 0) return Effect.void
      const refused = state.policyErrors
      state.policyErrors = 0
      return Effect.logInfo(refused >= maxPolicyErrors ? "policy circuit closed: the policy's action is finite again; orders resume" : "the policy's action is finite again; orders resume").pipe(
        Effect.annotateLogs({ refused_steps: refused })
      )
    })

    /** The ledger snapshot a decision read, as its record states it. */
    const decisionState = (snapshot: LedgerSnapshot, closes: ReadonlyArray<number>) => ({
      cash: snapshot.cash,
      holdings: snapshot.holdings,
      reserved_cash: snapshot.reservedCash,
      reserved_shares: snapshot.reservedShares,
      prices: closes
    })

    const countDecision = (now: number) =>
      Effect.zipRight(Metric.increment(TradingMetrics.decisions), Metric.set(TradingMetrics.lastDecision, now / 1000))

    /** A step taken (decided, held or refused): the cooldowns age, the step counts. */
    const endStep = (holds: number) =>
      Effect.suspend(() => {
        for (let i = 0; i < state.cooldown.length; i++) state.cooldown[i]++
        state.steps++
        return Metric.incrementBy(TradingMetrics.holds, holds)
      })

    /**
     * The one decision step. Feeds the step's bars to the indicators and the ledger's marks, then —
     * once every indicator is warm — decides under the market-hours rules (flatten on the session's
     * last bar when configured, no new positions in the closing window), journals the portfolio and
     * the decision, and books the orders as intents in the ledger. Returns the orders to send.
     */
    const step = (input: StepBars) =>
      Effect.gen(function* () {
        const { barTime, bars } = input
        // the snapshot includes every fill and order end the broker has reported so far
        yield* applyUpdates
        for (const ticker of tickers) {
          const bar = bars.get(ticker)
          if (bar === undefined) continue
          state.latest.set(ticker, yield* features.update(ticker, bar))
          state.ledger.mark(ticker, bar.close)
        }
        if (state.turbulence !== undefined && tickers.every((t) => bars.has(t))) {
          state.turbulenceValue = state.turbulence.next(tickers.map((t) => bars.get(t)!.close))
        }
        const current = tickers.map((t) => state.latest.get(t))
        if (input.observeOnly === true || !current.every((f) => f !== undefined && f.warm)) return [] as ReadonlyArray<OrderRequest>
        const now = yield* Clock.currentTimeMillis
        const decisionTime = Math.max(now, input.barEnd)
        for (const event of state.guard.onStep(state.steps, newYorkDay(barTime), state.ledger.equity())) yield* onGuardEvent(event, now)
        const snapshot = state.ledger.snapshot()
        const closes = current.map((f) => f!.close)
        const news = yield* newsAt(input.barEnd)
        const newsRecord = news === undefined ? {} : { news: news.map((n) => n.seen) }
        state.firstPrices ??= closes
        yield* portfolioRecord(decisionTime, barTime, snapshot)

        // what the kernel reads this step (a step where every ticker holds observes it too)
        const stepInput: StepInput = {
          barTime,
          ledger: snapshot,
          closes,
          indicators: news === undefined ? current.map((f) => f!.values) : current.map((f, i) => mergeFeatures(plan, f!.values, news[i].values)),
          present: tickers.map((t) => bars.has(t)),
          turbulence: state.turbulenceValue,
          cooldown: state.cooldown,
          guardMode: state.guard.mode,
          noNewPositions: intraday && stopOpeningMs > 0 && input.barEnd >= input.close - stopOpeningMs
        }
        let intents: ReadonlyArray<OrderIntent>
        const day = newYorkDay(barTime)
        if (intraday && settings.flattenAtClose === true && (input.barEnd >= input.close - flattenLeadMs || state.flattenedDay === day)) {
          // the first flatten of the day sells everything; later bars only what remains unsold
          intents = flattenOrders(kernel, snapshot, barTime)
          if (state.flattenedDay !== day || intents.length > 0) {
            yield* journal.append({ type: "flatten", time: iso(decisionTime), bar_time: iso(barTime), orders: intents.map(orderLine) })
          }
          state.flattenedDay = day
        } else if (bars.size === 0 || input.holdAll !== undefined) {
          // no ticker has its bar, or none could trade (the broker is out): every ticker holds
          // whatever the policy says, so it is not asked (`action: []`); the record says why each held
          const holds = input.holdAll === undefined ? input.holds : tickers.map((ticker) => ({ ticker, reason: input.holdAll! }))
          const observation = observe(kernel, { ...stepInput, noNewPositions: true })
          intents = []
          yield* journal.append({
            type: "decision",
            time: iso(decisionTime),
            bar_time: iso(barTime),
            observation: Array.from(observation),
            action: [],
            orders: [],
            holds,
            state: decisionState(snapshot, closes),
            ...newsRecord
          })
          yield* drift.check(observation, barTime, decisionTime)
          yield* countDecision(now)
          yield* endStep(holds.length)
        } else {
          const observation = observe(kernel, stepInput)
          const action = yield* policy.act(observation)
          const problem = nonFiniteProblem(action)
          if (problem !== undefined) {
            intents = []
            yield* refusePolicyOutput(decisionTime, barTime, action, problem)
          } else {
            yield* policyRecovered
            const stepPlan = planStep(kernel, stepInput, action)
            intents = stepPlan.orders
            yield* journal.append({
              type: "decision",
              time: iso(decisionTime),
              bar_time: iso(barTime),
              observation: Array.from(observation),
              action: Array.from(action),
              orders: intents.map(orderLine),
              ...(input.holds.length > 0 ? { holds: input.holds } : {}),
              ...(stepPlan.cuts.length > 0 ? { risk: stepPlan.cuts } : {}),
              state: decisionState(snapshot, closes),
              ...newsRecord
            })
            // a refused step is no decision: a stale last-decision gauge is how a dashboard sees a broken policy
            yield* countDecision(now)
          }
          yield* drift.check(observation, barTime, decisionTime)
          yield* endStep(input.holds.length)
        }
        for (const intent of intents) state.ledger.intend(intent, closes[tickers.indexOf(intent.ticker)])
        state.intents += intents.length
        state.lastDecision = { barTime, decisionTime, orders: intents.map(orderLine), holds: input.holdAll === undefined ? input.holds : tickers.map((ticker) => ({ ticker, reason: input.holdAll! })) }
        return intents.map(toRequest)
      })

    /** The broker's 422 for a client order id it already has means the order got through before. */
    const alreadySent = (request: OrderRequest, reason: string) =>
      /client.?order.?id/i.test(reason) && /unique|exist|duplicate|already/i.test(reason)
        ? Effect.map(broker.orderByClientId(request.clientOrderId).pipe(Effect.orElseSucceed(() => undefined)), (o) => o !== undefined)
        : Effect.succeed(false)

    /** Submits one order; a rejection is journaled (never retried), its reservation released, and reported as `false`. */
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
            state.orders++
            state.cooldown[tickers.indexOf(request.ticker)] = 0
            state.guard.onAccepted()
          }).pipe(Effect.zipRight(Metric.increment(TradingMetrics.orders)))
        ),
        Effect.as(true),
        Effect.catchTag("OrderRejected", (rejected) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            state.rejections++
            state.ledger.close(request.clientOrderId)
            const events = state.guard.onRejection()
            return Metric.increment(TradingMetrics.rejections).pipe(
              Effect.zipRight(journal.append({
                type: "rejection",
                time: iso(now),
                ticker: request.ticker,
                side: request.side,
                qty: request.qty,
                client_order_id: request.clientOrderId,
                reason: rejected.reason
              })),
              Effect.zipRight(Effect.forEach(events, (e) => onGuardEvent(e, now), { discard: true }))
            )
          }).pipe(Effect.as(false))
        )
      )

    /** An order the session gave up on after retries: journaled; its reservation is released (a reconciliation adopts what the broker did). */
    const abandon = (request: OrderRequest, error: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        state.ledger.close(request.clientOrderId)
        return journal.append({ type: "order_error", time: iso(now), ticker: request.ticker, client_order_id: request.clientOrderId, error })
      })

    const markEquity = Effect.suspend(() => {
      const equity = state.ledger.equity()
      state.equity.push(equity)
      return Metric.set(TradingMetrics.equity, equity)
    })

    /**
     * At the session's close with flatten on: whatever is still held or still being sold stays
     * overnight — journaled (`unfilled_at_close`) and logged as an error. Returns whether anything remained.
     */
    const atClose = (close: number) =>
      Effect.gen(function* () {
        if (!intraday || settings.flattenAtClose !== true) return false
        yield* applyUpdates
        const positions = state.ledger.positionMap()
        const open = state.ledger.openOrders().map((o) => ({ client_order_id: o.clientOrderId, ticker: o.ticker, side: o.side, qty: o.qty, filled_qty: o.filledQty }))
        if (Object.keys(positions).length === 0 && open.length === 0) return false
        yield* journal.append({ type: "unfilled_at_close", time: iso(close), positions, open_orders: open })
        yield* Effect.logError("UNFILLED AT CLOSE: flatten is on, but positions or open orders remain after the close; they are held overnight").pipe(
          Effect.annotateLogs({ close: iso(close), positions: JSON.stringify(positions), open_orders: open.map((o) => `${o.side} ${o.qty} ${o.ticker}`).join(", ") })
        )
        return true
      })

    /** Journals `session_end` and returns the summary; `stoppedByDeadline` when a stop's bound ran out first. */
    const end = (options?: { readonly stoppedByDeadline?: boolean }) =>
      Effect.gen(function* () {
      const lastPrices = tickers.map((t) => state.latest.get(t)?.close ?? NaN)
      const firstPrices = state.firstPrices
      const buyAndHoldReturn = firstPrices === undefined ? 0 : firstPrices.reduce((s, p, i) => s + lastPrices[i] / p - 1, 0) / tickers.length
      yield* journal.append({
        type: "session_end",
        time: iso(yield* Clock.currentTimeMillis),
        steps: state.steps,
        orders: state.orders,
        fills: state.fills,
        rejections: state.rejections,
        ...(options?.stoppedByDeadline === true ? { stopped_by_deadline: true } : {})
      })
      const summary: SessionSummary = {
        steps: state.steps,
        orders: state.orders,
        fills: state.fills,
        rejections: state.rejections,
        equity: state.equity,
        tradedNotional: state.tradedNotional,
        buyAndHoldReturn
      }
      return summary
    })

    const finish = Effect.zipRight(applyUpdates, end())

    return {
      tickers,
      span,
      step,
      submit,
      abandon,
      applyUpdates,
      reconcile,
      outages,
      markEquity,
      finish,
      end,
      atClose,
      steps: () => state.steps,
      /** What the session holds now: the ledger's cash, positions, marks and open orders, and its latest decision. */
      status: (): SessionStatus => {
        const snapshot = state.ledger.snapshot()
        return {
          steps: state.steps,
          cash: snapshot.cash,
          equity: snapshot.equity,
          initialEquity: state.equity[0] ?? snapshot.equity,
          positions: state.ledger.positionMap(),
          prices: state.ledger.markMap(),
          openOrders: state.ledger.openOrders().map((o) => ({ client_order_id: o.clientOrderId, ticker: o.ticker, side: o.side, qty: o.qty, filled_qty: o.filledQty })),
          guardMode: state.guard.mode,
          lastDecision: state.lastDecision
        }
      },
      /** Orders the ledger holds open (sent or about to be). */
      hasOpenOrders: () => state.ledger.hasOpenOrders(),
      /** Bars up to this time were decided before a restart: never decide them again. */
      resumeAfter: lastDecisionBarTime ?? -Infinity,
      latest: (ticker: string) => state.latest.get(ticker),
      /** Feeds a bar that arrived after its step to the indicators (it was not decided on). */
      observeLate: (ticker: string, bar: Bar) =>
        Effect.map(features.update(ticker, bar), (f) => {
          state.latest.set(ticker, f)
          state.ledger.mark(ticker, bar.close)
        })
    }
  })

export type Session = Effect.Effect.Success<ReturnType<typeof startSession>>
