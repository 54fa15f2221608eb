import { Clock, Effect, Layer, Ref } from "effect"
import { formatUtc, nyDate } from "../core/nytime.js"
import { type SessionView, StatusBoard, type StatusBoardService, type StatusReport, type StatusSource } from "../services/StatusBoard.js"

/** How many of the latest decisions `/status` shows. */
export const LAST_DECISIONS = 5

type Decision = NonNullable<SessionView["lastDecision"]>

interface BoardState {
  readonly source: StatusSource | undefined
  /** The New York day of the latest step, and the equity it started from: at the last step before it, or at the session's start. */
  readonly day: { readonly day: string; readonly equity: number } | undefined
  /** Equity after the latest step (at its closes): a new day's P&L starts from it. */
  readonly lastEquity: number
  /** Newest first. */
  readonly decisions: ReadonlyArray<Decision>
  readonly streams: ReadonlyMap<string, { readonly connected: boolean; readonly since: number }>
  readonly bars: ReadonlyMap<string, { readonly barTime: number; readonly barEnd: number }>
}

const empty: BoardState = { source: undefined, day: undefined, lastEquity: 0, decisions: [], streams: new Map(), bars: new Map() }

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits

/** The `/status` page of a board's state, at the session's clock. */
export const statusReport = (state: BoardState, source: StatusSource): StatusReport => {
  const now = source.now()
  const view = source.session()
  const today = nyDate(now)
  // a day without a step yet starts from the latest step's equity (the last close the session saw)
  const day = state.day?.day === today ? state.day : { day: today, equity: state.day === undefined ? view.initialEquity : state.lastEquity }
  const positions = Object.fromEntries(
    Object.entries(view.positions)
      .filter(([, qty]) => qty !== 0)
      .map(([ticker, qty]) => {
        const price = view.prices[ticker]
        return [ticker, { qty, price: price ?? null, value: price === undefined ? null : round(qty * price, 2) }] as const
      })
  )
  return {
    market_time: formatUtc(now),
    steps: view.steps,
    guard_mode: view.guardMode,
    cash: view.cash,
    equity: view.equity,
    pnl_today: {
      day: day.day,
      start_equity: day.equity,
      equity: view.equity,
      pnl: round(view.equity - day.equity, 2),
      return: day.equity === 0 ? 0 : view.equity / day.equity - 1
    },
    positions,
    open_orders: view.openOrders,
    last_decisions: state.decisions.map((d) => ({ bar_time: formatUtc(d.barTime), decided_at: formatUtc(d.decisionTime), orders: d.orders, holds: d.holds })),
    streams: Object.fromEntries([...state.streams].sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) => [name, { connected: s.connected, since: formatUtc(s.since) }])),
    bars: Object.fromEntries(
      [...state.bars].sort(([a], [b]) => a.localeCompare(b)).map(([ticker, b]) => [ticker, { bar_time: formatUtc(b.barTime), bar_end: formatUtc(b.barEnd), age_seconds: round((now - b.barEnd) / 1000, 3) }])
    )
  }
}

const sameDecision = (a: Decision | undefined, b: Decision) => a !== undefined && a.barTime === b.barTime && a.decisionTime === b.decisionTime

/**
 * A board in memory: every write is one `Ref` update and a read is a snapshot, so `/status`
 * answers at once, in the middle of a step too (nothing is held across a step).
 */
export const makeStatusBoard: Effect.Effect<StatusBoardService> = Effect.map(Ref.make(empty), (state) => ({
  attach: (source) =>
    Effect.sync(() => {
      const view = source.session()
      const day = { day: nyDate(source.now()), equity: view.equity }
      return { ...empty, source, day, lastEquity: view.equity, decisions: view.lastDecision === undefined ? [] : [view.lastDecision] }
    }).pipe(Effect.flatMap((fresh) => Ref.update(state, (s) => ({ ...fresh, streams: s.streams, bars: s.bars })))),
  stream: (name, connected) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.update(state, (s) => {
        if (s.streams.get(name)?.connected === connected) return s
        return { ...s, streams: new Map(s.streams).set(name, { connected, since: s.source?.now() ?? now }) }
      })
    ),
  bar: (ticker, barTime, barEnd) =>
    Ref.update(state, (s) => {
      const known = s.bars.get(ticker)
      return known !== undefined && known.barTime >= barTime ? s : { ...s, bars: new Map(s.bars).set(ticker, { barTime, barEnd }) }
    }),
  stepped: Ref.update(state, (s) => {
    if (s.source === undefined) return s
    const view = s.source.session()
    const decision = view.lastDecision
    const day = nyDate(decision?.barTime ?? s.source.now())
    return {
      ...s,
      day: s.day?.day === day ? s.day : { day, equity: s.lastEquity },
      lastEquity: view.equity,
      decisions: decision === undefined || sameDecision(s.decisions[0], decision) ? s.decisions : [decision, ...s.decisions].slice(0, LAST_DECISIONS)
    }
  }),
  report: Effect.map(Ref.get(state), (s) => (s.source === undefined ? undefined : statusReport(s, s.source)))
}))

/** A board in memory for one process: provide it to the program, its streams and the metrics server alike. */
export const StatusBoardMemory: Layer.Layer<StatusBoard> = Layer.effect(StatusBoard, makeStatusBoard)
