/** A journal record as read back (see README, "The journal"). */
type Rec = { readonly type: string; readonly [k: string]: unknown }

interface OrderLine {
  readonly ticker: string
  readonly side: string
  readonly qty: number
  readonly client_order_id: string
}

export interface SessionComparison {
  readonly decisions: { readonly paper: number; readonly backtest: number; readonly common: number }
  /** Common decisions whose orders (ticker, side, qty) are the same. */
  readonly identical_orders: number
  readonly identical_orders_pct: number
  /** Largest and mean absolute difference between the two actions of a common decision. */
  readonly action_diff: { readonly max: number; readonly mean: number }
  /** Fills of the same client order id in both. */
  readonly matched_fills: number
  /** Paper fill price against the backtest's, in basis points, signed so that positive costs the account. */
  readonly fill_price_diff_bps: { readonly mean: number; readonly max_abs: number }
  readonly paper_only_orders: number
  readonly backtest_only_orders: number
  /** The first common bar where the orders differ, with both sides, for a reader to start from. */
  readonly first_difference?: { readonly bar_time: string; readonly paper: ReadonlyArray<OrderLine>; readonly backtest: ReadonlyArray<OrderLine> } | undefined
}

const ordersOf = (d: Rec) => (d.orders as ReadonlyArray<OrderLine> | undefined) ?? []
const key = (o: OrderLine) => `${o.ticker}/${o.side}/${o.qty}`

/**
 * Compares a paper session's journal with a backtest journal of the same bars: decision by
 * decision (bar time), and fill by fill (client order id, the same in both for the same decision).
 */
export const compareJournals = (paper: ReadonlyArray<Rec>, backtest: ReadonlyArray<Rec>): SessionComparison => {
  const byBar = (records: ReadonlyArray<Rec>) => new Map(records.filter((r) => r.type === "decision").map((d) => [String(d.bar_time), d]))
  const p = byBar(paper)
  const b = byBar(backtest)
  const common = [...p.keys()].filter((t) => b.has(t)).sort()
  let identical = 0
  let diffSum = 0
  let diffMax = 0
  let first: SessionComparison["first_difference"]
  for (const t of common) {
    const pd = p.get(t)!
    const bd = b.get(t)!
    const same = ordersOf(pd).map(key).sort().join() === ordersOf(bd).map(key).sort().join()
    if (same) identical++
    else first ??= { bar_time: t, paper: ordersOf(pd), backtest: ordersOf(bd) }
    const pa = (pd.action as ReadonlyArray<number>) ?? []
    const ba = (bd.action as ReadonlyArray<number>) ?? []
    const diff = Math.max(0, ...pa.map((a, i) => Math.abs(a - (ba[i] ?? NaN))).filter(Number.isFinite))
    diffSum += diff
    diffMax = Math.max(diffMax, diff)
  }
  const fills = (records: ReadonlyArray<Rec>) => {
    const out = new Map<string, { qty: number; notional: number; side: string }>()
    for (const r of records) {
      if (r.type !== "fill" && r.type !== "partial_fill") continue
      const id = String(r.client_order_id)
      const f = out.get(id) ?? { qty: 0, notional: 0, side: String(r.side) }
      f.qty += Number(r.qty)
      f.notional += Number(r.qty) * Number(r.price)
      out.set(id, f)
    }
    return out
  }
  const pf = fills(paper)
  const bf = fills(backtest)
  const bps: Array<number> = []
  for (const [id, f] of pf) {
    const g = bf.get(id)
    if (g === undefined || f.qty === 0 || g.qty === 0) continue
    const diff = (f.notional / f.qty / (g.notional / g.qty) - 1) * 10_000
    bps.push(f.side === "sell" ? -diff : diff)
  }
  const ids = (records: ReadonlyArray<Rec>, bars: ReadonlySet<string>) =>
    new Set(records.filter((r) => r.type === "decision" && bars.has(String(r.bar_time))).flatMap((d) => ordersOf(d).map((o) => o.client_order_id)))
  const commonSet = new Set(common)
  const pIds = ids(paper, commonSet)
  const bIds = ids(backtest, commonSet)
  return {
    decisions: { paper: p.size, backtest: b.size, common: common.length },
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
    ...(first === undefined ? {} : { first_difference: first })
  }
}
