/**
 * HTTP plumbing: body parsing, the middleware pipeline, outages, Alpaca's
 * per-key rate limit, auth, routing, and the headers every REST answer carries
 * (`X-RateLimit-*`, `X-Request-ID`).
 *
 * A request passes the middleware (outermost) and then, as Alpaca would
 * handle it: an outage answers it unperformed; else it is counted against its
 * key's limit and answered 429 beyond it; else it is routed, authenticated and
 * performed.
 */
import { randomBytes } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { LogFn } from "./engine.js"
import { composeHttp, type EmulatorMiddleware, type HttpRequest, type HttpResponse } from "./middleware.js"

export interface Route {
  readonly method: string
  readonly pattern: RegExp
  readonly api: "trading" | "data"
  readonly handle: (req: HttpRequest, params: string[]) => HttpResponse | Promise<HttpResponse>
}

export interface RestOptions {
  readonly routes: ReadonlyArray<Route>
  readonly middleware: ReadonlyArray<EmulatorMiddleware>
  readonly authenticate: (key: unknown, secret: unknown) => boolean
  /** Brings the market up to date before a request is handled. */
  readonly sync: () => void
  /** Real-time source for rate-limit windows. */
  readonly now: () => number
  /** Requests a key may make to one API (trading and data counted apart) per minute of real time. */
  readonly rateLimitPerMinute: number
  /** An outage's answer to a request of `api` (not performed), or undefined while the API is up. */
  readonly outage: (api: HttpRequest["api"]) => HttpResponse | undefined
  readonly log: LogFn
}

/** Alpaca's documented limit: 200 requests a minute per key; beyond it, 429. */
export const RATE_LIMIT_PER_MINUTE = 200

const UNAUTHORIZED: HttpResponse = { status: 401, body: { code: 40110000, message: "request is not authorized" } }
const RATE_LIMITED = { code: 42910000, message: "rate limit exceeded" }

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)

/** Which limit a request counts against: its API and its key (as sent, even a wrong one). */
const rateId = (req: HttpRequest): string => `${req.api}|${headerValue(req.headers["apca-api-key-id"]) ?? ""}`

/**
 * Alpaca's per-key limit in fixed one-minute windows of real time (epoch-aligned
 * minutes of `now()`, never market time). `take` counts a request and says whether
 * it is within the limit; `peek` gives the headers of an answer that was not counted
 * (a middleware's or an outage's). `X-RateLimit-Reset` is the window's end, unix seconds.
 */
const rateLimiter = (limit: number, now: () => number) => {
  const windows = new Map<string, { window: number; count: number }>()
  const current = (id: string): { window: number; count: number } => {
    const window = Math.floor(now() / 60_000)
    let w = windows.get(id)
    if (w === undefined || w.window !== window) {
      w = { window, count: 0 }
      windows.set(id, w)
    }
    return w
  }
  const headers = (w: { window: number; count: number }): Record<string, string> => ({
    "X-RateLimit-Limit": String(limit),
    "X-RateLimit-Remaining": String(Math.max(0, limit - w.count)),
    "X-RateLimit-Reset": String((w.window + 1) * 60)
  })
  return {
    take: (id: string): { allowed: boolean; headers: Record<string, string> } => {
      const w = current(id)
      w.count += 1
      return { allowed: w.count <= limit, headers: headers(w) }
    },
    peek: (id: string): Record<string, string> => headers(current(id))
  }
}

export const createRestHandler = (opts: RestOptions): ((req: IncomingMessage, res: ServerResponse) => void) => {
  const limiter = rateLimiter(opts.rateLimitPerMinute, opts.now)

  /** Routes, authenticates and performs a request. */
  const perform = async (req: HttpRequest): Promise<HttpResponse> => {
    let pathMatched = false
    for (const route of opts.routes) {
      const m = route.pattern.exec(req.path)
      if (m === null) continue
      pathMatched = true
      if (route.method !== req.method) continue
      const key = headerValue(req.headers["apca-api-key-id"])
      const secret = headerValue(req.headers["apca-api-secret-key"])
      if (!opts.authenticate(key, secret)) {
        opts.log("warn", "rest auth failed", { path: req.path })
        return UNAUTHORIZED
      }
      opts.sync()
      return route.handle(req, m.slice(1))
    }
    return pathMatched
      ? { status: 405, body: { code: 40510000, message: "method not allowed" } }
      : { status: 404, body: { code: 40410000, message: "endpoint not found" } }
  }
  const core = async (req: HttpRequest): Promise<HttpResponse> => {
    const down = opts.outage(req.api)
    if (down !== undefined) {
      opts.log("debug", "outage answer", { method: req.method, path: req.path, status: down.status })
      return down
    }
    const limit = limiter.take(rateId(req))
    if (!limit.allowed) {
      opts.log("warn", "rate limit exceeded", { method: req.method, path: req.path, api: req.api })
      return { status: 429, body: RATE_LIMITED, headers: limit.headers }
    }
    const answer = await perform(req)
    return { ...answer, headers: { ...limit.headers, ...answer.headers } }
  }
  const pipeline = composeHttp(opts.middleware, core)

  const apiOf = (path: string): HttpRequest["api"] =>
    path.startsWith("/v2/stocks") || path.startsWith("/v1beta1/news") ? "data" : /^\/v[123]\//.test(path) ? "trading" : "unknown"

  return (raw, res) => {
    const gaveUp = new AbortController()
    res.on("close", () => {
      if (!res.writableFinished) gaveUp.abort()
    })
    const chunks: Buffer[] = []
    raw.on("data", (c: Buffer) => chunks.push(c))
    raw.on("error", () => res.destroy())
    raw.on("end", () => {
      const url = new URL(raw.url ?? "/", "http://emulator.invalid")
      const text = Buffer.concat(chunks).toString("utf8")
      let body: unknown
      let bodyError = false
      if (text.trim() !== "") {
        try {
          body = JSON.parse(text)
        } catch {
          bodyError = true
        }
      }
      const request: HttpRequest = {
        id: randomBytes(16).toString("hex"),
        method: (raw.method ?? "GET").toUpperCase(),
        path: url.pathname,
        query: url.searchParams,
        headers: raw.headers,
        body,
        bodyError,
        receivedAt: opts.now(),
        api: apiOf(url.pathname),
        destroy: () => raw.socket.destroy(),
        signal: gaveUp.signal
      }
      pipeline(request)
        .catch((e: unknown): HttpResponse => {
          opts.log("error", "request handler failed", {
            path: request.path,
            error: e instanceof Error ? e.message : String(e)
          })
          return { status: 500, body: { code: 50010000, message: "internal server error" } }
        })
        .then((response) => {
          if (res.headersSent || res.destroyed || request.signal.aborted || raw.socket.destroyed) return
          const headers: Record<string, string> = {
            ...limiter.peek(rateId(request)),
            "X-Request-ID": request.id,
            ...response.headers
          }
          let payload: string | undefined
          if (response.body !== undefined && response.status !== 204) {
            payload = JSON.stringify(response.body)
            headers["Content-Type"] = "application/json; charset=utf-8"
            headers["Content-Length"] = String(Buffer.byteLength(payload))
          }
          res.writeHead(response.status, headers)
          res.end(payload)
          opts.log("debug", "rest request", { method: request.method, path: request.path, status: response.status })
        })
        .catch(() => res.destroy())
    })
  }
}
