/**
 * Trading API routes (Alpaca's paper host): account, clock (v2 and v3),
 * calendar (v2 and v3), assets, positions and orders.
 */
import type { ApiResult, Order } from "./broker.js"
import type { Engine } from "./engine.js"
import { parseNumeric, parseTime } from "./format.js"
import type { Session } from "./market.js"
import type { HttpRequest, HttpResponse } from "./middleware.js"
import { formatNy, formatUtc, nyDate, nyHourMinute } from "../core/nytime.js"
import type { Route } from "./server.js"

const json = (body: unknown, status = 200): HttpResponse => ({ status, body })
const error = (status: number, code: number, message: string): HttpResponse => ({ status, body: { code, message } })
const fromResult = <A>(r: ApiResult<A>, ok: (a: A) => HttpResponse): HttpResponse =>
  r.ok ? ok(r.value) : { status: r.status, body: r.body }

const MARKETS: Record<string, { acronym: string; mic: string; name: string }> = {
  NYSE: { acronym: "NYSE", mic: "XNYS", name: "New York Stock Exchange" },
  XNYS: { acronym: "NYSE", mic: "XNYS", name: "New York Stock Exchange" },
  NASDAQ: { acronym: "NASDAQ", mic: "XNAS", name: "Nasdaq Stock Market" },
  XNAS: { acronym: "NASDAQ", mic: "XNAS", name: "Nasdaq Stock Market" }
}

const marketInfo = (acronym: string): Record<string, unknown> => {
  const m = MARKETS[acronym.toUpperCase()]
  return m === undefined
    ? { acronym: acronym.toUpperCase(), name: acronym.toUpperCase(), timezone: "America/New_York" }
    : { ...m, timezone: "America/New_York" }
}

const OPEN: ReadonlySet<string> = new Set(["new", "partially_filled"])

export const tradingRoutes = (engine: Engine): Route[] => {
  const market = engine.market
  const broker = engine.broker

  const orderResponse = (o: Order, status = 200): HttpResponse => json(broker.orderJson(o), status)

  /**
   * Answers with the order as accepted, then processes what is due at once: a market order whose
   * bar is in progress fills on arrival, at its submission time, not at the next sync.
   */
  const accepted = (result: ApiResult<Order>): HttpResponse => {
    const response = fromResult(result, (o) => orderResponse(o))
    engine.sync()
    return response
  }

  // ------------------------------------------------------------------ account

  const account = (): HttpResponse => {
    const now = engine.marketNow()
    const last = engine.lastEquity(now)
    return json(broker.accountJson(now, last.equity, last.asOf))
  }

  // -------------------------------------------------------- clock & calendar

  const clockV2 = (): HttpResponse => {
    const now = engine.marketNow()
    const { nextOpen, nextClose } = market.nextOpenClose(now)
    return json({
      timestamp: formatNy(now),
      is_open: market.isOpen(now),
      next_open: formatNy(nextOpen),
      next_close: formatNy(nextClose)
    })
  }

  const clockV3 = (req: HttpRequest): HttpResponse => {
    const raw = req.query.get("time")
    let at = engine.marketNow()
    if (raw !== null) {
      const t = parseTime(raw)
      if (t === undefined) return error(400, 40010001, `invalid time: ${raw}`)
      at = t
    }
    const markets = (req.query.get("markets") ?? "NYSE")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
    const open = market.isOpen(at)
    const { nextOpen, nextClose } = market.nextOpenClose(at)
    const clocks = markets.map((m) => ({
      market: marketInfo(m),
      timestamp: formatNy(at),
      is_market_day: market.sessionOn(nyDate(at)) !== undefined,
      next_market_open: formatNy(nextOpen),
      next_market_close: formatNy(nextClose),
      phase: open ? "core" : "closed",
      phase_until: formatNy(open ? nextClose : nextOpen)
    }))
    return json({ clocks })
  }

  /** Sessions whose date is within [start, end] (dates as `YYYY-MM-DD`, taken from the first 10 chars). */
  const sessionsBetween = (req: HttpRequest): Session[] | HttpResponse => {
    const dateParam = (name: string): string | undefined | HttpResponse => {
      const raw = req.query.get(name)
      if (raw === null || raw === "") return undefined
      const date = raw.slice(0, 10)
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return error(400, 40010001, `invalid ${name}: ${raw}`)
      return date
    }
    const start = dateParam("start")
    if (typeof start === "object") return start
    const end = dateParam("end")
    if (typeof end === "object") return end
    return market.sessions.filter((s) => (start === undefined || s.date >= start) && (end === undefined || s.date <= end))
  }

  const calendarV2 = (req: HttpRequest): HttpResponse => {
    const sessions = sessionsBetween(req)
    if (!Array.isArray(sessions)) return sessions
    return json(
      sessions.map((s) => ({
        date: s.date,
        open: nyHourMinute(s.open),
        close: nyHourMinute(s.close),
        session_open: "0400",
        session_close: "2000",
        settlement_date: market.settlementDate(s.date)
      }))
    )
  }

  const calendarV3 = (req: HttpRequest, params: string[]): HttpResponse => {
    const sessions = sessionsBetween(req)
    if (!Array.isArray(sessions)) return sessions
    const tz = req.query.get("timezone")
    const fmt = tz === "UTC" ? (t: number) => formatUtc(t).replace(".000Z", "Z") : formatNy
    return json({
      market: marketInfo(decodeURIComponent(params[0])),
      calendar: sessions.map((s) => ({
        date: s.date,
        core_start: fmt(s.open),
        core_end: fmt(s.close),
        settlement_date: market.settlementDate(s.date)
      }))
    })
  }

  // ------------------------------------------------------------------- assets

  const assetJson = (symbol: string): Record<string, unknown> => ({
    id: market.series.get(symbol)!.assetId,
    class: "us_equity",
    exchange: "NASDAQ",
    symbol,
    name: symbol,
    status: "active",
    tradable: true,
    marginable: true,
    maintenance_margin_requirement: 100,
    margin_requirement_long: "100",
    margin_requirement_short: "100",
    shortable: false,
    easy_to_borrow: false,
    fractionable: false,
    attributes: []
  })

  const assets = (): HttpResponse => json(market.symbols.map(assetJson))
  const asset = (_req: HttpRequest, params: string[]): HttpResponse => {
    const symbol = decodeURIComponent(params[0])
    const found = market.series.has(symbol)
      ? symbol
      : market.symbols.find((s) => market.series.get(s)!.assetId === symbol)
    return found === undefined ? error(404, 40410000, "asset not found") : json(assetJson(found))
  }

  // ---------------------------------------------------------------- positions

  const findPositionSymbol = (raw: string): string | undefined => {
    const key = decodeURIComponent(raw)
    if (broker.getPosition(key) !== undefined) return key
    return broker.listPositions().find((p) => p.assetId === key)?.symbol
  }

  const positions = (): HttpResponse => {
    const now = engine.marketNow()
    return json(broker.listPositions().map((p) => broker.positionJson(p, now)))
  }

  const position = (_req: HttpRequest, params: string[]): HttpResponse => {
    const symbol = findPositionSymbol(params[0])
    const p = symbol === undefined ? undefined : broker.getPosition(symbol)
    return p === undefined ? error(404, 40410000, "position does not exist") : json(broker.positionJson(p, engine.marketNow()))
  }

  const liquidate = (symbol: string, qty: number): ApiResult<Order> =>
    broker.submit({ symbol, qty: String(qty), side: "sell", type: "market", time_in_force: "day" }, engine.marketNow())

  const closePosition = (req: HttpRequest, params: string[]): HttpResponse => {
    const symbol = findPositionSymbol(params[0])
    const p = symbol === undefined ? undefined : broker.getPosition(symbol)
    if (p === undefined) return error(404, 40410000, "position does not exist")
    const rawQty = req.query.get("qty")
    const rawPct = req.query.get("percentage")
    let qty = p.qty
    if (rawQty !== null && rawPct !== null) return error(422, 40010001, "only one of qty or percentage may be specified")
    if (rawQty !== null) {
      const q = parseNumeric(rawQty)
      if (q === undefined || !(q > 0)) return error(422, 40010001, "invalid qty")
      qty = q
    } else if (rawPct !== null) {
      const pct = parseNumeric(rawPct)
      if (pct === undefined || !(pct > 0) || pct > 100) return error(422, 40010001, "invalid percentage")
      qty = Math.floor((p.qty * pct) / 100)
      if (qty <= 0) return error(422, 40010001, "percentage results in a zero quantity")
    }
    return accepted(liquidate(p.symbol, qty))
  }

  const closeAllPositions = (req: HttpRequest): HttpResponse => {
    if (req.query.get("cancel_orders") === "true") {
      for (const o of broker.openOrders()) broker.cancel(o.id, engine.marketNow())
    }
    const results = broker.listPositions().map((p) => {
      const r = liquidate(p.symbol, p.qty)
      return r.ok
        ? { symbol: p.symbol, status: 200, body: broker.orderJson(r.value) }
        : { symbol: p.symbol, status: r.status, body: r.body }
    })
    // the answers show the orders as accepted; market sells whose bar is in progress fill now
    engine.sync()
    return json(results, 207)
  }

  // ------------------------------------------------------------------- orders

  const postOrder = (req: HttpRequest): HttpResponse => {
    if (req.bodyError) return error(400, 40010000, "request body format is invalid")
    return accepted(broker.submit(req.body, engine.marketNow()))
  }

  const listOrders = (req: HttpRequest): HttpResponse => {
    const q = req.query
    const status = q.get("status") ?? "open"
    if (status !== "open" && status !== "closed" && status !== "all") return error(422, 40010001, `invalid status: ${status}`)
    let limit = 50
    const rawLimit = q.get("limit")
    if (rawLimit !== null) {
      limit = Number(rawLimit)
      if (!Number.isInteger(limit) || limit < 1) return error(422, 40010001, `invalid limit: ${rawLimit}`)
      limit = Math.min(limit, 500)
    }
    const direction = q.get("direction") ?? "desc"
    if (direction !== "asc" && direction !== "desc") return error(422, 40010001, `invalid direction: ${direction}`)
    const timeParam = (name: string): number | undefined | HttpResponse => {
      const raw = q.get(name)
      if (raw === null || raw === "") return undefined
      const t = parseTime(raw)
      return t === undefined ? error(422, 40010001, `invalid ${name}: ${raw}`) : t
    }
    const after = timeParam("after")
    if (typeof after === "object") return after
    const until = timeParam("until")
    if (typeof until === "object") return until
    const symbols = q.get("symbols")
    const symbolSet =
      symbols === null || symbols === "" ? undefined : new Set(symbols.split(",").map((s) => s.trim()).filter((s) => s !== ""))
    const side = q.get("side")
    let orders = broker.listOrders().filter((o) => {
      const isOpen = OPEN.has(o.status)
      if (status === "open" && !isOpen) return false
      if (status === "closed" && isOpen) return false
      if (after !== undefined && !(o.createdAt > after)) return false
      if (until !== undefined && !(o.createdAt < until)) return false
      if (symbolSet !== undefined && !symbolSet.has(o.symbol)) return false
      if (side !== null && side !== "" && o.side !== side) return false
      return true
    })
    orders = [...orders].sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq)
    if (direction === "desc") orders.reverse()
    return json(orders.slice(0, limit).map((o) => broker.orderJson(o)))
  }

  const getOrder = (_req: HttpRequest, params: string[]): HttpResponse => {
    const o = broker.getOrder(decodeURIComponent(params[0]))
    return o === undefined ? error(404, 40410000, "order not found") : orderResponse(o)
  }

  const getOrderByClientId = (req: HttpRequest): HttpResponse => {
    const id = req.query.get("client_order_id")
    if (id === null || id === "") return error(422, 40010001, "client_order_id is required")
    const o = broker.getOrderByClientId(id)
    return o === undefined ? error(404, 40410000, "order not found") : orderResponse(o)
  }

  const cancelOrder = (_req: HttpRequest, params: string[]): HttpResponse =>
    fromResult(broker.cancel(decodeURIComponent(params[0]), engine.marketNow()), () => ({ status: 204 }))

  const cancelAll = (): HttpResponse => {
    const now = engine.marketNow()
    const results = broker.openOrders().map((o) => {
      const r = broker.cancel(o.id, now)
      return r.ok ? { id: o.id, status: 200, body: broker.orderJson(o) } : { id: o.id, status: r.status, body: r.body }
    })
    return json(results, 207)
  }

  return [
    { method: "GET", pattern: /^\/v2\/account$/, api: "trading", handle: account },
    { method: "GET", pattern: /^\/v2\/clock$/, api: "trading", handle: clockV2 },
    { method: "GET", pattern: /^\/v3\/clock$/, api: "trading", handle: clockV3 },
    { method: "GET", pattern: /^\/v2\/calendar$/, api: "trading", handle: calendarV2 },
    { method: "GET", pattern: /^\/v3\/calendar\/([^/]+)$/, api: "trading", handle: calendarV3 },
    { method: "GET", pattern: /^\/v2\/assets$/, api: "trading", handle: assets },
    { method: "GET", pattern: /^\/v2\/assets\/([^/]+)$/, api: "trading", handle: asset },
    { method: "GET", pattern: /^\/v2\/positions$/, api: "trading", handle: positions },
    { method: "DELETE", pattern: /^\/v2\/positions$/, api: "trading", handle: closeAllPositions },
    { method: "GET", pattern: /^\/v2\/positions\/([^/]+)$/, api: "trading", handle: position },
    { method: "DELETE", pattern: /^\/v2\/positions\/([^/]+)$/, api: "trading", handle: closePosition },
    { method: "GET", pattern: /^\/v2\/orders:by_client_order_id$/, api: "trading", handle: getOrderByClientId },
    { method: "GET", pattern: /^\/v2\/orders$/, api: "trading", handle: listOrders },
    { method: "POST", pattern: /^\/v2\/orders$/, api: "trading", handle: postOrder },
    { method: "DELETE", pattern: /^\/v2\/orders$/, api: "trading", handle: cancelAll },
    { method: "GET", pattern: /^\/v2\/orders\/([^/]+)$/, api: "trading", handle: getOrder },
    { method: "DELETE", pattern: /^\/v2\/orders\/([^/]+)$/, api: "trading", handle: cancelOrder }
  ]
}
