import { createRequire } from "node:module"
import { nyDate, nyHourMinute } from "../core/nytime.js"
import { type Metric, type ReportData, reportJson } from "../core/report-data.js"
import { PAGE_SCRIPT } from "./page-script.js"

/**
 * The report as one self-contained HTML file: Apache ECharts inlined as a script, the data inlined
 * as JSON, CSS inline, no web font, and a Content-Security-Policy that allows no request at all.
 * Tables are HTML written here (every string escaped); the charts are drawn by the page's script
 * (page-script.ts) from the chart model below. Deterministic: the same data gives the same bytes.
 */

/** Where the ECharts build this page inlines lives (node_modules/echarts/dist/echarts.min.js). */
export const echartsScriptPath = (): string => createRequire(import.meta.url).resolve("echarts/dist/echarts.min.js")

export interface HtmlOptions {
  /** The text of echarts.min.js. */
  readonly echarts: string
  /** The files the report was built from, shown in its header. */
  readonly sources: ReadonlyArray<{ readonly label: string; readonly file: string }>
}

/** The chart containers, in page order: the browser test waits for each to have drawn. */
export const CHART_IDS = ["chart-equity", "chart-drawdown", "chart-daily", "chart-monthly", "chart-positions", "chart-tickers"] as const

const MAX_TRADE_ROWS = 5000
const MAX_EVENT_ROWS = 2000

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c])

/** JSON that cannot end its `<script>` element or open a comment inside it. */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")

/** A script's text that cannot close its element early (ECharts has no `</script`, but a future build might). */
const inlineScript = (code: string): string => code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--")

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x)
const money = (x: number | null | undefined) => (finite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : "n/a")
const pct = (x: number | null | undefined, digits = 2) => (finite(x) ? `${(x * 100).toFixed(digits)} %` : "n/a")
const signedPct = (x: number | null | undefined) => (finite(x) ? `${x >= 0 ? "+" : ""}${pct(x)}` : "n/a")
const ratio = (x: number | null | undefined, digits = 2) => (finite(x) ? x.toFixed(digits) : "n/a")
const qty = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4))

/** New York (market) time of an ISO time: `YYYY-MM-DD HH:MM`, the date alone for daily bars. */
const nyTime = (iso: string | null, daily = false): string => {
  if (iso === null) return "n/a"
  const ms = Date.parse(iso)
  if (!Number.isFinite(ms)) return iso
  return daily ? nyDate(ms) : `${nyDate(ms)} ${nyHourMinute(ms)}`
}

const metricValue = (m: Metric): string => (m.unit === "fraction" ? pct(m.value) : ratio(m.value))

/** What the page's script draws: every series aligned on one time axis (the union of both journals' bar times). */
export const chartModel = (data: ReportData) => {
  const daily = data.period.interval === "1d"
  const vs = data.comparison
  const times = [...new Set([...data.series.time, ...(vs?.vs.time ?? [])])].sort((a, b) => Date.parse(a) - Date.parse(b))
  const index = new Map(times.map((t, i) => [t, i]))
  const align = <T>(own: ReadonlyArray<string>, values: ReadonlyArray<T>): Array<T | null> => {
    const out = new Array<T | null>(times.length).fill(null)
    own.forEach((t, i) => (out[index.get(t)!] = values[i]))
    return out
  }
  const x = times.map((t) => nyTime(t, daily))
  const own = data.series.time
  const initial = data.series.equity[0] ?? null
  const equity = [
    { name: vs === null ? "equity" : `equity (${vs.labels.primary})`, values: align(own, data.series.equity), dashed: false },
    ...(vs === null ? [] : [{ name: `equity (${vs.labels.vs})`, values: align(vs.vs.time, vs.vs.equity), dashed: false }]),
    { name: "buy & hold (equal weight)", values: align(own, data.series.buy_and_hold), dashed: true },
    { name: "cash (holding it)", values: align(own, own.map(() => initial)), dashed: true }
  ]
  const equityAt = new Map(own.map((t, i) => [t, data.series.equity[i]]))
  const markers = (vs?.divergences ?? []).flatMap((d) => {
    const y = equityAt.get(d.bar_time)
    return y === undefined ? [] : [{ x: nyTime(d.bar_time, daily), y, cause: d.cause, detail: d.detail.length > 400 ? `${d.detail.slice(0, 400)}…` : d.detail }]
  })
  const years = [...new Set(data.monthly_returns.map((m) => m.period.slice(0, 4)))].sort()
  const bound = Math.max(0.001, ...data.monthly_returns.map((m) => Math.abs(m.return)).filter(Number.isFinite))
  return {
    x,
    equity,
    markers,
    drawdown: align(own, data.series.drawdown),
    cash: align(own, data.series.cash),
    positions: data.series.positions.map((p) => ({ name: p.ticker, values: align(own, p.value) })),
    daily: { x: data.daily_returns.map((d) => d.period), y: data.daily_returns.map((d) => d.return) },
    monthly: {
      years,
      bound,
      cells: data.monthly_returns.map((m) => [Number(m.period.slice(5, 7)) - 1, years.indexOf(m.period.slice(0, 4)), m.return] as const)
    },
    tickers: {
      x: data.per_ticker.map((t) => t.ticker),
      pnl: data.per_ticker.map((t) => t.pnl),
      fees: data.per_ticker.map((t) => t.fees),
      slippage: data.per_ticker.map((t) => t.slippage)
    }
  }
}

const table = (
  head: ReadonlyArray<string> | undefined,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  options: { readonly numeric?: ReadonlyArray<number>; readonly empty?: string } = {}
) => {
  if (rows.length === 0) return `<p class="muted">${escapeHtml(options.empty ?? "none")}</p>`
  const numeric = new Set(options.numeric ?? [])
  const cell = (tag: "td" | "th", text: string, i: number) => `<${tag}${numeric.has(i) ? ' class="num"' : ""}>${text}</${tag}>`
  return (
    (head === undefined
      ? '<table class="kv"><tbody>'
      : `<table><thead><tr>${head.map((h, i) => cell("th", escapeHtml(h), i)).join("")}</tr></thead><tbody>`) +
    rows.map((r) => `<tr>${r.map((c, i) => cell("td", c, i)).join("")}</tr>`).join("") +
    "</tbody></table>"
  )
}

const e = escapeHtml

const STYLE = `
:root { color-scheme: light; --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #ffffff; --panel: #f9fafb; --bad: #b91c1c; --good: #047857; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 2px 0; color: var(--muted); }
nav a { margin-right: 12px; color: #2563eb; text-decoration: none; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 24px 32px; }
section { margin: 20px 0; }
h2 { font-size: 16px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); }
table.kv { width: auto; min-width: 420px; }
table.kv td:first-child { color: var(--muted); padding-right: 24px; white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: var(--panel); }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 18px; font-weight: 600; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.chart { width: 100%; height: 320px; border: 1px solid var(--line); border-radius: 6px; }
#chart-equity { height: 380px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { max-height: 420px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.muted { color: var(--muted); }
.nm { color: var(--bad); font-weight: 600; white-space: nowrap; }
.ok { color: var(--good); }
.detail { max-width: 720px; word-break: break-word; }
code { font-size: 12px; word-break: break-all; }
footer { color: var(--muted); font-size: 12px; padding: 16px 24px; border-top: 1px solid var(--line); }
`

/** The report page. */
export const renderReportHtml = (data: ReportData, options: HtmlOptions): string => {
  const daily = data.period.interval === "1d"
  const metric = (key: Metric["key"]) => data.metrics.find((m) => m.key === key)!
  const vs = data.comparison
  const title = `${data.deployment ?? "journal"} — ${data.mode === "trade" ? "paper session" : data.mode ?? "run"}${vs === null ? "" : ` vs ${vs.labels.vs}`}`
  const card = (k: string, v: string, note = "") => `<div class="card"><div class="k">${e(k)}</div><div class="v">${e(v)}</div>${note === "" ? "" : `<div class="k">${e(note)}</div>`}</div>`
  const s = data.summary

  const cards = [
    card("Total return", signedPct(s.total_return), `buy & hold ${signedPct(s.buy_and_hold_return)}`),
    card("Equity", money(s.final_equity), `from ${money(s.initial_equity)}`),
    card("Max drawdown", pct(s.max_drawdown)),
    card("Sharpe", metricValue(metric("sharpe")), metric("sharpe").meaningful ? "" : `not meaningful: ${metric("sharpe").why ?? ""}`),
    card("Steps", String(data.period.steps), `${data.period.trading_days} trading day${data.period.trading_days === 1 ? "" : "s"}`),
    card("Fills", String(s.fills), `${s.orders} orders, ${s.rejections} rejected`),
    card("Costs paid", money(data.costs.total), `fees ${money(data.costs.fees)}, slippage ${money(data.costs.slippage)}`)
  ].join("")

  const comparisonBlock =
    vs === null
      ? ""
      : `<p>${e(
          `${vs.labels.primary} against ${vs.labels.vs}: returns correlation ${ratio(vs.returns_correlation, 4)}, annualised DTW ${ratio(vs.dtw_annualized, 4)}, ` +
            `final equity ${signedPct(vs.final_equity_diff)} against ${vs.labels.vs}'s; identical orders on ${pct(vs.identical_orders, 1)} of ${vs.common_decisions} common bars; ` +
            `${vs.divergences.length} divergence${vs.divergences.length === 1 ? "" : "s"} (${vs.unexplained} unexplained), marked on the chart (${vs.source === "compare.json" ? "from compare.json" : "compared here"})`
        )}</p>`

  const periodRows = [
    ["first bar", e(nyTime(data.period.first_bar, daily))],
    ["last bar", e(nyTime(data.period.last_bar, daily))],
    ["steps", String(data.period.steps)],
    ["interval", e(data.period.interval ?? "n/a")],
    ["trading days", String(data.period.trading_days)],
    ["steps per year (annualising)", String(data.period.periods_per_year)]
  ]

  const metricRows = data.metrics.map((m) => [
    e(m.label),
    metricValue(m),
    m.meaningful ? '<span class="ok">yes</span>' : `<span class="nm">not meaningful</span><br><span class="muted">${e(m.why ?? "")}</span>`,
    e(m.definition),
    e(m.minimum)
  ])

  const tickerRows = data.per_ticker.map((t) => [
    e(t.ticker),
    String(t.fills),
    qty(t.bought),
    qty(t.sold),
    qty(t.position),
    money(t.last_price),
    money(t.realized_pnl),
    money(t.unrealized_pnl),
    money(t.fees),
    money(t.slippage),
    money(t.pnl)
  ])

  const trades = data.trades.slice(0, MAX_TRADE_ROWS)
  const tradeRows = trades.map((t) => [
    e(nyTime(t.time)),
    e(nyTime(t.bar_time, daily)),
    e(t.ticker),
    e(t.side),
    qty(t.qty) + (t.partial ? " (partial)" : ""),
    money(t.price),
    money(t.decision_price),
    ratio(t.slippage_bps, 1),
    money(t.slippage),
    money(t.fee),
    `<code>${e(t.client_order_id)}</code>`
  ])

  const events = data.risk_events.slice(0, MAX_EVENT_ROWS)
  const eventRows = events.map((ev) => [e(nyTime(ev.time)), e(ev.kind.replace(/_/g, " ")), e(ev.ticker ?? ""), `<div class="detail">${e(ev.detail)}</div>`])
  const holdRows = data.holds.map((h) => [`<div class="detail">${e(h.reason)}</div>`, String(h.count), e(h.tickers.join(", ")), e(nyTime(h.first_bar, daily)), e(nyTime(h.last_bar, daily))])
  const cutRows = data.risk_cuts.map((c) => [e(c.rule), String(c.count), qty(c.requested), qty(c.allowed), e(c.tickers.join(", "))])

  const model = data.model
  const modelRows =
    model === null
      ? []
      : [
          ["name", e(model.name)],
          ["version", e(model.version)],
          ["sha256", `<code>${e(model.sha256)}</code>`],
          ["tickers", e(model.tickers.join(", "))],
          ["features", e(["cash", "close per ticker", "holdings per ticker", ...model.features.map((f) => `${f} per ticker`)].join(", "))],
          ...(model.layout === undefined ? [] : [["observation layout", e(model.layout)]]),
          ...(model.observation_size === undefined ? [] : [["observation size", String(model.observation_size)]]),
          ...(model.action_size === undefined ? [] : [["action size", String(model.action_size)]]),
          ...(model.hmax === undefined ? [] : [["hmax (shares per order)", String(model.hmax)]]),
          ...(model.normalization === undefined ? [] : [["VecNormalize statistics", model.normalization ? "yes" : "no"]]),
          ...(model.description === undefined ? [] : [["description", e(model.description)]])
        ]

  const divergenceRows = (vs?.divergences ?? []).map((d) => [e(nyTime(d.bar_time, daily)), e(d.cause), `<div class="detail">${e(d.detail)}</div>`])
  const more = (shown: number, total: number, what: string) => (total > shown ? `<p class="muted">${e(`showing the first ${shown} of ${total} ${what}`)}</p>` : "")

  const nav = [
    ["#charts", "charts"],
    ["#period", "period"],
    ["#metrics", "metrics"],
    ["#tickers", "per ticker"],
    ...(vs === null ? [] : [["#divergences", "divergences"]]),
    ["#trades", "trades"],
    ["#risk", "risk events"],
    ["#model", "model"]
  ]
    .map(([href, label]) => `<a href="${href}">${label}</a>`)
    .join("")

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`rl-paper-trader report: ${title}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(title)}</h1>
<p>${e(
    `${model === null ? "no session_start: model unknown" : `model ${model.name} ${model.version}`} · ${data.tickers.join(", ")} · ${data.period.interval ?? "?"} bars · ` +
      `${nyTime(data.period.first_bar, daily)} → ${nyTime(data.period.last_bar, daily)} New York time`
  )}</p>
<p>${options.sources.map((src) => `${e(src.label)}: <code>${e(src.file)}</code>`).join(" · ")}</p>
<nav>${nav}</nav>
</header>
<main>
<section id="summary"><div class="cards">${cards}</div>
${data.notes.map((n) => `<p class="muted">${e(n)}</p>`).join("\n")}
</section>
<section id="charts">
<h2>Equity against equal-weight buy &amp; hold and cash</h2>
${comparisonBlock}
<div class="chart" id="chart-equity"></div>
</section>
<section><h2>Underwater (drawdown from the running peak)</h2><div class="chart" id="chart-drawdown"></div></section>
<div class="grid2">
<section><h2>Daily returns</h2><div class="chart" id="chart-daily"></div></section>
<section><h2>Monthly returns</h2><div class="chart" id="chart-monthly"></div></section>
</div>
<div class="grid2">
<section><h2>Positions (market value, stacked) and cash</h2><div class="chart" id="chart-positions"></div></section>
<section><h2>P&amp;L and costs per ticker</h2><div class="chart" id="chart-tickers"></div></section>
</div>
<section id="period"><h2>Period</h2>${table(undefined, periodRows)}</section>
<section id="metrics"><h2>Metrics</h2>
<p class="muted">Fractions are shown as percentages. A metric below its minimum sample is marked not meaningful: its value is shown but says little.</p>
${table(["metric", "value", "meaningful", "definition", "minimum sample"], metricRows, { numeric: [1] })}</section>
<section id="tickers"><h2>Per ticker</h2>
${table(["ticker", "fills", "bought", "sold", "position", "last price", "realised P&L", "unrealised P&L", "fees", "slippage", "P&L after fees"], tickerRows, { numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], empty: "no ticker" })}
<p class="muted">${e(
    `Costs paid: fees ${money(data.costs.fees)} + slippage against the decisions' prices ${money(data.costs.slippage)} = ${money(data.costs.total)}. ` +
      `The tickers' P&L after fees adds up to ${money(data.pnl_check.pnl)}; equity changed by ${money(data.pnl_check.equity_change)} (unexplained ${money(data.pnl_check.unexplained)}). ` +
      `Slippage is already in the fill prices, so in the realised and unrealised P&L.`
  )}</p></section>
${
  vs === null
    ? ""
    : `<section id="divergences"><h2>Divergences (${e(vs.labels.primary)} against ${e(vs.labels.vs)})</h2>${table(["bar", "cause", "detail"], divergenceRows, { empty: "none: every common bar sent the same orders" })}</section>`
}
<section id="trades"><h2>Trades (${data.trades.length} fills)</h2>
<p class="muted">Slippage against the close the decision priced at (bps and currency, positive costs the account): the move to the fill and the broker's slippage.</p>
${more(trades.length, data.trades.length, "fills")}
<div class="scroll">${table(["fill time", "deciding bar", "ticker", "side", "qty", "price", "decision price", "slippage bps", "slippage", "fee", "client order id"], tradeRows, { numeric: [4, 5, 6, 7, 8, 9], empty: "no fill" })}</div>
</section>
<section id="risk"><h2>Risk events</h2>
<h3>Holds, by reason</h3>
${table(["reason", "ticker-steps", "tickers", "first bar", "last bar"], holdRows, { numeric: [1], empty: "no hold" })}
<h3>Risk cuts, by rule</h3>
${table(["rule", "cuts", "shares asked", "shares allowed", "tickers"], cutRows, { numeric: [1, 2, 3], empty: "no cut" })}
<h3>Events (kill switch, circuit breaker, outages, drift, rejections, …)</h3>
${more(events.length, data.risk_events.length, "events")}
<div class="scroll">${table(["time", "event", "ticker", "detail"], eventRows, { empty: "no event" })}</div>
</section>
<section id="model"><h2>Model card</h2>${table(undefined, modelRows, { empty: "the journal has no session_start" })}</section>
</main>
<footer>Times are New York (market) time. Units: fractions shown as percentages, money in the account's currency. Charts by Apache ECharts <span id="echarts-version"></span>, inlined: this file makes no network request.</footer>
<script type="application/json" id="report-json">${scriptJson(reportJson(data))}</script>
<script type="application/json" id="report-charts">${scriptJson(chartModel(data))}</script>
<script>${inlineScript(options.echarts)}</script>
<script>${inlineScript(PAGE_SCRIPT)}</script>
</body>
</html>
`
}
