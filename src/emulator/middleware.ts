/**
 * The emulator's single interception point.
 *
 * Every REST request, every outbound websocket frame and every fill passes
 * through the installed {@link EmulatorMiddleware}s (in array order, the first
 * being outermost). The emulator installs none by itself; the `faults`
 * option (faults.ts) adds one, innermost. What each hook is for —
 *
 * - `http`: 429 / 5xx answers, added latency, timeouts (never answer, or
 *   `ctx.destroy()` the socket) — wrap or replace `next()`.
 * - `frame`: websocket drops (`ctx.terminate()`), lost or delayed messages —
 *   skip or defer `send`.
 * - `fill`: partial fills (return a smaller `qty`), slow fills (return `null`
 *   to let the bar pass without a fill), price adjustments.
 */
import type { IncomingMessage } from "node:http"

/** A parsed REST request. */
export interface HttpRequest {
  readonly id: string
  readonly method: string
  /** Path without query string, e.g. `/v2/orders`. */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  /** Parsed JSON body (`undefined` when empty); `bodyError` is set when it was not valid JSON. */
  readonly body: unknown
  readonly bodyError: boolean
  /** Real time (the emulator's `now()`) at which the request arrived. */
  readonly receivedAt: number
  /** Which API the path belongs to. */
  readonly api: "trading" | "data" | "unknown"
  /** Destroys the underlying socket without answering (for timeout faults). */
  readonly destroy: () => void
  /** Aborted when the client's connection closes before an answer was written (client gave up). */
  readonly signal: AbortSignal
}

/** A REST answer. `body === undefined` sends no body (e.g. 204). */
export interface HttpResponse {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export type HttpNext = () => Promise<HttpResponse>

/** Describes one websocket connection to frame middleware. */
export interface SocketContext {
  readonly id: number
  /** `market-data` for `/v2/{feed}`, `trading` for `/stream`. */
  readonly kind: "market-data" | "trading"
  readonly path: string
  readonly codec: "json" | "msgpack"
  /** Abruptly drops the connection (no close frame). */
  readonly terminate: () => void
}

/** A fill the engine is about to apply; middleware may shrink, reprice or veto it. */
export interface FillProposal {
  readonly orderId: string
  readonly symbol: string
  readonly side: "buy" | "sell"
  readonly type: "market" | "limit"
  readonly timeInForce: "day" | "gtc" | "ioc" | "fok"
  /** The order's total quantity and what has been filled so far. */
  readonly orderQty: number
  readonly filledQty: number
  /** Remaining quantity the engine would fill. */
  readonly qty: number
  readonly price: number
  /** Market time of the fill. */
  readonly at: number
}

export interface EmulatorMiddleware {
  /** Wraps every REST request (after body parsing, before auth and routing). */
  readonly http?: (req: HttpRequest, next: HttpNext) => Promise<HttpResponse>
  /** Wraps every outbound websocket frame (`payload` is the decoded message). */
  readonly frame?: (ctx: SocketContext, payload: unknown, send: () => void) => void
  /** Reshapes (smaller `qty` = partial fill) or vetoes (`null` = no fill on this bar) a fill. */
  readonly fill?: (proposal: FillProposal) => FillProposal | null
}

/** Composes the `http` hooks around `core`. */
export const composeHttp = (
  middleware: ReadonlyArray<EmulatorMiddleware>,
  core: (req: HttpRequest) => Promise<HttpResponse>
): ((req: HttpRequest) => Promise<HttpResponse>) => {
  let handler = core
  for (let i = middleware.length - 1; i >= 0; i--) {
    const hook = middleware[i].http
    if (hook === undefined) continue
    const inner = handler
    handler = (req) => hook(req, () => inner(req))
  }
  return handler
}

/** Composes the `frame` hooks around the real `send`. */
export const composeFrame = (
  middleware: ReadonlyArray<EmulatorMiddleware>
): ((ctx: SocketContext, payload: unknown, send: () => void) => void) => {
  let handler = (_ctx: SocketContext, _payload: unknown, send: () => void): void => send()
  for (let i = middleware.length - 1; i >= 0; i--) {
    const hook = middleware[i].frame
    if (hook === undefined) continue
    const inner = handler
    handler = (ctx, payload, send) => hook(ctx, payload, () => inner(ctx, payload, send))
  }
  return handler
}

/** Composes the `fill` hooks; any `null` vetoes the fill. */
export const composeFill = (
  middleware: ReadonlyArray<EmulatorMiddleware>
): ((proposal: FillProposal) => FillProposal | null) => {
  const hooks = middleware.flatMap((m) => (m.fill === undefined ? [] : [m.fill]))
  return (proposal) => {
    let current: FillProposal | null = proposal
    for (const hook of hooks) {
      if (current === null) return null
      current = hook(current)
    }
    return current
  }
}
