import { Cause, Clock, Deferred, Duration, Effect, Fiber, FiberMap, Metric, Queue, Schedule, Stream } from "effect"
import { bucketStart } from "../core/aggregate.js"
import type { Bar } from "../core/bar.js"
import { validateBar } from "../core/bar-checks.js"
import type { OrderRequest } from "../domain/Trading.js"
import { asProbe, Broker, inBackground, type KeysRefused } from "../services/Broker.js"
import { Journal, type JournalError } from "../services/Journal.js"
import { MarketClock } from "../services/MarketClock.js"
import { MarketData } from "../services/MarketData.js"
import { Progress } from "../services/Progress.js"
import { StatusBoard } from "../services/StatusBoard.js"
import { type Hold, iso, type SessionSettings, type SessionSummary, startSession } from "./decide.js"
import { TradingMetrics } from "./metrics.js"
import { isOutage } from "./outage.js"

export interface TradeSettings extends SessionSettings {
  /** How long after a bar's close the step waits for every ticker's bar. */
  readonly grace: Duration.Duration
  /** Restart delays of a failed actor, and of healable broker retries: jittered exponential, capped. */
  readonly backoff: { readonly base: Duration.Duration; readonly max: Duration.Duration }
  /** How long to let in-flight orders settle when stopping; the whole stop ends within this plus {@link STOP_MARGIN}. */
  readonly settleTimeout: Duration.Duration
  /** The per-ticker actors, when the caller wants to watch or stop them (tests, embedding apps). */
  readonly actors?: FiberMap.FiberMap<string> | undefined
  /**
   * An error a person must fix, found outside the program (refused keys when re-anchoring the
   * clock): when it fails, the session ends with it, as with its own refused keys.
   */
  readonly fatal?: Effect.Effect<never, KeysRefused> | undefined
  /** After every step taken: what it did (a terminal prints it as one line). */
  readonly onStep?: ((step: StepReport) => Effect.Effect<void>) | undefined
  /** When a stop (Ctrl-C, SIGTERM) ends the session: its summary, as a session that ran its course returns it. */
  readonly onStopped?: ((summary: SessionSummary) => Effect.Effect<void>) | undefined
}

/** One step taken, as a terminal shows it. */
export interface StepReport {
  /** The step's count in this session (1 for the first). */
  readonly step: number
  /** The bar decided on: its start, market time (epoch ms). */
  readonly barTime: number
  /** Orders the step sent to the broker. */
  readonly orders: number
  /** Fills booked since the previous step's report. */
  readonly fills: number
  /** Equity after the step, at the step's closes. */
  readonly equity: number
  readonly holds: ReadonlyArray<Hold>
}

/** An order on its way to the broker, and when its step is past (its retries end there). */
interface Dispatched {
  readonly request: OrderRequest
  readonly deadline: number
}

/** What a stop may take beyond `settleTimeout` (the last booking, the summary) before it gives up on the broker. */
export const STOP_MARGIN = Duration.seconds(5)

/** Sleeps until the Clock reads `time` (again, if a timer woke it a little early: real timers round). */
const sleepUntil = (time: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => (time > now ? Effect.zipRight(Effect.sleep(time - now), Effect.suspend(() => sleepUntil(time))) : Effect.void))

/** Jittered exponential backoff from `base`, each delay capped at `max`, forever. */
export const backoffSchedule = (backoff: TradeSettings["backoff"]) =>
  Schedule.exponential(backoff.base).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((d) => Duration.min(d, backoff.max))
  )


/**
 * Paper trading, unattended: one supervised actor per ticker (its bars, its features, its order
 * execution) in a FiberMap — a failure is logged, journaled and restarted with backoff without
 * touching the others — and one portfolio step per bar, which waits for every ticker's bar until
 * the bar's close plus a grace, fetches a late bar over REST, holds a ticker whose bar is still
 * missing, and runs the policy once for the portfolio. Market hours come from MarketClock.
 */
export const trade = (settings: TradeSettings) =>
  Effect.scoped(Effect.gen(function* () {
    const marketData = yield* MarketData
    const marketClock = yield* MarketClock
    const broker = yield* Broker
    const journal = yield* Journal
    const session = yield* startSession({ ...settings, outageBackoff: settings.outageBackoff ?? settings.backoff, mode: "trade" })
    const { span, tickers, outages } = session
    // the status board reads the session on the session's clock, whenever it is asked (a step may be under way)
    const board = yield* StatusBoard
    const clock = yield* Effect.clock
    yield* board.attach({ now: () => clock.unsafeCurrentTimeMillis(), session: session.status })
    const progress = yield* Progress
    yield* progress.start("paper trading", settings.maxSteps)

    /**
     * Fails with an error a person must fix (refused keys), from the program or from outside it:
     * every wait of the step loop races it, so the session ends at once, not at the next bar.
     */
    const fatal = yield* Deferred.make<never, KeysRefused>()
    if (settings.fatal !== undefined) yield* Effect.forkScoped(Effect.catchAll(settings.fatal, (e) => Deferred.fail(fatal, e)))
    const dataDown = () => outages.current("market_data") !== undefined
    const orFatal = <A, E, R>(wait: Effect.Effect<A, E, R>) => Effect.raceFirst(wait, Deferred.await(fatal))
    /** Refused keys end the session; an outage is journaled once (the session holds); other failures are the caller's. */
    const brokerFailed = (error: { readonly _tag: string }) =>
      error._tag === "KeysRefused" ? Deferred.fail(fatal, error as KeysRefused).pipe(Effect.asVoid) : isOutage(error) ? outages.down("broker", error) : Effect.void
    const graceMs = Duration.toMillis(settings.grace)

    /** A ticker's newest bar for the board; a completed bar ended by the time it arrived (a daily bar at the close). */
    const showBar = (ticker: string, barTime: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => board.bar(ticker, barTime, Math.min(barTime + span, now)))

    for (const ticker of tickers) {
      const warm = session.latest(ticker)
      if (warm !== undefined) yield* showBar(ticker, warm.time)
      if (warm !== undefined) continue
      // an unknown symbol gets no bars from Alpaca, not an error: say so, and that ticker holds
      yield* Effect.logWarning("no history for a ticker: unknown to the feed, or no data yet; it holds until its bars arrive").pipe(Effect.annotateLogs({ ticker }))
      yield* journal.append({ type: "no_history", time: iso(yield* Clock.currentTimeMillis), ticker, reason: "the feed returned no bars before the session" })
    }

    const arrived = new Map<number, Map<string, Bar>>()
    const lastSeen = new Map<string, Bar>()
    const arrivals = yield* Queue.unbounded<string>()
    const orderQueues = new Map(yield* Effect.forEach(tickers, (t) => Effect.map(Queue.unbounded<Dispatched>(), (q) => [t, q] as const)))
    let inFlight = 0
    let lastStepBarTime = -Infinity

    /** A completed bar of one ticker, from the stream or the REST fallback; duplicates and bad bars are dropped. */
    const accept = (ticker: string, bar: Bar, source: "stream" | "rest") =>
      Effect.gen(function* () {
        const previous = lastSeen.get(ticker)
        if (previous !== undefined && bar.time < previous.time) {
          // an older bar: the stream's backfill after a reconnect, of bars the steps took over REST (or
          // skipped) meanwhile; its step is past and the indicators are beyond it
          return yield* Effect.logDebug("an older bar dropped: its step is past").pipe(Effect.annotateLogs({ ticker, bar_time: iso(bar.time), source }))
        }
        if (previous !== undefined && bar.time === previous.time) {
          // the same bar again (the stream after the REST fallback) is expected; a different one is not
          const same = bar.open === previous.open && bar.high === previous.high && bar.low === previous.low && bar.close === previous.close
          if (same) return
          const reason = "a second, different bar for a time already used"
          yield* Effect.logWarning("bad bar dropped").pipe(Effect.annotateLogs({ ticker, problem: reason }))
          yield* journal.append({ type: "bad_bar", time: iso(yield* Clock.currentTimeMillis), ticker, bar_time: iso(bar.time), reason, source })
          return
        }
        const problem = validateBar(bar)
        if (problem !== undefined) {
          yield* Effect.logWarning("bad bar dropped").pipe(Effect.annotateLogs({ ticker, problem }))
          yield* journal.append({ type: "bad_bar", time: iso(yield* Clock.currentTimeMillis), ticker, bar_time: iso(bar.time), reason: problem, source })
          return
        }
        lastSeen.set(ticker, bar)
        yield* showBar(ticker, bar.time)
        if (source === "stream") yield* outages.up("market_data")
        if (source === "stream" && failing.delete(ticker)) yield* Effect.logInfo("ticker actor recovered: its stream delivers bars again").pipe(Effect.annotateLogs({ ticker }))
        // a bar whose step is past still feeds the indicators; it is not decided on
        if (bar.time <= lastStepBarTime) return yield* session.observeLate(ticker, bar)
        const slot = arrived.get(bar.time) ?? new Map<string, Bar>()
        slot.set(ticker, bar)
        arrived.set(bar.time, slot)
        yield* Queue.offer(arrivals, ticker)
      })

    /** Client order ids this process has tried to send: only a resend asks the broker first. */
    const attempted = new Set<string>()

    /**
     * Submits with retries for what can heal, until the order's step is past (`deadline`, the next
     * decision): the retry budget is per step, and the next step decides afresh from the ledger. The
     * first send goes straight out (no round trip before it); before any resend — a retry, or an
     * order put back by an actor torn down mid-submission — it asks the broker whether the order got
     * through. A duplicate id is caught by the broker too. Given up, the order is journaled
     * (`order_error`); refused keys end the session.
     */
    const execute = ({ request, deadline }: Dispatched) => {
      const attempts = Effect.suspend(() => {
        if (!attempted.has(request.clientOrderId)) {
          attempted.add(request.clientOrderId)
          if (firstOrderTimed) return session.submit(request)
          firstOrderTimed = true
          return Metric.update(TradingMetrics.firstOrderLatency, realNow() - barsCompleteAt).pipe(Effect.zipRight(session.submit(request)))
        }
        return broker.orderByClientId(request.clientOrderId).pipe(
          Effect.flatMap((known) => (known !== undefined ? Effect.succeed(true) : session.submit(request)))
        )
      }).pipe(
        Effect.tapError((e) => (isOutage(e) ? outages.down("broker", e) : Effect.void)),
        Effect.retry({ schedule: backoffSchedule(settings.backoff), while: isOutage }),
        Effect.tap(() => outages.up("broker"))
      )
      return Effect.raceFirst(
        attempts,
        Effect.zipRight(sleepUntil(deadline), Effect.fail({ _tag: "StepPast" as const, message: `the broker did not take it before its step was past (${iso(deadline)}); the next step decides afresh` }))
      ).pipe(
        Effect.catchAll((e) => Effect.zipRight(brokerFailed(e), session.abandon(request, e.message)).pipe(Effect.as(false))),
        Effect.ensuring(Effect.sync(() => void inFlight--))
      )
    }

    const actor = (ticker: string) =>
      Effect.all(
        [
          marketData.live(ticker, settings.interval).pipe(
            Stream.runForEach((bar) => accept(ticker, bar, "stream")),
            Effect.zipRight(Effect.fail(new Error("bar stream ended")))
          ),
          Effect.forever(
            Effect.flatMap(Queue.take(orderQueues.get(ticker)!), (dispatched) =>
              // if the actor is torn down mid-submission, the order goes back to the queue; the next
              // attempt looks it up by client order id before sending, so it is never doubled
              execute(dispatched).pipe(
                Effect.onInterrupt(() => Effect.sync(() => void inFlight++).pipe(Effect.zipRight(Queue.offer(orderQueues.get(ticker)!, dispatched))))
              )
            )
          )
        ],
        { concurrency: 2, discard: true }
      )

    /**
     * A ticker's actor, restarted with backoff when it fails. The first failure of a run is journaled
     * and logged as a warning; the restarts that fail again (a long outage) only count, until a bar
     * from the stream shows the actor healthy.
     */
    const failing = new Set<string>()
    const supervised = (ticker: string) =>
      actor(ticker).pipe(
        Effect.catchAllCause((cause) =>
          Effect.gen(function* () {
            const error = Cause.squash(cause)
            const message = error instanceof Error ? error.message : String(error)
            yield* Metric.increment(TradingMetrics.actorFailures)
            if (failing.has(ticker)) return yield* Effect.logDebug("ticker actor failed again; restarting with backoff").pipe(Effect.annotateLogs({ ticker, error: message }))
            failing.add(ticker)
            yield* Effect.logWarning("ticker actor failed; restarting with backoff (further failures before it recovers are not journaled)").pipe(Effect.annotateLogs({ ticker, error: message }))
            yield* journal.append({ type: "actor_failure", time: iso(yield* Clock.currentTimeMillis), ticker, error: message }).pipe(Effect.ignore)
          })
        ),
        Effect.repeat(backoffSchedule(settings.backoff))
      )

    const actors = settings.actors ?? (yield* FiberMap.make<string>())
    const ensureActors = Effect.forEach(tickers, (t) => FiberMap.run(actors, t, supervised(t), { onlyIfMissing: true }), { discard: true })
    yield* ensureActors

    /**
     * When the current step's bars were complete, in real ms (`performance.now()`, whatever clock the
     * market runs on): the start of its decision latency; its first order, when it has one, is timed
     * from here too.
     */
    let barsCompleteAt = 0
    let firstOrderTimed = true
    const realNow = () => performance.now()

    const waitForBars = (barTime: number, deadline: number) => {
      const complete = () => tickers.every((t) => arrived.get(barTime)?.has(t) === true)
      const allArrived = Effect.gen(function* () {
        while (!complete()) yield* Queue.take(arrivals)
      })
      return Effect.raceFirst(allArrived, sleepUntil(deadline)).pipe(Effect.tap(() => Effect.sync(() => void (barsCompleteAt = realNow()))))
    }

    const dispatch = (requests: ReadonlyArray<OrderRequest>, deadline: number) =>
      Effect.forEach(requests, (request) => Effect.sync(() => void inFlight++).pipe(Effect.zipRight(Queue.offer(orderQueues.get(request.ticker)!, { request, deadline }))), { discard: true })

    /**
     * Reconciles the ledger with the broker once nothing is in flight, while the step waits for its
     * bars: the decision never waits for a broker round trip. A failure is logged and tried again. When
     * the step goes on, a reconciliation under way finishes (the broker is slow) but none starts; only
     * a stop interrupts it (the session books a broker's answer whole or not at all).
     */
    let reconciling: Fiber.RuntimeFiber<void, never> | undefined
    let reconcileWanted = false
    const reconcileWhenQuiet = Effect.gen(function* () {
      while (reconcileWanted) {
        if (inFlight === 0) {
          const wasDown = outages.current("broker") !== undefined
          if (wasDown) {
            // while the broker is out, one look per step: a probe, tried once (no retry storm
            // spending the request budget the recovery will need)
            const back = yield* asProbe(broker.account).pipe(
              Effect.as(true),
              Effect.catchAll((e) => Effect.as(brokerFailed(e), false))
            )
            if (!back) return
            yield* outages.up("broker")
          }
          // background: an Alpaca budget serves it from its spare, never before a decision's orders;
          // right after an outage it books what happened meanwhile before the next decision
          const done = yield* (wasDown ? session.reconcile : inBackground(session.reconcile)).pipe(
            Effect.catchAll((e) =>
              Effect.zipRight(
                brokerFailed(e),
                isOutage(e) || e._tag === "KeysRefused"
                  ? Effect.void
                  : Effect.logWarning("reconciliation with the broker failed; trying again").pipe(Effect.annotateLogs({ error: e.message }))
              ).pipe(Effect.as(undefined))
            )
          )
          // the broker went out: the next step looks again
          if (done !== undefined || outages.current("broker") !== undefined) return
        }
        yield* Effect.sleep(Duration.seconds(1))
      }
    }).pipe(
      // the journal refusing a record here (disk full) is the step's to report: it stops deciding
      Effect.catchAll((e) => Effect.logWarning("reconciliation stopped: the journal refused a record").pipe(Effect.annotateLogs({ error: e.message })))
    )

    /**
     * The bars before `barTime` the indicators have not seen: those that arrived for steps never taken,
     * and, where a ticker's last bar is more than one interval old, the missing ones over REST.
     * Returned in time order (ticker order within a time); taken out of `arrived`. The REST fetch
     * gives up at `deadline` (the indicators then skip what it would have brought).
     */
    const catchUp = (barTime: number, deadline: number) =>
      Effect.gen(function* () {
        const pending = new Map<number, Map<string, Bar>>()
        for (const t of [...arrived.keys()].filter((t) => t < barTime)) {
          pending.set(t, arrived.get(t)!)
          arrived.delete(t)
        }
        const behind = tickers.filter((t) => {
          const last = session.latest(t)?.time
          return last !== undefined && last + span < barTime && !pending.get(last + span)?.has(t)
        })
        // while the market data is out the indicators skip these bars (a probe in the step looks for its return)
        if (behind.length > 0 && !dataDown()) {
          const oldest = Math.min(...behind.map((t) => session.latest(t)!.time))
          const count = Math.min(1_000, Math.ceil((barTime - oldest) / span))
          const none = new Map<string, ReadonlyArray<Bar>>()
          const fetched = yield* marketData.history(behind, settings.interval, barTime, count).pipe(
            Effect.tap(() => outages.up("market_data")),
            Effect.catchAll((e) =>
              Effect.zipRight(isOutage(e) ? outages.down("market_data", e) : Effect.void, Effect.as(Effect.logWarning("could not fetch the bars the stream missed; the indicators skip them").pipe(Effect.annotateLogs({ error: e.message })), none))
            ),
            Effect.raceFirst(Effect.as(Effect.zipRight(sleepUntil(deadline), Effect.logWarning("the bars the stream missed did not come over REST in time; the indicators skip them")), none))
          )
          for (const ticker of behind) {
            const last = session.latest(ticker)!.time
            for (const bar of fetched.get(ticker) ?? []) {
              if (bar.time <= last || bar.time >= barTime || pending.get(bar.time)?.has(ticker) === true || validateBar(bar) !== undefined) continue
              const slot = pending.get(bar.time) ?? new Map<string, Bar>()
              slot.set(ticker, bar)
              pending.set(bar.time, slot)
            }
          }
        }
        return [...pending.keys()].sort((a, b) => a - b).flatMap((t) => tickers.flatMap((ticker) => {
          const bar = pending.get(t)!.get(ticker)
          return bar === undefined ? [] : [[ticker, bar] as const]
        }))
      })

    const step = Effect.gen(function* () {
      yield* session.applyUpdates
      yield* ensureActors
      const now = yield* Clock.currentTimeMillis
      const known = yield* marketClock.sessionAt(now).pipe(
        Effect.map((session) => ({ session })),
        Effect.catchIf(isOutage, (e) => Effect.as(outages.down("broker", e), undefined))
      )
      if (known === undefined) {
        // the calendar is the broker's: wait its outage out (journaled once), then ask again
        yield* orFatal(Effect.sleep(Duration.min(Duration.millis(span), settings.backoff.max)))
        return true
      }
      const market = known.session
      if (market === undefined) return false
      if (now < market.open) {
        yield* Effect.logInfo("market closed; sleeping until the open").pipe(Effect.annotateLogs({ open: iso(market.open) }))
        yield* orFatal(sleepUntil(market.open))
        return true
      }
      const barTime = bucketStart(now, span)
      const barEnd = Math.min(barTime + span, market.close)
      if (barTime <= Math.max(session.resumeAfter, lastStepBarTime)) {
        // decided already (before a restart, or by this session's previous step when the clock reads
        // a little behind the bar's end): never a bar twice; skip to the next bar
        yield* orFatal(sleepUntil(barEnd))
        return true
      }
      // one reconciliation at a time; an unfinished one (the broker is slow) finishes in the
      // background and stands back if the step sends orders meanwhile
      reconcileWanted = true
      if (reconciling === undefined || reconciling.unsafePoll() !== null) reconciling = yield* Effect.fork(reconcileWhenQuiet)
      yield* orFatal(waitForBars(barTime, barEnd + graceMs))
      reconcileWanted = false
      // the REST fallbacks have a budget: the step decides by half an interval after the bar (or its
      // grace, if longer), whatever the market data's REST does
      const fallbackDeadline = barEnd + Math.max(graceMs, span / 2)
      const missing = tickers.filter((t) => arrived.get(barTime)?.has(t) !== true)
      const fetchLate = (ticker: string) =>
        marketData.barAt(ticker, settings.interval, barTime).pipe(
          Effect.tap(() => outages.up("market_data")),
          Effect.catchAll((e) => Effect.as(isOutage(e) ? outages.down("market_data", e) : Effect.void, undefined)),
          Effect.map((bar) => [ticker, bar] as const)
        )
      const late = yield* Effect.gen(function* () {
        if (missing.length === 0) return []
        // while the market data is out, one probe first (tried once); the rest only if it is back
        const first = dataDown() ? [yield* asProbe(fetchLate(missing[0]))] : []
        if (dataDown()) return first
        return [...first, ...(yield* Effect.forEach(missing.slice(first.length), fetchLate, { concurrency: "unbounded" }))]
      }).pipe(Effect.raceFirst(Effect.as(sleepUntil(fallbackDeadline), [] as ReadonlyArray<readonly [string, Bar | undefined]>)))
      for (const [ticker, bar] of late) if (bar !== undefined) yield* accept(ticker, bar, "rest")
      // bars the step never saw — published before the stream listened (a start mid-session), or of a
      // skipped step — feed the indicators first, in time order, as a backtest's replay feeds them
      for (const [ticker, bar] of yield* catchUp(barTime, fallbackDeadline)) yield* session.observeLate(ticker, bar)
      const bars = arrived.get(barTime) ?? new Map<string, Bar>()
      arrived.delete(barTime)
      lastStepBarTime = barTime
      const holds: Array<Hold> = tickers
        .filter((t) => !bars.has(t))
        .map((ticker) => ({ ticker, reason: `no bar by the deadline (bar close + ${graceMs / 1000} s), nor over REST` }))
      const before = session.steps()
      // while the broker is out, no order can be sent: every ticker holds (the outage is journaled once)
      const outage = outages.current("broker")
      const holdAll = outage === undefined ? undefined : `the broker is not answering (since ${iso(outage.since)}: ${outage.cause})`
      // an order's retries end when its step is past: at the next decision, one interval on
      const orders = yield* session.step({ barTime, barEnd, close: market.close, bars, holds, holdAll })
      if (session.steps() > before) yield* Metric.update(TradingMetrics.decisionLatency, realNow() - barsCompleteAt)
      firstOrderTimed = orders.length === 0
      yield* dispatch(orders, barEnd + span + graceMs)
      if (session.steps() > before) {
        yield* session.markEquity
        yield* reportStep(barTime, orders.length)
      }
      yield* orFatal(sleepUntil(barEnd))
      // the session's close (the step waited for its last bar): what a flatten left behind is said loudly
      if (barEnd >= market.close) yield* session.atClose(market.close)
      return settings.maxSteps === undefined || session.steps() < settings.maxSteps
    })

    /** The session's fills counter when the last step was reported (one session per process counts into it). */
    let fillsReported = (yield* Metric.value(TradingMetrics.fills)).count
    const reportStep = (barTime: number, orders: number) =>
      Effect.gen(function* () {
        yield* board.stepped
        yield* progress.advance(1)
        if (settings.onStep === undefined) return
        const fills = (yield* Metric.value(TradingMetrics.fills)).count
        const status = session.status()
        yield* settings.onStep({ step: status.steps, barTime, orders, fills: fills - fillsReported, equity: status.equity, holds: status.lastDecision?.holds ?? [] })
        fillsReported = fills
      })

    const settle = Effect.gen(function* () {
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(settings.settleTimeout)
      while ((yield* Clock.currentTimeMillis) < deadline) {
        yield* broker.reconcile
        yield* session.applyUpdates
        const open = yield* broker.openOrders.pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<unknown>))
        if (inFlight === 0 && open.length === 0) break
        yield* Effect.sleep(Duration.millis(Math.min(1000, span / 4)))
      }
      yield* broker.reconcile
      yield* session.applyUpdates
    })

    /**
     * Settles and ends the session within `settleTimeout` + {@link STOP_MARGIN} of market time,
     * whatever the network does: past that, the broker calls under way are interrupted and
     * `session_end` is journaled with `stopped_by_deadline`. (`timeoutTo` runs the work in a fiber of
     * its own, which is interruptible even when this runs as the finalizer of an interrupted fiber.)
     */
    // a reconciliation still under way is stopped (its broker calls are interruptible; what it
    // booked is whole) before the stop, so nothing is journaled after session_end
    const stopReconciling = Effect.suspend(() => (reconciling === undefined ? Effect.void : Fiber.interrupt(reconciling)))
    const stop = Effect.zipRight(Effect.zipRight(stopReconciling, settle), session.finish).pipe(
      Effect.interruptible,
      Effect.timeoutTo({
        duration: Duration.sum(settings.settleTimeout, STOP_MARGIN),
        onSuccess: (summary) => Effect.succeed(summary),
        onTimeout: () =>
          Effect.logError("stop deadline reached: the broker did not answer in time; ending without its last word").pipe(
            Effect.annotateLogs({ settle_timeout: Duration.format(settings.settleTimeout), margin: Duration.format(STOP_MARGIN) }),
            Effect.zipRight(session.end({ stoppedByDeadline: true }))
          )
      }),
      Effect.flatten
    )

    /**
     * The journal refused a record (disk full, I/O error): the file is already cut back to whole
     * records. The step that met it decided nothing and sent nothing; the session carries on, and
     * every step tries again — deciding resumes once the journal takes records. Said once per episode.
     */
    let journalRefused = false
    const journalFailed = (e: JournalError) =>
      Effect.gen(function* () {
        if (!journalRefused) {
          journalRefused = true
          yield* Effect.logError("THE JOURNAL CANNOT BE WRITTEN: no decision is made and nothing is sent until it can; trying again every step").pipe(
            Effect.annotateLogs({ error: e.message })
          )
        }
        yield* orFatal(Effect.sleep(Duration.millis(span / 5)))
        return true
      })
    const stepped = step.pipe(
      Effect.tap(() =>
        journalRefused ? Effect.logInfo("the journal takes records again: deciding resumes").pipe(Effect.zipRight(Effect.sync(() => void (journalRefused = false)))) : Effect.void
      ),
      Effect.catchTag("JournalError", journalFailed)
    )

    const summary = yield* Effect.gen(function* () {
      while (yield* stepped) {
        /* one bar per step */
      }
      return yield* stop
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.gen(function* () {
          yield* Effect.logInfo("stopping: no new decisions; letting in-flight orders settle")
          const summary = yield* stop
          if (settings.onStopped !== undefined) yield* settings.onStopped(summary)
        }).pipe(Effect.ignore)
      ),
      // a failure that ends the session is the journal's last word too
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.void : Effect.gen(function* () {
          const error = Cause.squash(cause)
          yield* journal.append({ type: "session_error", time: iso(yield* Clock.currentTimeMillis), error: error instanceof Error ? error.message : String(error) })
        }).pipe(Effect.ignore)
      )
    )
    if (settings.actors === undefined) yield* FiberMap.clear(actors)
    return summary
  }).pipe(Effect.ensuring(Effect.flatMap(Progress, (progress) => progress.done))))
