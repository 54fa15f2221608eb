import { describe, expect, it } from "vitest"
import { compareJournals } from "../../src/core/compare.js"
import { MINIMUM_SAMPLE, sharpeRatio } from "../../src/core/metrics.js"
import { buildReportData, computeMetrics, type Metric, type MetricKey, reportJson } from "../../src/core/report-data.js"
import type { JournalRecord, OrderLine } from "../../src/domain/Journal.js"

type Positions = Record<string, number>
type Prices = Record<string, number>

const start = (tickers: ReadonlyArray<string>, interval: string, mode = "backtest"): JournalRecord => ({
  type: "session_start",
  time: "2026-01-02T14:30:00.000Z",
  journal_version: 2,
  deployment: "t",
  model: { name: "m", version: "1", sha256: "a".repeat(64) },
  tickers,
  indicators: ["macd"],
  interval,
  mode
})

const portfolio = (bar: string, cash: number, positions: Positions, prices: Prices): JournalRecord => ({
  type: "portfolio",
  time: bar,
  bar_time: bar,
  cash,
  equity: cash + Object.entries(positions).reduce((s, [t, q]) => s + q * prices[t], 0),
  positions,
  prices,
  open_orders: []
})

const decision = (
  bar: string,
  tickers: ReadonlyArray<string>,
  prices: Prices,
  orders: ReadonlyArray<OrderLine> = [],
  extra: Partial<Extract<JournalRecord, { type: "decision" }>> = {}
): JournalRecord => ({
  type: "decision",
  time: bar,
  bar_time: bar,
  observation: [],
  action: tickers.map(() => 0),
  orders,
  state: { cash: 0, holdings: tickers.map(() => 0), reserved_cash: 0, reserved_shares: tickers.map(() => 0), prices: tickers.map((t) => prices[t]) },
  ...extra
})

const order = (id: string, ticker: string, side: "buy" | "sell", qty: number): OrderLine => ({ ticker, side, qty, client_order_id: id })
const fill = (time: string, id: string, ticker: string, side: "buy" | "sell", qty: number, price: number, fee: number, partial = false): JournalRecord => ({
  type: partial ? "partial_fill" : "fill",
  time,
  ticker,
  side,
  qty,
  price,
  client_order_id: id,
  ...(fee === 0 ? {} : { fee })
})

/** Daily bars start at New York midnight (05:00 UTC in winter). */
const day = (date: string) => `${date}T05:00:00.000Z`

const metric = (metrics: ReadonlyArray<Metric>, key: MetricKey) => metrics.find((m) => m.key === key)!

describe("buildReportData: equity, drawdown, returns by day and month", () => {
  // 1000 cash; buys 50 AAA at 10; AAA then closes 12, 9.8, 14.2 (the last in February)
  const bars = [day("2026-01-28"), day("2026-01-29"), day("2026-01-30"), day("2026-02-02")]
  const records: Array<JournalRecord> = [
    start(["AAA"], "1d"),
    portfolio(bars[0], 1000, {}, { AAA: 10 }),
    decision(bars[0], ["AAA"], { AAA: 10 }, [order("b1", "AAA", "buy", 50)]),
    fill("2026-01-29T14:30:00.000Z", "b1", "AAA", "buy", 50, 10, 0),
    portfolio(bars[1], 500, { AAA: 50 }, { AAA: 12 }),
    decision(bars[1], ["AAA"], { AAA: 12 }),
    portfolio(bars[2], 500, { AAA: 50 }, { AAA: 9.8 }),
    decision(bars[2], ["AAA"], { AAA: 9.8 }),
    portfolio(bars[3], 500, { AAA: 50 }, { AAA: 14.2 }),
    decision(bars[3], ["AAA"], { AAA: 14.2 })
  ]
  const data = buildReportData({ records })

  it("draws equity, buy & hold from the first decision's prices, cash and positions from the portfolio records", () => {
    expect(data.series.time).toEqual(bars)
    expect(data.series.equity).toEqual([1000, 1100, 990, 1210])
    // 1000 · price / 10
    expect(data.series.buy_and_hold.map((x) => Number(x!.toFixed(9)))).toEqual([1000, 1200, 980, 1420])
    expect(data.series.cash).toEqual([1000, 500, 500, 500])
    expect(data.series.positions.map((p) => ({ ...p, value: p.value.map((v) => Number(v.toFixed(9))) }))).toEqual([{ ticker: "AAA", shares: [0, 50, 50, 50], value: [0, 600, 490, 710] }])
    expect(data.summary.buy_and_hold_return).toBeCloseTo(0.42, 12)
  })

  it("the underwater curve is equity against its running peak", () => {
    expect(data.series.drawdown[0]).toBe(0)
    expect(data.series.drawdown[1]).toBe(0)
    expect(data.series.drawdown[2]).toBeCloseTo(990 / 1100 - 1, 12)
    expect(data.series.drawdown[3]).toBe(0)
    expect(data.summary.max_drawdown).toBeCloseTo(0.1, 12)
  })

  it("returns by New York day and by month, each against the last equity before it", () => {
    expect(data.daily_returns.map((d) => d.period)).toEqual(["2026-01-28", "2026-01-29", "2026-01-30", "2026-02-02"])
    const daily = data.daily_returns.map((d) => d.return)
    expect(daily[0]).toBe(0)
    expect(daily[1]).toBeCloseTo(0.1, 12)
    expect(daily[2]).toBeCloseTo(-0.1, 12)
    expect(daily[3]).toBeCloseTo(1210 / 990 - 1, 12)
    expect(data.monthly_returns.map((m) => [m.period, m.equity])).toEqual([["2026-01", 990], ["2026-02", 1210]])
    expect(data.monthly_returns[0].return).toBeCloseTo(-0.01, 12)
    expect(data.monthly_returns[1].return).toBeCloseTo(1210 / 990 - 1, 12)
  })

  it("states the period: bars, steps, interval, trading days", () => {
    expect(data.period).toEqual({ first_bar: bars[0], last_bar: bars[3], steps: 4, interval: "1d", periods_per_year: 252, trading_days: 4 })
    expect(data.summary).toMatchObject({ steps: 4, orders: 1, fills: 1, rejections: 0, initial_equity: 1000, final_equity: 1210 })
    expect(data.summary.total_return).toBeCloseTo(0.21, 12)
    expect(data.summary.sharpe).toBeCloseTo(sharpeRatio([1000, 1100, 990, 1210], 252), 12)
    // exposure: 3 of 4 steps start with a position
    expect(metric(data.metrics, "exposure").value).toBe(0.75)
  })

  it("falls back to the ledger each decision read when a journal has no portfolio records", () => {
    const old = records
      .filter((r) => r.type !== "portfolio")
      .map((r) =>
        r.type === "decision"
          ? { ...r, state: { ...r.state!, cash: r.bar_time === bars[0] ? 1000 : 500, holdings: [r.bar_time === bars[0] ? 0 : 50] } }
          : r
      )
    const fromDecisions = buildReportData({ records: old })
    expect(fromDecisions.series.equity).toEqual([1000, 1100, 990, 1210])
    expect(fromDecisions.notes.join(" ")).toMatch(/no portfolio records/)
  })
})

describe("buildReportData: per-ticker P&L, costs and slippage", () => {
  const t = (minutes: number) => new Date(Date.UTC(2026, 1, 17, 14, 30 + minutes)).toISOString()
  const tickers = ["AAA", "BBB"]
  // cash follows the fills exactly: buy 10 AAA @ 100.5, 20 BBB in two parts; sell 4 AAA, then (after the last step) 6 AAA
  const records: Array<JournalRecord> = [
    start(tickers, "5m"),
    portfolio(t(0), 10_000, {}, { AAA: 100, BBB: 50 }),
    decision(t(0), tickers, { AAA: 100, BBB: 50 }, [order("a1", "AAA", "buy", 10), order("b1", "BBB", "buy", 20)]),
    fill(t(5), "a1", "AAA", "buy", 10, 100.5, 1.005),
    fill(t(5), "b1", "BBB", "buy", 10, 50.2, 0.502, true),
    fill(t(6), "b1", "BBB", "buy", 10, 50.3, 0.503),
    portfolio(t(5), 7987.99, { AAA: 10, BBB: 20 }, { AAA: 102, BBB: 49 }),
    decision(t(5), tickers, { AAA: 102, BBB: 49 }, [order("a2", "AAA", "sell", 4)]),
    fill(t(10), "a2", "AAA", "sell", 4, 101.8, 0.4072),
    portfolio(t(10), 8394.7828, { AAA: 6, BBB: 20 }, { AAA: 103, BBB: 51 }),
    decision(t(10), tickers, { AAA: 103, BBB: 51 }, [order("a3", "AAA", "sell", 6)]),
    fill(t(15), "a3", "AAA", "sell", 6, 103.1, 0.6186),
    { type: "session_end", time: t(15), steps: 3, orders: 4, fills: 4, rejections: 0 }
  ]
  const data = buildReportData({ records })
  const byTicker = new Map(data.per_ticker.map((x) => [x.ticker, x]))

  it("books each ticker at average cost: realised on sales, unrealised at the last marks, fees apart", () => {
    const a = byTicker.get("AAA")!
    expect(a).toMatchObject({ fills: 3, bought: 10, sold: 10, position: 0 })
    expect(a.realized_pnl).toBeCloseTo(4 * (101.8 - 100.5) + 6 * (103.1 - 100.5), 9)
    expect(a.unrealized_pnl).toBe(0)
    expect(a.fees).toBeCloseTo(1.005 + 0.4072 + 0.6186, 12)
    expect(a.pnl).toBeCloseTo(20.8 - 2.0308, 9)
    const b = byTicker.get("BBB")!
    expect(b).toMatchObject({ fills: 2, bought: 20, sold: 0, position: 20, last_price: 51 })
    expect(b.realized_pnl).toBe(0)
    // average cost 50.25
    expect(b.unrealized_pnl).toBeCloseTo(20 * (51 - 50.25), 9)
    expect(b.pnl).toBeCloseTo(15 - 1.005, 9)
  })

  it("the tickers' P&L adds up to the equity change, fills after the last step included", () => {
    // the closing point: 6 AAA sold after the last step, marked at the last prices
    expect(data.series.equity.at(-1)).toBeCloseTo(9012.7642 + 20 * 51, 9)
    expect(data.summary.final_equity).toBeCloseTo(10_032.7642, 9)
    expect(data.pnl_check.equity_change).toBeCloseTo(32.7642, 9)
    expect(data.pnl_check.pnl).toBeCloseTo(32.7642, 9)
    expect(Math.abs(data.pnl_check.unexplained)).toBeLessThan(1e-9)
    // P&L before costs − costs = P&L: slippage is in the fill prices, fees apart
    expect(data.costs.fees).toBeCloseTo(3.0358, 12)
    expect(data.costs.slippage).toBeCloseTo(5 + 0.8 - 0.6 + 2 + 3, 9)
    expect(data.costs.total).toBeCloseTo(3.0358 + 10.2, 9)
    // the closing point is no step: the period ends at the last decided bar
    expect(data.period.last_bar).toBe(t(10))
    expect(data.period.steps).toBe(3)
  })

  it("lists every fill with its deciding bar and slippage against the decision's price", () => {
    expect(data.trades.map((x) => [x.client_order_id, x.bar_time, x.decision_price, x.partial])).toEqual([
      ["a1", t(0), 100, false],
      ["b1", t(0), 50, true],
      ["b1", t(0), 50, false],
      ["a2", t(5), 102, false],
      ["a3", t(10), 103, false]
    ])
    const bps = data.trades.map((x) => x.slippage_bps!)
    expect(bps[0]).toBeCloseTo(50, 9) // paid 100.5 for a 100 close
    expect(bps[1]).toBeCloseTo(40, 9)
    expect(bps[2]).toBeCloseTo(60, 9)
    expect(bps[3]).toBeCloseTo(-(101.8 / 102 - 1) * 10_000, 9) // sold below the close: a cost
    expect(bps[3]).toBeGreaterThan(0)
    expect(bps[4]).toBeCloseTo(-(103.1 / 103 - 1) * 10_000, 9) // sold above it: an improvement
    expect(bps[4]).toBeLessThan(0)
    expect(data.trades.map((x) => Number(x.slippage!.toFixed(9)))).toEqual([5, 2, 3, 0.8, -0.6])
    expect(data.trades.map((x) => x.fee)).toEqual([1.005, 0.502, 0.503, 0.4072, 0.6186])
  })

  it("counts a round trip from flat back to flat, after fees", () => {
    expect(data.round_trips).toBe(1)
    expect(metric(data.metrics, "round_trip_win_rate")).toMatchObject({ value: 1, meaningful: false })
  })

  it("reports what fills do not explain: a reconciliation that adopted the broker's cash", () => {
    const adopted = records.map((r) => (r.type === "portfolio" && r.bar_time === t(10) ? { ...r, cash: r.cash + 100, equity: r.equity + 100 } : r))
    const withReconcile = buildReportData({ records: adopted })
    expect(withReconcile.pnl_check.unexplained).toBeCloseTo(100, 9)
    expect(withReconcile.pnl_check.pnl).toBeCloseTo(data.pnl_check.pnl, 9)
  })

  it("an account that starts with positions values them at the first marks", () => {
    const held = [start(tickers, "5m"), portfolio(t(0), 0, { AAA: 10 }, { AAA: 100, BBB: 50 }), portfolio(t(5), 0, { AAA: 10 }, { AAA: 110, BBB: 50 })]
    const d = buildReportData({ records: held })
    expect(d.per_ticker.find((x) => x.ticker === "AAA")!.unrealized_pnl).toBeCloseTo(100, 9)
    expect(d.pnl_check.unexplained).toBeCloseTo(0, 9)
  })
})

describe("metrics and their minimum samples", () => {
  /** An equity curve whose per-step returns alternate +2 % / −1 %, `n` returns. */
  const curve = (n: number) => {
    const equity = [100_000]
    for (let i = 0; i < n; i++) equity.push(equity[i] * (i % 2 === 0 ? 1.02 : 0.99))
    return equity
  }
  const sample = (n: number, tradingDays: number, roundTrips: ReadonlyArray<number> = []) =>
    computeMetrics({ equity: curve(n), tradingDays, roundTrips, exposure: 1, turnover: 1, periodsPerYear: 252 })

  it("marks Sharpe, Sortino and volatility not meaningful below 30 returns, and meaningful from 30", () => {
    const below = sample(MINIMUM_SAMPLE.returns - 1, 100)
    const at = sample(MINIMUM_SAMPLE.returns, 100)
    for (const key of ["sharpe", "sortino", "annualized_volatility", "win_rate"] as const) {
      expect(metric(below, key).meaningful, key).toBe(false)
      expect(metric(below, key).why, key).toMatch(/29 .*returns \(needs ≥ 30\)/)
      expect(metric(at, key).meaningful, key).toBe(true)
      expect(metric(at, key).why, key).toBeUndefined()
    }
    // the value is still shown: the flag says how far to trust it
    expect(metric(below, "sharpe").value).toBeCloseTo(sharpeRatio(curve(29), 252), 12)
  })

  it("marks every annualised figure not meaningful over fewer than 5 trading days", () => {
    const short = sample(100, MINIMUM_SAMPLE.tradingDays - 1)
    const week = sample(100, MINIMUM_SAMPLE.tradingDays)
    for (const key of ["cagr", "annualized_volatility", "sharpe", "sortino", "calmar"] as const) {
      expect(metric(short, key).meaningful, key).toBe(false)
      expect(metric(short, key).why, key).toMatch(/annualised over 4 trading days \(needs ≥ 5\)/)
      expect(metric(week, key).meaningful, key).toBe(true)
    }
    // facts about the period need no minimum beyond a step
    for (const key of ["total_return", "max_drawdown", "exposure", "turnover"] as const) expect(metric(short, key).meaningful, key).toBe(true)
  })

  it("Sortino needs 5 negative returns; Calmar a drawdown; round trips 10", () => {
    // 40 returns, 4 of them losses
    const returns = Array.from({ length: 40 }, (_, i) => (i % 10 === 0 ? -0.005 : 0.01))
    const fewLosses = computeMetrics({
      equity: returns.reduce((e, r) => [...e, e[e.length - 1] * (1 + r)], [100]),
      tradingDays: 20,
      roundTrips: [],
      exposure: 1,
      turnover: 0,
      periodsPerYear: 252
    })
    expect(metric(fewLosses, "sortino")).toMatchObject({ meaningful: false })
    expect(metric(fewLosses, "sortino").why).toMatch(/negative per-step returns \(needs ≥ 5\)/)
    const rising = computeMetrics({ equity: Array.from({ length: 40 }, (_, i) => 100 + i), tradingDays: 20, roundTrips: [], exposure: 1, turnover: 0, periodsPerYear: 252 })
    expect(metric(rising, "calmar")).toMatchObject({ value: null, meaningful: false, why: "no drawdown" })
    expect(metric(rising, "sharpe").meaningful).toBe(true)
    expect(metric(sample(40, 20, [1, -1, 2, 3, -4, 5, 6, 7, 8]), "round_trip_win_rate")).toMatchObject({ meaningful: false })
    expect(metric(sample(40, 20, [1, -1, 2, 3, -4, 5, 6, 7, 8, 9]), "round_trip_win_rate")).toMatchObject({ value: 0.8, meaningful: true })
  })

  it("computes CAGR, Calmar and Sortino by their definitions", () => {
    const m = sample(40, 20)
    const equity = curve(40)
    const growth = (equity[40] / equity[0]) ** (252 / 40) - 1
    expect(metric(m, "cagr").value).toBeCloseTo(growth, 9)
    // the largest fall is one −1 % step
    expect(metric(m, "max_drawdown").value).toBeCloseTo(0.01, 12)
    expect(metric(m, "calmar").value).toBeCloseTo(growth / 0.01, 6)
    // returns: 20 × 0.02, 20 × −0.01 → mean 0.005, downside √(20 · 0.0001 / 40)
    expect(metric(m, "sortino").value).toBeCloseTo((0.005 / Math.sqrt(0.00005)) * Math.sqrt(252), 9)
    expect(metric(m, "win_rate").value).toBe(0.5)
  })

  it("from a journal: 30 daily steps are too few for Sharpe, 31 (30 returns over 31 days) are enough", () => {
    const journalOf = (days: number): Array<JournalRecord> => {
      const records: Array<JournalRecord> = [start(["AAA"], "1d")]
      const equity = curve(days - 1)
      for (let i = 0; i < days; i++) {
        const bar = new Date(Date.UTC(2026, 0, 5 + i, 5)).toISOString()
        records.push(portfolio(bar, equity[i], {}, { AAA: 10 }), decision(bar, ["AAA"], { AAA: 10 }))
      }
      return records
    }
    const thirty = buildReportData({ records: journalOf(30) })
    expect(metric(thirty.metrics, "sharpe")).toMatchObject({ meaningful: false, why: "29 per-step returns (needs ≥ 30)" })
    const enough = buildReportData({ records: journalOf(31) })
    expect(enough.period.trading_days).toBe(31)
    expect(metric(enough.metrics, "sharpe").meaningful).toBe(true)
    expect(reportJson(enough).metrics.sharpe).toEqual({ value: metric(enough.metrics, "sharpe").value, meaningful: true })
    expect(reportJson(thirty).metrics.sharpe).toMatchObject({ meaningful: false, why: "29 per-step returns (needs ≥ 30)" })
  })
})

describe("buildReportData: risk events, holds and risk cuts", () => {
  const tickers = ["AAA", "BBB"]
  const t = (minutes: number) => new Date(Date.UTC(2026, 1, 17, 14, 30 + minutes)).toISOString()
  const prices = { AAA: 10, BBB: 20 }
  const records: Array<JournalRecord> = [
    start(tickers, "5m", "trade"),
    portfolio(t(0), 1000, {}, prices),
    decision(t(0), tickers, prices, [], {
      holds: [{ ticker: "BBB", reason: "no bar for this step" }],
      risk: [{ ticker: "AAA", side: "buy", requested: 50, allowed: 20, rule: "max_position_value" }]
    }),
    { type: "rejection", time: t(1), ticker: "AAA", side: "buy", qty: 20, client_order_id: "x", reason: "insufficient buying power" },
    { type: "circuit_open", time: t(2), rejections: 3, untilStep: 9 },
    { type: "kill_switch", time: t(3), loss: 512.5, limit: 500, dayStartEquity: 10_000 },
    { type: "outage", time: t(4), service: "broker", cause: "connect ECONNREFUSED" },
    { type: "outage_end", time: t(6), service: "broker", since: t(4), seconds: 120 },
    {
      type: "drift",
      time: t(5),
      bar_time: t(5),
      features: [
        { feature: "macd[AAA]", index: 7, value: 9.5, min: -1, max: 1, reason: "out_of_range" },
        { feature: "rsi_30[BBB]", index: 9, value: 50, min: 0, max: 100, psi: 0.31, reason: "psi" }
      ]
    },
    portfolio(t(5), 1000, {}, prices),
    decision(t(5), tickers, prices, [], {
      holds: [
        { ticker: "AAA", reason: "no bar for this step" },
        { ticker: "BBB", reason: "no bar for this step" }
      ],
      risk: [{ ticker: "AAA", side: "buy", requested: 10, allowed: 0, rule: "circuit_breaker_open" }]
    }),
    { type: "drift_end", time: t(10), bar_time: t(10), since: t(5) },
    { type: "circuit_closed", time: t(11) }
  ]
  const data = buildReportData({ records })

  it("lists the kill switch, the circuit breaker, outages, drift and rejections in journal order", () => {
    expect(data.risk_events.map((e) => e.kind)).toEqual(["rejection", "circuit_open", "kill_switch", "outage", "outage_end", "drift", "drift_end", "circuit_closed"])
    const detail = (kind: string) => data.risk_events.find((e) => e.kind === kind)!.detail
    expect(detail("kill_switch")).toMatch(/daily loss 512\.50 reached the limit 500\.00/)
    expect(detail("circuit_open")).toMatch(/3 rejections in a row: no orders until step 9/)
    expect(detail("outage")).toMatch(/the broker stopped answering: connect ECONNREFUSED/)
    expect(detail("drift")).toMatch(/macd\[AAA\] 9\.5 outside \[-1, 1\]; rsi_30\[BBB\] PSI 0\.31/)
    expect(detail("rejection")).toMatch(/buy 20 AAA \(x\): insufficient buying power/)
    expect(data.risk_events.find((e) => e.kind === "rejection")!.ticker).toBe("AAA")
  })

  it("sums holds by reason and risk cuts by rule", () => {
    expect(data.holds).toEqual([{ reason: "no bar for this step", count: 3, tickers: ["AAA", "BBB"], first_bar: t(0), last_bar: t(5) }])
    expect(data.risk_cuts).toEqual([
      { rule: "max_position_value", count: 1, requested: 50, allowed: 20, tickers: ["AAA"] },
      { rule: "circuit_breaker_open", count: 1, requested: 10, allowed: 0, tickers: ["AAA"] }
    ])
    const counts = reportJson(data).risk_events
    expect(counts).toMatchObject({ kill_switch: 1, circuit_open: 1, circuit_closed: 1, outage: 1, drift: 1, drift_end: 1, rejection: 1, holds: 3, risk_cuts: 2, reconcile: 0 })
  })

  it("names the model from session_start, with the card's details when given", () => {
    expect(data.model).toEqual({ name: "m", version: "1", sha256: "a".repeat(64), features: ["macd"], tickers })
    const withCard = buildReportData({ records, model: { layout: "finrl-stock-trading-df", observation_size: 7, hmax: 100 } })
    expect(withCard.model).toMatchObject({ name: "m", layout: "finrl-stock-trading-df", observation_size: 7, hmax: 100 })
  })
})

describe("buildReportData: a second journal", () => {
  const tickers = ["AAA"]
  const t = (minutes: number) => new Date(Date.UTC(2026, 1, 17, 14, 30 + minutes)).toISOString()
  const session = (mode: string, secondPrice: number): Array<JournalRecord> => [
    start(tickers, "5m", mode),
    portfolio(t(0), 1000, {}, { AAA: 10 }),
    decision(t(0), tickers, { AAA: 10 }, [order("b1", "AAA", "buy", 10)]),
    fill(t(5), "b1", "AAA", "buy", 10, 10, 0),
    portfolio(t(5), 900, { AAA: 10 }, { AAA: secondPrice }),
    decision(t(5), tickers, { AAA: secondPrice }, secondPrice === 11 ? [order("s1", "AAA", "sell", 5)] : [])
  ]
  const paper = session("trade", 11)
  const backtest = session("backtest", 12)

  it("overlays the second equity curve and computes the comparison when no compare.json is given", () => {
    const data = buildReportData({ records: paper, vs: backtest })
    expect(data.comparison).not.toBeNull()
    const c = data.comparison!
    expect(c.labels).toEqual({ primary: "paper", vs: "backtest" })
    expect(c.vs.equity).toEqual([1000, 1020])
    expect(c.source).toBe("computed")
    const expected = compareJournals(paper, backtest)
    expect(c.divergences.map((d) => [d.bar_time, d.cause])).toEqual(expected.divergences.map((d) => [d.bar_time, d.cause]))
    expect(c.divergences).toHaveLength(1)
    expect(c.divergences[0].cause).toBe("data")
    expect(c.identical_orders).toBe(0.5)
  })

  it("takes divergences, correlation and DTW from compare.json, as fractions", () => {
    const data = buildReportData({
      records: paper,
      vs: backtest,
      comparison: {
        decisions: { common: 2 },
        identical_orders_pct: 50,
        divergences: [{ bar_time: t(5), cause: "fill_price", detail: "paper paid more" }],
        unexplained: 0,
        equity: { returns_correlation: 0.97, dtw_annualized: 0.12, final_diff_pct: -1.5 }
      }
    })
    expect(data.comparison).toMatchObject({
      source: "compare.json",
      identical_orders: 0.5,
      returns_correlation: 0.97,
      dtw_annualized: 0.12,
      final_equity_diff: -0.015,
      causes: { fill_price: 1 },
      divergences: [{ bar_time: t(5), cause: "fill_price", detail: "paper paid more" }]
    })
    expect(reportJson(data).comparison).toMatchObject({ divergences: 1, final_equity_diff: -0.015, identical_orders: 0.5 })
  })
})

describe("reportJson", () => {
  it("keeps every field report.json always had, with its meaning, and adds the new ones", () => {
    const records: Array<JournalRecord> = [start(["AAA"], "1d"), portfolio(day("2026-01-05"), 100, {}, { AAA: 1 }), portfolio(day("2026-01-06"), 110, {}, { AAA: 1 })]
    const json = reportJson(buildReportData({ records }))
    for (const key of ["steps", "orders", "fills", "initial_equity", "final_equity", "total_return", "sharpe", "max_drawdown", "turnover", "rejections", "buy_and_hold_return"]) {
      expect(typeof (json as Record<string, unknown>)[key], key).toBe("number")
    }
    expect(json.total_return).toBeCloseTo(0.1, 12)
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(["period", "metrics", "costs", "per_ticker", "daily_returns", "monthly_returns", "pnl_check", "risk_events"])
    )
    expect(json.daily_returns.map((d) => [d.date, Number(d.return.toFixed(12))])).toEqual([["2026-01-05", 0], ["2026-01-06", 0.1]])
    // JSON-safe: a metric that cannot be computed is null, not NaN
    expect(JSON.parse(JSON.stringify(json)).metrics.sortino.value).toBeNull()
  })
})
