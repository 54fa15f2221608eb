import type { DecisionRecord, JournalRecord, OrderLine, PortfolioRecord, RecordOf } from "../domain/Journal.js"
import { type Interval, intervalMillis } from "../domain/Config.js"
import type { LayoutName } from "../domain/Model.js"
import { layouts, observationSize } from "./layouts.js"
import { periodsPerYear } from "./metrics.js"
import { type EquityReconciliation, reconcileEquity } from "./reconciliation-metrics.js"

/**
 * Why two decisions of the same bar sent different orders. Each diverging bar gets the first cause
 * of this list that fits (most specific first):
 *
 * 1. `data` — the bar differed: different closes in the decision state, or a ticker held for a
 *    missing bar (a hold whose reason names a bar) on one side only.
 *    `outage` — the broker was not answering on one side: that step held every ticker.
 * 2. `rule` — a guard or market-hours rule (`circuit_breaker_open`, `daily_loss_limit`,
 *    `no_new_positions_before_close`, or a hold that is not about a bar) blocked on one side what
 *    the other side sent.
 * 3. The ledger state the decision read (cash, holdings, reserved cash and shares) differed; the
 *    fills, order ends and reconciliations before the decision say why. Each difference is weighed
 *    by how far it moved the two ledgers apart (|Δcash| + |Δshares| · close); the cause whose
 *    differences weigh most wins, a tie going to the more specific one in this order:
 *    `reconcile` (a reconciliation adopted the broker's cash or position on one side),
 *    `rejection` (an order rejected on one side only), `cancel` (canceled or expired unfilled on
 *    one side only), `skipped_bar` (an order from a bar the other side did not decide at all, e.g.
 *    a paper session that fell behind), `partial_fill` (one side's order was still or only
 *    partly filled), `fill_timing` (the same fill arrived after the decision on one side),
 *    `state` (orders an earlier, different decision sent, or a difference no fill explains) and
 *    `fill_price` (the same fills at different prices or fees) — so a ledger that differs because
 *    an earlier decision bought other quantities is `state`, and one that differs only by the
 *    prices of the same fills is `fill_price`.
 * 4. `news` — same closes and ledger, but the two decisions saw different news articles (or
 *    versions of them) for some ticker, and their observations differ.
 *    `indicators` — same closes and ledger, but the indicator part of the observation differed
 *    (a different warm-up history, or an earlier bar that differed).
 * 5. `policy` — the same observation gave a different action.
 * 6. `rule` — same observation and action, but the risk limits cut differently.
 * 7. `unexplained` — none of the above.
 */
export type DivergenceCause =
  | "data"
  | "outage"
  | "rule"
  | "reconcile"
  | "rejection"
  | "cancel"
  | "skipped_bar"
  | "partial_fill"
  | "fill_timing"
  | "state"
  | "fill_price"
  | "news"
  | "indicators"
  | "policy"
  | "unexplained"

/** The ledger causes, most specific first (see {@link DivergenceCause}). */
const LEDGER_CAUSES = ["reconcile", "rejection", "cancel", "skipped_bar", "partial_fill", "fill_timing", "state", "fill_price"] as const
type LedgerCause = (typeof LEDGER_CAUSES)[number]

const MAX_FILLS_LISTED = 10

/** What each side had booked for one order when the decision read its ledger. */
export interface FillDifference {
  readonly client_order_id: string
  readonly kind: LedgerCause
  /** How far this order moved the two ledgers apart: |Δcash| + |Δshares| · close, in account currency. */
  readonly weight: number
  readonly paper?: { readonly qty: number; readonly price: number | null; readonly end?: string } | undefined
  readonly backtest?: { readonly qty: number; readonly price: number | null; readonly end?: string } | undefined
}

export interface Divergence {
  readonly bar_time: string
  readonly cause: DivergenceCause
  readonly detail: string
  /** The orders whose fills made the ledgers differ, heaviest first, at most ten (ledger causes only). */
  readonly fills?: ReadonlyArray<FillDifference> | undefined
}

export interface SessionComparison {
  /** `backtest` counts the backtest's decisions on the paper's bars; `common` the bars both decided. */
  readonly decisions: { readonly paper: number; readonly backtest: number; readonly common: number }
  /** Bars only one side decided: `backtest_only` are bars the paper session skipped (every statistic ignores them). */
  readonly bars: { readonly paper_only: ReadonlyArray<string>; readonly backtest_only: ReadonlyArray<string> }
  /** Common decisions whose orders (ticker, side, qty) are the same. */
  readonly identical_orders: number
  readonly identical_orders_pct: number
  /** Largest and mean absolute difference between the two actions of a common decision. */
  readonly action_diff: { readonly max: number; readonly mean: number }
  /** Fills of the same client order id in both (orders of common bars). */
  readonly matched_fills: number
  /** Paper fill price against the backtest's, in basis points, signed so that positive costs the account. */
  readonly fill_price_diff_bps: { readonly mean: number; readonly max_abs: number }
  readonly paper_only_orders: number
  readonly backtest_only_orders: number
  /** The first common bar where the orders differ, with both sides, for a reader to start from. */
  readonly first_difference?: { readonly bar_time: string; readonly paper: ReadonlyArray<OrderLine>; readonly backtest: ReadonlyArray<OrderLine> } | undefined
  /**
   * QuantConnect's reconciliation scores of the two equity curves over the common bars (see
   * reconciliation-metrics.ts). `source`: `portfolio` records, or — journals written before them —
   * the equity the decision saw, cash + Σ close · holdings from its state or observation. Absent
   * when neither is there.
   */
  readonly equity?: (EquityReconciliation & { readonly source: "portfolio" | "observation"; readonly points: number }) | undefined
  /** One entry per common bar whose orders differ, with its cause. */
  readonly divergences: ReadonlyArray<Divergence>
  /** How many divergences have cause `unexplained`. */
  readonly unexplained: number
}

export interface CompareOptions {
  /** Periods per year of a step, for the annualised DTW (default: from `session_start.interval`, else 252). */
  readonly periodsPerYear?: number | undefined
}

type Fill = { readonly at: number; readonly time: number; readonly ticker: string; readonly side: "buy" | "sell"; readonly qty: number; readonly price: number; readonly fee: number; readonly partial: boolean }
type End = { readonly at: number; readonly type: "rejection" | "cancel" | "expiry"; readonly reason: string | undefined }

/** One journal, indexed: every entry keeps `at`, its position, since "before the decision" is what the decision saw. */
interface Side {
  readonly decisions: Map<string, { readonly record: DecisionRecord; readonly at: number }>
  readonly portfolios: Map<string, PortfolioRecord>
  /** Bars with a decision or a flatten: the bars this side stepped on. */
  readonly stepped: Set<string>
  readonly orders: Map<string, { readonly line: OrderLine; readonly barTime: string; readonly at: number }>
  readonly fills: Map<string, Array<Fill>>
  readonly ends: Map<string, Array<End>>
  readonly reconciles: Array<{ readonly at: number; readonly record: RecordOf<"reconcile"> }>
}

const indexSide = (records: ReadonlyArray<JournalRecord>): Side => {
  const side: Side = { decisions: new Map(), portfolios: new Map(), stepped: new Set(), orders: new Map(), fills: new Map(), ends: new Map(), reconciles: [] }
  const push = <V>(map: Map<string, Array<V>>, key: string, value: V) => map.set(key, [...(map.get(key) ?? []), value])
  records.forEach((r, at) => {
    switch (r.type) {
      case "decision":
      case "flatten":
        if (r.type === "decision") side.decisions.set(r.bar_time, { record: r, at })
        side.stepped.add(r.bar_time)
        for (const line of r.orders) if (!side.orders.has(line.client_order_id)) side.orders.set(line.client_order_id, { line, barTime: r.bar_time, at })
        break
      case "portfolio":
        side.portfolios.set(r.bar_time, r)
        break
      case "fill":
      case "partial_fill":
        push(side.fills, r.client_order_id, { at, time: Date.parse(r.time), ticker: r.ticker, side: r.side, qty: r.qty, price: r.price ?? NaN, fee: r.fee ?? 0, partial: r.type === "partial_fill" })
        break
      case "rejection":
      case "cancel":
      case "expiry":
        push(side.ends, r.client_order_id, { at, type: r.type, reason: r.reason })
        break
      case "reconcile":
        side.reconciles.push({ at, record: r })
        break
    }
  })
  return side
}

/** The ledger a decision read: its `state`, or — older journals — the portfolio part of its observation. */
interface LedgerView {
  readonly cash: number
  readonly holdings: ReadonlyArray<number>
  readonly prices: ReadonlyArray<number>
  readonly reservedCash?: number | undefined
  readonly reservedShares?: ReadonlyArray<number> | undefined
}

/** Where a layout puts the portfolio in the observation, for the journal's tickers and indicators. */
interface Layout {
  readonly name: LayoutName
  readonly decode: (observation: ReadonlyArray<number | null>) => { readonly view: LedgerView; readonly portfolioIndices: ReadonlySet<number> }
}

/** The layout whose size fits the observation (FinRL's df and numpy layouts never share a size). */
const findLayout = (tickers: number, indicators: number, size: number): Layout | undefined => {
  const name = (Object.keys(layouts) as Array<LayoutName>).find((l) => observationSize(l, tickers, indicators) === size)
  if (name === undefined) return undefined
  return {
    name,
    decode: (observation) => {
      const value = (i: number) => observation[i] ?? NaN
      const portfolioIndices = new Set<number>()
      let cash = NaN
      let prices: Array<number> = []
      let holdings: Array<number> = []
      let at = 0
      for (const segment of layouts[name]) {
        const span = segment.source === "cash" || segment.source === "turbulence-sigmoid" || segment.source === "turbulence-flag" ? 1 : segment.source === "indicators" ? tickers * indicators : tickers
        const range = Array.from({ length: span }, (_, k) => at + k)
        if (segment.source === "cash") cash = value(at) / segment.scale
        if (segment.source === "close") prices = range.map((i) => value(i) / segment.scale)
        if (segment.source === "holdings") holdings = range.map((i) => value(i) / segment.scale)
        if (segment.source === "cash" || segment.source === "close" || segment.source === "holdings") for (const i of range) portfolioIndices.add(i)
        at += span
      }
      return { view: { cash, prices, holdings }, portfolioIndices }
    }
  }
}

const near = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
const nearAll = (a: ReadonlyArray<number> | undefined, b: ReadonlyArray<number> | undefined) =>
  a === undefined || b === undefined ? a === b : a.length === b.length && a.every((x, i) => near(x, b[i]))
const sameNumbers = (a: ReadonlyArray<number | null>, b: ReadonlyArray<number | null>) => a.length === b.length && a.every((x, i) => x === b[i])
const num = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : String(Math.round(x * 1e4) / 1e4))
const orderKey = (o: OrderLine) => `${o.ticker}/${o.side}/${o.qty}`
const ordersText = (orders: ReadonlyArray<OrderLine>) => (orders.length === 0 ? "none" : orders.map((o) => `${o.side} ${o.qty} ${o.ticker}`).join(", "))

/** A hold about a bar (missing, late, bad) is data; any other hold is a rule's. */
const isDataHold = (reason: string) => /\bbar\b/i.test(reason)
/** The hold a live step journals for every ticker while the broker is out (programs/trade.ts). */
const isOutageHold = (reason: string) => reason.startsWith("the broker is not answering")
const MODE_RULES = new Set(["circuit_breaker_open", "daily_loss_limit", "no_new_positions_before_close"])

/**
 * Where a decision sits on its side: `at`, its journal position; `time`, when it decided; `ledger`,
 * whether it journaled the ledger's `state`. With a state, the journal's order is what the ledger
 * had booked; before it, decisions read the broker's positions, which fills journaled later may
 * already be in: those count as seen when their time is not after the decision's.
 */
interface DecisionPoint {
  readonly at: number
  readonly time: number
  readonly ledger: boolean
}
const seenBy = (point: DecisionPoint, entry: { readonly at: number; readonly time?: number }) =>
  entry.at < point.at || (!point.ledger && entry.time !== undefined && entry.time <= point.time)

/** What one side had booked for an order when its decision read the ledger. */
const bookedBefore = (side: Side, id: string, point: DecisionPoint) => {
  const at = point.at
  // an order this decision (or a later one) sent cannot be in what it read
  const sentAt = side.orders.get(id)?.at ?? -1
  const fills = sentAt >= at ? [] : (side.fills.get(id) ?? []).filter((f) => seenBy(point, f))
  const qty = fills.reduce((s, f) => s + f.qty, 0)
  const notional = fills.reduce((s, f) => s + f.qty * f.price, 0)
  const fee = fills.reduce((s, f) => s + f.fee, 0)
  const end = (side.ends.get(id) ?? []).find((e) => e.at < at)
  // what the fills did to the ledger: cash (after fees) and shares, signed
  const cash = fills.reduce((s, f) => s + (f.side === "buy" ? -1 : 1) * f.qty * f.price - f.fee, 0)
  const shares = fills.reduce((s, f) => s + (f.side === "buy" ? 1 : -1) * f.qty, 0)
  return { qty, notional, fee, cash, shares, price: qty > 0 ? notional / qty : null, end: end?.type, partial: fills.some((f) => f.partial), sent: (side.orders.get(id)?.at ?? Infinity) < at }
}
type Booked = ReturnType<typeof bookedBefore>
const sameBooking = (a: Booked, b: Booked) => near(a.qty, b.qty) && near(a.notional, b.notional) && near(a.fee, b.fee) && a.end === b.end

const describeBooking = (b: Booked) =>
  b.sent || b.qty > 0 ? { qty: b.qty, price: b.price, ...(b.end === undefined ? {} : { end: b.end }) } : undefined

/** Why an order's bookings differ between the sides at a decision (see {@link DivergenceCause}, 3). */
const classifyOrder = (id: string, p: Side, b: Side, pb: Booked, bb: Booked): LedgerCause => {
  const po = p.orders.get(id)
  const bo = b.orders.get(id)
  if (pb.sent !== bb.sent) {
    const order = pb.sent ? po! : bo!
    const other = pb.sent ? b : p
    return other.stepped.has(order.barTime) ? "state" : "skipped_bar"
  }
  // neither journal has the order (sent before the session): its fills alone tell
  const ordered = pb.sent ? po!.line.qty : Math.max(pb.qty, bb.qty)
  if (pb.sent && orderKey(po!.line) !== orderKey(bo!.line)) return "state"
  if ((pb.end === "rejection") !== (bb.end === "rejection")) return "rejection"
  if (!near(pb.qty, bb.qty)) {
    const [less, lessSide] = pb.qty < bb.qty ? [pb, p] : [bb, b]
    const total = (lessSide.fills.get(id) ?? []).reduce((s, f) => s + f.qty, 0)
    if (less.partial || (total > 0 && total < ordered - 1e-9)) return "partial_fill"
    if (less.end !== undefined) return "cancel"
    return "fill_timing"
  }
  if (pb.end !== bb.end) return "cancel"
  return "fill_price"
}

/** The ledger differences of one bar: what differs, and the orders (and reconciliations) that explain it. */
const explainLedger = (
  barTime: string,
  p: Side,
  b: Side,
  at: { readonly paper: DecisionPoint; readonly backtest: DecisionPoint },
  lp: LedgerView,
  lb: LedgerView,
  tickers: ReadonlyArray<string>
): Divergence => {
  const differs: Array<string> = []
  if (!near(lp.cash, lb.cash)) differs.push(`cash ${num(lp.cash)} vs ${num(lb.cash)}`)
  lp.holdings.forEach((h, i) => {
    if (!near(h, lb.holdings[i] ?? NaN)) differs.push(`${tickers[i] ?? `#${i}`} ${num(h)} vs ${num(lb.holdings[i])}`)
  })
  if (lp.reservedCash !== undefined && lb.reservedCash !== undefined && !near(lp.reservedCash, lb.reservedCash)) differs.push(`reserved cash ${num(lp.reservedCash)} vs ${num(lb.reservedCash)}`)
  if (!nearAll(lp.reservedShares, lb.reservedShares) && lp.reservedShares !== undefined && lb.reservedShares !== undefined) {
    differs.push(`reserved shares ${lp.reservedShares.join("/")} vs ${lb.reservedShares.join("/")}`)
  }

  const ids = new Set<string>()
  for (const [side, before] of [[p, at.paper], [b, at.backtest]] as const) {
    for (const [id, o] of side.orders) if (o.at < before.at) ids.add(id)
    for (const [id, fills] of side.fills) if ((side.orders.get(id)?.at ?? -1) < before.at && fills.some((f) => seenBy(before, f))) ids.add(id)
  }
  const close = (ticker: string | undefined, fallback: number | null) => lp.prices[ticker === undefined ? -1 : tickers.indexOf(ticker)] ?? fallback ?? 0
  const tickerOf = (side: Side, id: string) => side.orders.get(id)?.line.ticker ?? side.fills.get(id)?.[0]?.ticker
  const fills: Array<FillDifference> = []
  for (const id of [...ids].sort()) {
    const pb = bookedBefore(p, id, at.paper)
    const bb = bookedBefore(b, id, at.backtest)
    if (sameBooking(pb, bb)) continue
    const weight = Math.abs(pb.cash - bb.cash) + Math.abs(pb.shares - bb.shares) * close(tickerOf(p, id) ?? tickerOf(b, id), pb.price ?? bb.price)
    fills.push({ client_order_id: id, kind: classifyOrder(id, p, b, pb, bb), weight, paper: describeBooking(pb), backtest: describeBooking(bb) })
  }
  fills.sort((x, y) => y.weight - x.weight)
  const reconciled = [
    ...p.reconciles.filter((r) => r.at < at.paper.at).map((r) => ({ side: "paper", r })),
    ...b.reconciles.filter((r) => r.at < at.backtest.at).map((r) => ({ side: "backtest", r }))
  ]
  // each cause weighs what its differences moved; the heaviest wins, a tie goes to the more specific
  const weights = new Map<LedgerCause, number>()
  for (const f of fills) weights.set(f.kind, (weights.get(f.kind) ?? 0) + f.weight)
  const reconciledWeights = reconciled.map(({ r }) =>
    r.record.differences.reduce((s, d) => s + (d.what === "open_order" ? 0 : Math.abs((d.broker ?? 0) - (d.ledger ?? 0)) * (d.what === "cash" ? 1 : close(d.ticker, null))), 0)
  )
  for (const moved of reconciledWeights) weights.set("reconcile", (weights.get("reconcile") ?? 0) + moved)
  const heaviest = Math.max(...weights.values())
  const cause = LEDGER_CAUSES.find((c) => weights.has(c) && weights.get(c)! >= heaviest) ?? "state"

  const side = (s: FillDifference["paper"]) => (s === undefined ? "none" : `${num(s.qty)} @ ${num(s.price)}${s.end === undefined ? "" : ` (${s.end})`}`)
  const explained = [
    ...reconciled.map(({ side, r }, k) => ({
      weight: reconciledWeights[k],
      text: `${side} reconciled at ${r.record.time}: ${r.record.differences.map((d) => `${d.what}${d.ticker === undefined ? "" : ` ${d.ticker}`} ${num(d.ledger)} → ${num(d.broker)}`).join(", ")}`
    })),
    ...fills.map((f) => ({ weight: f.weight, text: `${f.client_order_id} [${f.kind}] paper ${side(f.paper)}, backtest ${side(f.backtest)}` }))
  ]
    .sort((x, y) => y.weight - x.weight)
    .map((e) => e.text)
  const shown = explained.slice(0, 6).join("; ") + (explained.length > 6 ? `; and ${explained.length - 6} more` : "")
  const detail =
    `ledger differs (paper vs backtest): ${differs.join(", ")}. ` +
    (explained.length === 0 ? "No fill, order end or reconciliation explains it (a different starting account?)" : `Because: ${shown}`)
  return { bar_time: barTime, cause, detail, ...(fills.length === 0 ? {} : { fills: fills.slice(0, MAX_FILLS_LISTED) }) }
}

/**
 * Compares a paper session's journal with a backtest journal of the same period, on the bars the
 * paper session decided on: decision by decision (bar time), fill by fill (client order id, the
 * same in both for the same decision), the two equity curves, and a cause for every bar whose
 * orders differ.
 */
export const compareJournals = (paper: ReadonlyArray<JournalRecord>, backtest: ReadonlyArray<JournalRecord>, options: CompareOptions = {}): SessionComparison => {
  const p = indexSide(paper)
  const b = indexSide(backtest)
  const start = [...paper, ...backtest].find((r): r is RecordOf<"session_start"> => r.type === "session_start")
  const tickers = start?.tickers ?? []
  const interval = start?.interval as Interval | undefined
  const perYear = options.periodsPerYear ?? (interval !== undefined && interval in intervalMillis ? periodsPerYear(intervalMillis[interval]) : 252)

  const common = [...p.decisions.keys()].filter((t) => b.decisions.has(t)).sort()
  const commonSet = new Set(common)
  const layoutFor = (d: DecisionRecord) => (start === undefined ? undefined : findLayout(tickers.length, start.indicators.length, d.observation.length))
  const ledgerOf = (d: DecisionRecord): LedgerView | undefined => {
    if (d.state !== undefined) {
      return { cash: d.state.cash, holdings: d.state.holdings, prices: d.state.prices, reservedCash: d.state.reserved_cash, reservedShares: d.state.reserved_shares }
    }
    return layoutFor(d)?.decode(d.observation).view
  }

  /** Which tickers' visible news differed between two decisions of the same bar, or undefined when none did. */
  const newsDiffers = (dp: DecisionRecord, db: DecisionRecord): string | undefined => {
    if (dp.news === undefined && db.news === undefined) return undefined
    const keys = (d: DecisionRecord) => new Map((d.news ?? []).map((n) => [n.ticker, new Set(n.items.map((i) => `${i.id}@${i.updated_at}`))]))
    const kp = keys(dp)
    const kb = keys(db)
    const lines: Array<string> = []
    for (const ticker of new Set([...kp.keys(), ...kb.keys()])) {
      const a = kp.get(ticker) ?? new Set<string>()
      const b = kb.get(ticker) ?? new Set<string>()
      const onlyPaper = [...a].filter((k) => !b.has(k))
      const onlyBacktest = [...b].filter((k) => !a.has(k))
      if (onlyPaper.length + onlyBacktest.length === 0) continue
      const list = (ks: Array<string>) => ks.slice(0, 5).join(", ") + (ks.length > 5 ? ` and ${ks.length - 5} more` : "")
      lines.push(`${ticker}: ${onlyPaper.length === 0 ? "" : `paper only ${list(onlyPaper)}`}${onlyPaper.length > 0 && onlyBacktest.length > 0 ? "; " : ""}${onlyBacktest.length === 0 ? "" : `backtest only ${list(onlyBacktest)}`}`)
    }
    return lines.length === 0 ? undefined : `the news seen differed (article id@version): ${lines.join(" | ")}`
  }

  const classify = (barTime: string): Divergence => {
    const { record: dp, at: ap } = p.decisions.get(barTime)!
    const { record: db, at: ab } = b.decisions.get(barTime)!
    const lp = ledgerOf(dp)
    const lb = ledgerOf(db)
    const name = (i: number) => tickers[i] ?? `#${i}`
    const result = (cause: DivergenceCause, detail: string): Divergence => ({ bar_time: barTime, cause, detail })

    if (lp !== undefined && lb !== undefined && !nearAll(lp.prices, lb.prices)) {
      const which = lp.prices.flatMap((x, i) => (near(x, lb.prices[i] ?? NaN) ? [] : [`${name(i)} ${num(x)} vs ${num(lb.prices[i])}`]))
      return result("data", `closes differ (paper vs backtest): ${which.join(", ")}`)
    }
    const dataHolds = (d: DecisionRecord) => new Map((d.holds ?? []).filter((h) => isDataHold(h.reason)).map((h) => [h.ticker, h.reason]))
    const hp = dataHolds(dp)
    const hb = dataHolds(db)
    const heldOnOneSide = [...[...hp].filter(([t]) => !hb.has(t)).map(([t, r]) => `${t} held on paper only (${r})`), ...[...hb].filter(([t]) => !hp.has(t)).map(([t, r]) => `${t} held in the backtest only (${r})`)]
    if (heldOnOneSide.length > 0) return result("data", heldOnOneSide.join("; "))
    const outageOf = (d: DecisionRecord) => (d.holds ?? []).find((h) => isOutageHold(h.reason))
    const out = outageOf(dp) ?? outageOf(db)
    if (out !== undefined && (outageOf(dp) === undefined) !== (outageOf(db) === undefined)) {
      return result("outage", `${outageOf(dp) !== undefined ? "paper" : "backtest"} held every ticker: ${out.reason}`)
    }

    const ruleDifference = (blocked: DecisionRecord, other: DecisionRecord, who: string, whom: string) => {
      const lines: Array<string> = []
      for (const cut of blocked.risk ?? []) {
        if (!MODE_RULES.has(cut.rule) || cut.allowed > 0) continue
        // an open circuit breaker stops every order, the loss limit and the closing window every buy
        const sent = other.orders.find((o) => cut.rule === "circuit_breaker_open" || o.side === "buy")
        if (sent !== undefined && !(other.risk ?? []).some((c) => c.rule === cut.rule)) lines.push(`${cut.rule} blocked ${cut.side} ${cut.requested} ${cut.ticker} in the ${who}; the ${whom} sent ${sent.side} ${sent.qty} ${sent.ticker}`)
      }
      for (const hold of blocked.holds ?? []) {
        if (isDataHold(hold.reason)) continue
        const sent = other.orders.find((o) => o.ticker === hold.ticker)
        if (sent !== undefined && !(other.holds ?? []).some((h) => h.ticker === hold.ticker && h.reason === hold.reason)) lines.push(`${hold.ticker} held in the ${who} (${hold.reason}); the ${whom} sent ${sent.side} ${sent.qty} ${sent.ticker}`)
      }
      return lines
    }
    const rules = [...ruleDifference(dp, db, "paper", "backtest"), ...ruleDifference(db, dp, "backtest", "paper")]
    if (rules.length > 0) return result("rule", rules.join("; "))

    const ledgerDiffers =
      lp !== undefined &&
      lb !== undefined &&
      (!near(lp.cash, lb.cash) ||
        !nearAll(lp.holdings, lb.holdings) ||
        (lp.reservedCash !== undefined && lb.reservedCash !== undefined && !near(lp.reservedCash, lb.reservedCash)) ||
        (lp.reservedShares !== undefined && lb.reservedShares !== undefined && !nearAll(lp.reservedShares, lb.reservedShares)))
    const point = (at: number, d: DecisionRecord): DecisionPoint => ({ at, time: Date.parse(d.time), ledger: d.state !== undefined })
    if (ledgerDiffers) return explainLedger(barTime, p, b, { paper: point(ap, dp), backtest: point(ab, db) }, lp, lb, tickers)

    const newsDifference = newsDiffers(dp, db)
    if (newsDifference !== undefined && !sameNumbers(dp.observation, db.observation)) return result("news", newsDifference)
    if (!sameNumbers(dp.observation, db.observation)) {
      const differing = dp.observation.flatMap((x, i) => (x === db.observation[i] ? [] : [i]))
      const largest = differing.reduce((best, i) => {
        const d = Math.abs((dp.observation[i] ?? NaN) - (db.observation[i] ?? NaN))
        return d > best.d ? { i, d } : best
      }, { i: -1, d: 0 })
      const where = `${differing.length} of ${dp.observation.length} observation entries differ (largest |Δ| ${num(largest.d)} at index ${largest.i})`
      // with the ledger and closes equal, what is left of the observation is the indicators'
      return lp !== undefined && lb !== undefined && dp.observation.length === db.observation.length
        ? result("indicators", `same closes and ledger; ${where}: a different warm-up history, or an earlier bar that differed`)
        : result("unexplained", `${where}, and the observation layout is unknown (no session_start, or an unknown size)`)
    }
    if (!sameNumbers(dp.action, db.action)) {
      const diffs = dp.action.map((a, i) => Math.abs((a ?? NaN) - (db.action[i] ?? NaN)))
      const worst = diffs.reduce((w, d, i) => (d > diffs[w] ? i : w), 0)
      return result("policy", `same observation, different action: largest difference ${num(diffs[worst])} (${name(worst)}: ${num(dp.action[worst])} vs ${num(db.action[worst])})`)
    }
    const cuts = (d: DecisionRecord) => (d.risk ?? []).map((c) => `${c.rule} cut ${c.side} ${c.ticker} ${c.requested}→${c.allowed}`).sort()
    if (cuts(dp).join() !== cuts(db).join()) return result("rule", `same observation and action, different risk cuts: paper [${cuts(dp).join("; ")}], backtest [${cuts(db).join("; ")}]`)
    return result("unexplained", `same observation, action and ledger; paper sent ${ordersText(dp.orders)}, backtest ${ordersText(db.orders)}`)
  }

  let identical = 0
  let diffSum = 0
  let diffMax = 0
  let first: SessionComparison["first_difference"]
  const divergences: Array<Divergence> = []
  for (const t of common) {
    const pd = p.decisions.get(t)!.record
    const bd = b.decisions.get(t)!.record
    const same = pd.orders.map(orderKey).sort().join() === bd.orders.map(orderKey).sort().join()
    if (same) identical++
    else {
      first ??= { bar_time: t, paper: pd.orders, backtest: bd.orders }
      divergences.push(classify(t))
    }
    const diff = Math.max(0, ...pd.action.map((a, i) => Math.abs((a ?? NaN) - (bd.action[i] ?? NaN))).filter(Number.isFinite))
    diffSum += diff
    diffMax = Math.max(diffMax, diff)
  }

  // fills of the orders the common decisions sent
  const commonIds = (side: Side) => new Set(common.flatMap((t) => side.decisions.get(t)!.record.orders.map((o) => o.client_order_id)))
  const pIds = commonIds(p)
  const bIds = commonIds(b)
  const filled = (side: Side, id: string) => {
    const fills = side.fills.get(id) ?? []
    const qty = fills.reduce((s, f) => s + f.qty, 0)
    return { qty, notional: fills.reduce((s, f) => s + f.qty * f.price, 0) }
  }
  const bps: Array<number> = []
  for (const id of pIds) {
    if (!bIds.has(id)) continue
    const f = filled(p, id)
    const g = filled(b, id)
    if (f.qty === 0 || g.qty === 0) continue
    const diff = (f.notional / f.qty / (g.notional / g.qty) - 1) * 10_000
    if (!Number.isFinite(diff)) continue
    bps.push(p.orders.get(id)!.line.side === "sell" ? -diff : diff)
  }

  const equity = (() => {
    const withPortfolio = common.filter((t) => p.portfolios.has(t) && b.portfolios.has(t))
    if (p.portfolios.size > 0 && b.portfolios.size > 0 && withPortfolio.length > 0) {
      return {
        source: "portfolio" as const,
        paper: withPortfolio.map((t) => p.portfolios.get(t)!.equity),
        backtest: withPortfolio.map((t) => b.portfolios.get(t)!.equity)
      }
    }
    // journals before `portfolio` records: the equity each decision saw
    const value = (l: LedgerView | undefined) => (l === undefined ? NaN : l.cash + l.prices.reduce((s, c, i) => s + c * (l.holdings[i] ?? NaN), 0))
    const pe = common.map((t) => value(ledgerOf(p.decisions.get(t)!.record)))
    const be = common.map((t) => value(ledgerOf(b.decisions.get(t)!.record)))
    return common.length > 0 && [...pe, ...be].every(Number.isFinite) ? { source: "observation" as const, paper: pe, backtest: be } : undefined
  })()

  return {
    decisions: { paper: p.decisions.size, backtest: common.length, common: common.length },
    bars: {
      paper_only: [...p.decisions.keys()].filter((t) => !b.decisions.has(t)).sort(),
      backtest_only: [...b.decisions.keys()].filter((t) => !p.decisions.has(t)).sort()
    },
    identical_orders: identical,
    identical_orders_pct: common.length === 0 ? 0 : (100 * identical) / common.length,
    action_diff: { max: diffMax, mean: common.length === 0 ? 0 : diffSum / common.length },
    matched_fills: bps.length,
    fill_price_diff_bps: {
      mean: bps.length === 0 ? 0 : bps.reduce((s, x) => s + x, 0) / bps.length,
      max_abs: Math.max(0, ...bps.map(Math.abs))
    },
    paper_only_orders: [...pIds].filter((id) => !bIds.has(id)).length,
    backtest_only_orders: [...bIds].filter((id) => !pIds.has(id)).length,
    ...(first === undefined ? {} : { first_difference: first }),
    ...(equity === undefined
      ? {}
      : { equity: { ...reconcileEquity(equity.paper, equity.backtest, perYear), source: equity.source, points: equity.paper.length } }),
    divergences,
    unexplained: divergences.filter((d) => d.cause === "unexplained").length
  }
}
