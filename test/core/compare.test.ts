import { describe, expect, it } from "vitest"
import { compareJournals, type DivergenceCause } from "../../src/core/compare.js"
import type { JournalRecord } from "../../src/domain/Journal.js"

// Two tickers, one indicator: FinRL's df layout, observation = [cash, close A, close B, held A, held B, ind A, ind B].
const TICKERS = ["A", "B"]
const at = (bar: number, minutes = 0) => new Date(Date.UTC(2026, 1, 17, 14, 30 + 5 * bar + minutes)).toISOString()
const compact = (bar: number) => at(bar).replace(/[-:]/g, "").slice(0, 13) + "Z"
const id = (ticker: string, bar: number, side: "buy" | "sell") => `d-${ticker}-${compact(bar)}-${side === "buy" ? "b" : "s"}`

type OrderSpec = {
  readonly ticker: string
  readonly side: "buy" | "sell"
  readonly qty: number
  /** Fill price (default the bar's close). */
  readonly price?: number
  /** Decisions the fill is late by (default 0: journaled before the next decision). */
  readonly delay?: number
  /** Only this many fill before the next decision (a `partial_fill`); the rest two decisions later. */
  readonly partial?: number
  readonly reject?: boolean
  readonly expire?: boolean
}

interface Step {
  readonly prices?: ReadonlyArray<number>
  readonly indicators?: ReadonlyArray<number>
  readonly action?: ReadonlyArray<number>
  readonly orders?: ReadonlyArray<OrderSpec>
  readonly holds?: ReadonlyArray<{ ticker: string; reason: string }>
  readonly risk?: ReadonlyArray<{ ticker: string; side: "buy" | "sell"; requested: number; allowed: number; rule: string }>
  /** This side did not decide the bar (a paper session that fell behind). */
  readonly skip?: boolean
  /** A reconciliation before this step adopts this cash. */
  readonly reconcileCash?: number
}

/** The journal's decisions with ticker A having seen these articles (id, version). */
const withNews = (records: Array<JournalRecord>, items: ReadonlyArray<readonly [number, string]>): Array<JournalRecord> =>
  records.map((r) =>
    r.type === "decision"
      ? { ...r, news: [{ ticker: "A", items: items.map(([id, updated_at]) => ({ id, updated_at })), features: { news_count_1h: items.length } }, { ticker: "B", items: [], features: { news_count_1h: 0 } }] }
      : r
  )

/**
 * A journal as the session writes it: per step a `portfolio` record, then the `decision` (with the
 * ledger `state` it read), then the fills of its orders before the next step's records.
 */
const journal = (steps: ReadonlyArray<Step>, options: { readonly cash?: number; readonly state?: boolean; readonly portfolio?: boolean } = {}): Array<JournalRecord> => {
  const records: Array<JournalRecord> = [
    { type: "session_start", time: at(0), deployment: "d", model: { name: "m", version: "1", sha256: "x" }, tickers: TICKERS, indicators: ["macd"], interval: "5m" }
  ]
  let cash = options.cash ?? 10_000
  const holdings = [0, 0]
  const pending: Array<{ due: number; record: JournalRecord }> = []
  const release = (k: number) => {
    for (const p of pending.filter((q) => q.due <= k).sort((a, b) => a.due - b.due)) {
      pending.splice(pending.indexOf(p), 1)
      const r = p.record
      if (r.type === "fill" || r.type === "partial_fill") {
        const i = TICKERS.indexOf(r.ticker)
        const sign = r.side === "buy" ? 1 : -1
        holdings[i] += sign * r.qty
        cash -= sign * r.qty * r.price!
      }
      records.push(r)
    }
  }
  steps.forEach((s, k) => {
    release(k)
    if (s.reconcileCash !== undefined) {
      records.push({ type: "reconcile", time: at(k), differences: [{ what: "cash", ledger: cash, broker: s.reconcileCash }] })
      cash = s.reconcileCash
    }
    if (s.skip === true) return
    const prices = s.prices ?? [10, 20]
    const equity = cash + prices[0] * holdings[0] + prices[1] * holdings[1]
    if (options.portfolio !== false) {
      records.push({ type: "portfolio", time: at(k + 1), bar_time: at(k), cash, equity, positions: { A: holdings[0], B: holdings[1] }, prices: { A: prices[0], B: prices[1] }, open_orders: [] })
    }
    const orders = s.orders ?? []
    records.push({
      type: "decision",
      time: at(k + 1),
      bar_time: at(k),
      observation: [cash, ...prices, ...holdings, ...(s.indicators ?? [0.1, 0.2])],
      action: s.action ?? [0, 0],
      orders: orders.map((o) => ({ ticker: o.ticker, side: o.side, qty: o.qty, client_order_id: id(o.ticker, k, o.side) })),
      ...(s.holds === undefined ? {} : { holds: s.holds }),
      ...(s.risk === undefined ? {} : { risk: s.risk }),
      ...(options.state === false ? {} : { state: { cash, holdings: [...holdings], reserved_cash: 0, reserved_shares: [0, 0], prices } })
    })
    for (const o of orders) {
      const base = { ticker: o.ticker, side: o.side, qty: o.qty, client_order_id: id(o.ticker, k, o.side) }
      const due = k + 1 + (o.delay ?? 0)
      const time = at(due, 1)
      const price = o.price ?? prices[TICKERS.indexOf(o.ticker)]
      if (o.reject === true) pending.push({ due, record: { type: "rejection", time, ...base, reason: "insufficient buying power" } })
      else if (o.expire === true) pending.push({ due, record: { type: "expiry", time, ...base } })
      else if (o.partial !== undefined) {
        pending.push({ due, record: { type: "partial_fill", time, ...base, qty: o.partial, price } })
        pending.push({ due: due + 2, record: { type: "fill", time: at(due + 2, 1), ...base, qty: o.qty - o.partial, price } })
      } else pending.push({ due, record: { type: "fill", time, ...base, price } })
    }
  })
  release(Infinity)
  return records
}

const buy = (ticker: string, qty: number, extra: Partial<OrderSpec> = {}): OrderSpec => ({ ticker, side: "buy", qty, ...extra })
const quiet: Step = {}

/** The one divergence a pair of journals has, checked to be the only one at `bar`. */
const onlyDivergence = (paper: ReadonlyArray<JournalRecord>, backtest: ReadonlyArray<JournalRecord>, bar: number) => {
  const c = compareJournals(paper, backtest)
  expect(c.divergences.map((d) => d.bar_time)).toEqual([at(bar)])
  return c.divergences[0]
}

describe("compareJournals: the counts", () => {
  it("matches decisions by bar and fills by client order id", () => {
    const paper = journal([
      { action: [0.5, -0.2], orders: [buy("A", 5, { price: 10.1 })] },
      { action: [0.1, -0.9], orders: [{ ticker: "B", side: "sell", qty: 3, price: 19.6 }] },
      quiet
    ])
    const backtest = journal([
      { action: [0.5, -0.25], orders: [buy("A", 5, { price: 10 })] },
      { action: [0.1, -0.5], orders: [{ ticker: "B", side: "sell", qty: 2, price: 20 }] }
    ])
    const c = compareJournals(paper, backtest)
    expect(c.decisions).toEqual({ paper: 3, backtest: 2, common: 2 })
    expect(c.bars).toEqual({ paper_only: [at(2)], backtest_only: [] })
    expect(c.identical_orders).toBe(1)
    expect(c.identical_orders_pct).toBe(50)
    expect(c.action_diff.max).toBeCloseTo(0.4, 12)
    expect(c.action_diff.mean).toBeCloseTo((0.05 + 0.4) / 2, 12)
    // only bar 0's order is the same id on both sides (bar 1 sold different quantities: different orders, same id)
    expect(c.matched_fills).toBe(2)
    // buy 1 % dearer costs +100 bps; sell 2 % cheaper costs +200 bps
    expect(c.fill_price_diff_bps.mean).toBeCloseTo(150, 9)
    expect(c.fill_price_diff_bps.max_abs).toBeCloseTo(200, 9)
    expect(c.first_difference?.bar_time).toBe(at(1))
    expect(c.paper_only_orders).toBe(0)
  })

  it("counts orders only one side sent", () => {
    const c = compareJournals(journal([{ orders: [buy("A", 1)] }]), journal([{ orders: [{ ticker: "A", side: "sell", qty: 1 }] }]))
    expect(c.paper_only_orders).toBe(1)
    expect(c.backtest_only_orders).toBe(1)
    expect(c.identical_orders).toBe(0)
  })

  it("compares only the paper's bars: a bar the paper skipped is listed, not counted", () => {
    const steps = [quiet, { orders: [buy("A", 10)] }, quiet, quiet]
    const paper = journal(steps.map((s, k) => (k === 1 ? { ...s, skip: true } : s)))
    const c = compareJournals(paper, journal(steps))
    expect(c.decisions).toEqual({ paper: 3, backtest: 3, common: 3 })
    expect(c.bars.backtest_only).toEqual([at(1)])
    expect(c.identical_orders_pct).toBe(100)
    expect(c.backtest_only_orders).toBe(0)
    expect(c.matched_fills).toBe(0)
  })
})

describe("compareJournals: identical journals", () => {
  it("are 100 % identical, correlation 1, DTW 0, no divergence", () => {
    const steps: Array<Step> = [{ orders: [buy("A", 10)] }, { prices: [11, 20] }, { prices: [12, 19], orders: [buy("B", 5)] }, { prices: [11, 21] }]
    const c = compareJournals(journal(steps), journal(steps))
    expect(c.identical_orders_pct).toBe(100)
    expect(c.equity).toEqual({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0, source: "portfolio", points: 4 })
    expect(c.divergences).toEqual([])
    expect(c.unexplained).toBe(0)
  })

  it("score a flat equity curve (zero variance) as reconciled, not NaN", () => {
    const c = compareJournals(journal([quiet, quiet, quiet]), journal([quiet, quiet, quiet]))
    expect(c.equity).toEqual({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0, source: "portfolio", points: 3 })
  })

  it("without portfolio records, take the equity each decision saw", () => {
    const steps: Array<Step> = [{ orders: [buy("A", 10)] }, { prices: [11, 20] }, { prices: [12, 20] }]
    const c = compareJournals(journal(steps, { portfolio: false }), journal(steps, { portfolio: false, state: false }))
    expect(c.equity).toMatchObject({ returns_correlation: 1, dtw_annualized: 0, final_diff_pct: 0, source: "observation" })
  })
})

describe("compareJournals: equity scores", () => {
  it("follow the equity curves", () => {
    const steps: Array<Step> = [{ orders: [buy("A", 100)] }, { prices: [11, 20] }, { prices: [12, 20] }]
    const c = compareJournals(journal(steps, { cash: 10_000 }), journal(steps.map((s) => ({ ...s, prices: [10, 20] })), { cash: 10_000 }))
    // paper: 10000, 10100, 10200; backtest: flat 10000
    expect(c.equity?.returns_correlation).toBeNull()
    expect(c.equity?.final_diff_pct).toBeCloseTo(2, 12)
    expect(c.equity?.dtw_annualized).toBeGreaterThan(0)
  })
})

describe("compareJournals: the cause of every divergence", () => {
  type Case = { paper: Array<JournalRecord>; backtest: Array<JournalRecord>; bar: number; earlier?: ReadonlyArray<DivergenceCause> }
  const cases: Array<[DivergenceCause, string, () => Case]> = [
    ["data", "different closes", () => ({ paper: journal([{ prices: [10, 20], orders: [buy("A", 2)] }]), backtest: journal([{ prices: [10, 21], orders: [buy("A", 1)] }]), bar: 0 })],
    [
      "data",
      "a hold for a missing bar on one side",
      () => ({
        paper: journal([{ holds: [{ ticker: "B", reason: "no bar by the deadline (bar close + 10 s), nor over REST" }], orders: [buy("A", 1)] }]),
        backtest: journal([{ orders: [buy("A", 1), buy("B", 1)] }]),
        bar: 0
      })
    ],
    [
      "outage",
      "the broker was out on one side: every ticker held",
      () => ({
        paper: journal([
          {
            holds: [
              { ticker: "A", reason: "the broker is not answering (since 2026-01-02T15:00:00.000Z: broker account failed (HTTP 503))" },
              { ticker: "B", reason: "the broker is not answering (since 2026-01-02T15:00:00.000Z: broker account failed (HTTP 503))" }
            ]
          }
        ]),
        backtest: journal([{ orders: [buy("A", 1)] }]),
        bar: 0
      })
    ],
    [
      "rule",
      "a market-hours rule blocked on one side what the other sent",
      () => ({
        paper: journal([{ risk: [{ ticker: "A", side: "buy", requested: 3, allowed: 0, rule: "no_new_positions_before_close" }] }]),
        backtest: journal([{ orders: [buy("A", 3)] }]),
        bar: 0
      })
    ],
    [
      "rule",
      "the same observation and action, cut differently by a risk limit",
      () => ({
        paper: journal([{ action: [1, 0], orders: [buy("A", 2)], risk: [{ ticker: "A", side: "buy", requested: 10, allowed: 2, rule: "max_position_value" }] }]),
        backtest: journal([{ action: [1, 0], orders: [buy("A", 10)] }]),
        bar: 0
      })
    ],
    ["indicators", "same closes and ledger, different indicators", () => ({ paper: journal([{ indicators: [0.1, 0.3], orders: [buy("A", 1)] }]), backtest: journal([{ orders: [buy("A", 2)] }]), bar: 0 })],
    [
      "news",
      "same closes and ledger, a different article (or version) seen",
      () => ({ paper: withNews(journal([{ indicators: [0.1, 0.3], orders: [buy("A", 1)] }]), [[7, at(-3)], [8, at(-1)]]), backtest: withNews(journal([{ orders: [buy("A", 2)] }]), [[7, at(-3)]]), bar: 0 })
    ],
    [
      "indicators",
      "the same news seen, different indicators",
      () => ({ paper: withNews(journal([{ indicators: [0.1, 0.3], orders: [buy("A", 1)] }]), [[7, at(-3)]]), backtest: withNews(journal([{ orders: [buy("A", 2)] }]), [[7, at(-3)]]), bar: 0 })
    ],
    ["policy", "same observation, different action", () => ({ paper: journal([{ action: [0.2, 0], orders: [buy("A", 2)] }]), backtest: journal([{ action: [0.1, 0], orders: [buy("A", 1)] }]), bar: 0 })],
    ["unexplained", "everything the same but the orders", () => ({ paper: journal([{ orders: [buy("A", 2)] }]), backtest: journal([{ orders: [buy("A", 1)] }]), bar: 0 })],
    [
      "fill_price",
      "the same fill at another price",
      () => ({
        paper: journal([{ orders: [buy("A", 10, { price: 10.5 })] }, { orders: [buy("A", 1)] }]),
        backtest: journal([{ orders: [buy("A", 10, { price: 10 })] }, { orders: [buy("A", 2)] }]),
        bar: 1
      })
    ],
    [
      "fill_timing",
      "the fill arrived after the decision on one side",
      () => ({ paper: journal([{ orders: [buy("A", 10, { delay: 1 })] }, { orders: [buy("A", 5)] }, quiet]), backtest: journal([{ orders: [buy("A", 10)] }, quiet, quiet]), bar: 1 })
    ],
    [
      "partial_fill",
      "only part of the order had filled on one side",
      () => ({ paper: journal([{ orders: [buy("A", 10, { partial: 4 })] }, { orders: [buy("A", 6)] }, quiet, quiet]), backtest: journal([{ orders: [buy("A", 10)] }, quiet, quiet, quiet]), bar: 1 })
    ],
    [
      "rejection",
      "the order was rejected on one side only",
      () => ({ paper: journal([{ orders: [buy("A", 10, { reject: true })] }, { orders: [buy("A", 10)] }]), backtest: journal([{ orders: [buy("A", 10)] }, quiet]), bar: 1 })
    ],
    [
      "cancel",
      "the order expired unfilled on one side only",
      () => ({ paper: journal([{ orders: [buy("A", 10, { expire: true })] }, { orders: [buy("A", 10)] }]), backtest: journal([{ orders: [buy("A", 10)] }, quiet]), bar: 1 })
    ],
    [
      "skipped_bar",
      "the paper did not decide a bar the backtest traded on",
      () => ({ paper: journal([quiet, { skip: true }, { orders: [buy("A", 10)] }]), backtest: journal([quiet, { orders: [buy("A", 10)] }, quiet]), bar: 2 })
    ],
    [
      "reconcile",
      "a reconciliation adopted the broker's cash on one side",
      () => ({ paper: journal([quiet, { reconcileCash: 9_000, orders: [buy("A", 1)] }]), backtest: journal([quiet, { orders: [buy("A", 2)] }]), bar: 1 })
    ],
    [
      "state",
      "an earlier, different decision left different holdings",
      () => ({
        paper: journal([{ action: [0.2, 0], orders: [buy("A", 10)] }, { orders: [buy("B", 1)] }]),
        backtest: journal([{ action: [0.1, 0], orders: [buy("A", 5)] }, { orders: [buy("B", 2)] }]),
        bar: 1,
        earlier: ["policy"]
      })
    ],
    ["state", "a ledger difference no fill explains", () => ({ paper: journal([{ orders: [buy("A", 1)] }], { cash: 9_000 }), backtest: journal([{ orders: [buy("A", 2)] }], { cash: 10_000 }), bar: 0 })]
  ]

  it.each(cases)("%s: %s", (cause, _name, make) => {
    const { paper, backtest, bar, earlier = [] } = make()
    const c = compareJournals(paper, backtest)
    expect(c.divergences.map((d) => d.bar_time)).toEqual([...earlier.map((_, k) => at(k)), at(bar)])
    expect(c.divergences.map((d) => d.cause), c.divergences.map((d) => d.detail).join("\n")).toEqual([...earlier, cause])
    expect(c.unexplained).toBe(cause === "unexplained" ? 1 : 0)
  })

  it("names the fill whose price made the ledgers differ, with both sides", () => {
    const d = onlyDivergence(
      journal([{ orders: [buy("A", 10, { price: 10.5 })] }, { orders: [buy("A", 1)] }]),
      journal([{ orders: [buy("A", 10, { price: 10 })] }, { orders: [buy("A", 2)] }]),
      1
    )
    expect(d.fills).toEqual([{ client_order_id: id("A", 0, "buy"), kind: "fill_price", weight: 5, paper: { qty: 10, price: 10.5 }, backtest: { qty: 10, price: 10 } }])
    expect(d.detail).toContain("cash 9895 vs 9900")
    expect(d.detail).toContain(id("A", 0, "buy"))
  })

  it("names fills only one side has", () => {
    const d = onlyDivergence(journal([quiet, { skip: true }, { orders: [buy("A", 10)] }]), journal([quiet, { orders: [buy("A", 10)] }, quiet]), 2)
    expect(d.fills).toEqual([{ client_order_id: id("A", 1, "buy"), kind: "skipped_bar", weight: 200, backtest: { qty: 10, price: 10 } }])
  })

  it("prefers the fill price over state when the price is all that differs, and state when earlier orders differ too", () => {
    const paper = journal([{ orders: [buy("A", 10, { price: 10.5 })] }, { action: [0.3, 0], orders: [buy("B", 3)] }, { orders: [buy("A", 1)] }])
    const backtest = journal([{ orders: [buy("A", 10, { price: 10 })] }, { action: [0.3, 0], orders: [buy("B", 2)] }, { orders: [buy("A", 2)] }])
    expect(compareJournals(paper, backtest).divergences.map((d) => d.cause)).toEqual(["fill_price", "state"])
  })

  it("weighs the differences: a small reconciliation does not outweigh an earlier, different order", () => {
    const paper = journal([{ action: [0.2, 0], orders: [buy("A", 10)] }, { reconcileCash: 9_899, orders: [buy("B", 1)] }])
    const backtest = journal([{ action: [0.1, 0], orders: [buy("A", 5)] }, { orders: [buy("B", 2)] }])
    const c = compareJournals(paper, backtest)
    expect(c.divergences.map((d) => d.cause)).toEqual(["policy", "state"])
    expect(c.divergences[1].detail).toContain("paper reconciled")
    const heavy = journal([{ action: [0.2, 0], orders: [buy("A", 10)] }, { reconcileCash: 5_000, orders: [buy("B", 1)] }])
    expect(compareJournals(heavy, backtest).divergences.map((d) => d.cause)).toEqual(["policy", "reconcile"])
  })

  it("reads the ledger from the observation in journals without a state", () => {
    const paper = journal([{ orders: [buy("A", 10, { price: 10.5 })] }, { orders: [buy("A", 1)] }], { state: false, portfolio: false })
    const backtest = journal([{ orders: [buy("A", 10, { price: 10 })] }, { orders: [buy("A", 2)] }], { state: false, portfolio: false })
    const c = compareJournals(paper, backtest)
    expect(c.divergences.map((d) => d.cause)).toEqual(["fill_price"])
    expect(c.equity?.source).toBe("observation")
    expect(c.equity?.final_diff_pct).toBeCloseTo((9995 / 10000 - 1) * 100, 10)
  })
})
