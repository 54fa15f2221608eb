/**
 * HTTP plumbing: body parsing, the middleware pipeline, auth, routing, and the
 * headers every REST answer carries (`X-RateLimit-*`, `X-Request-ID`).
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
  readonly log: LogFn
}

/** Alpaca's documented per-key limit. The emulator only counts; it never answers 429 by itself. */
export const RATE_LIMIT_PER_MINUTE = 200

const UNAUTHORIZED: HttpResponse = { status: 401, body: { code: 40110000, message: "request is not authorized" } }

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)

export const createRestHandler = (opts: RestOptions): ((req: IncomingMessage, res: ServerResponse) => void) => {
  const windows = new Map<string, { window: number; count: number }>()

  const core = async (req: HttpRequest): Promise<HttpResponse> => {
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
  const pipeline = composeHttp(opts.middleware, core)

  const apiOf = (path: string): HttpRequest["api"] =>
    path.startsWith("/v2/stocks") ? "data" : /^\/v[123]\//.test(path) ? "trading" : "unknown"

  const rateHeaders = (api: string, key: string | undefined): Record<string, string> => {
    const nowMs = opts.now()
    const window = Math.floor(nowMs / 60_000)
    const id = `${api}|${key ?? ""}`
    let w = windows.get(id)
    if (w === undefined || w.window !== window) {
      w = { window, count: 0 }
      windows.set(id, w)
    }
    w.count += 1
    return {
      "X-RateLimit-Limit": String(RATE_LIMIT_PER_MINUTE),
      "X-RateLimit-Remaining": String(Math.max(0, RATE_LIMIT_PER_MINUTE - w.count)),
      "X-RateLimit-Reset": String((window + 1) * 60)
    }
  }

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
            ...rateHeaders(request.api, headerValue(request.headers["apca-api-key-id"])),
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
