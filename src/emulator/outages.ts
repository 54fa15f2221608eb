/**
 * Alpaca being down: windows of REAL time (the emulator's `now()`, never
 * market time) during which an API answers every REST request with an error
 * status without performing it and, with `streams`, its stream sockets are
 * dropped when the window opens and upgrades are refused until it closes.
 *
 * Started by `handle.outage(…)` (from now) or scheduled by the `outageAtSeconds`
 * / `outageSeconds` fault options (the CLI's `--outage-at` / `--outage-seconds`).
 * A window's streams are taken down by a real-time timer armed for its start,
 * and also at the first REST request or upgrade that finds it open, so an
 * injected clock that jumps into a window behaves the same.
 */
import { STATUS_CODES } from "node:http"
import type { LogFn } from "./engine.js"
import type { HttpRequest, HttpResponse, SocketContext } from "./middleware.js"

/** Which API an outage takes down: `trading` (REST + `/stream`), `data` (market data REST + `/v2/{feed}`) or both. */
export type OutageApi = "trading" | "data" | "all"

export interface OutageOptions {
  /** Default `"all"`. */
  readonly api?: OutageApi
  /** Length of the outage, real ms (the emulator's `now()`). */
  readonly forMs: number
  /** Status of every REST answer, 500–599 (default 503); the body is `{"code":status·10⁵,"message":…}`. */
  readonly status?: number
  /** Also drop the API's stream sockets at the start and refuse upgrades until the end (default false). */
  readonly streams?: boolean
}

/** What is wrong with `o`, or `undefined`. */
export const outageProblem = (o: OutageOptions): string | undefined => {
  if (o.api !== undefined && !["trading", "data", "all"].includes(o.api)) return `outage api must be trading, data or all, got ${String(o.api)}`
  if (!(Number.isFinite(o.forMs) && o.forMs > 0)) return `outage forMs must be a positive number, got ${o.forMs}`
  if (o.status !== undefined && !(Number.isInteger(o.status) && o.status >= 500 && o.status <= 599)) {
    return `outage status must be an HTTP status 500–599, got ${o.status}`
  }
  return undefined
}

interface Window {
  readonly from: number
  readonly to: number
  readonly api: OutageApi
  readonly status: number
  readonly streams: boolean
  /** Whether its stream sockets have been dropped. */
  begun: boolean
}

type StreamKind = SocketContext["kind"]

const API_OF_KIND: Record<StreamKind, HttpRequest["api"]> = { "market-data": "data", trading: "trading" }
const KIND_OF_API: Record<OutageApi, StreamKind | undefined> = { data: "market-data", trading: "trading", all: undefined }

const covers = (w: Window, api: HttpRequest["api"]): boolean => w.api === "all" || w.api === api

export class Outages {
  private windows: Window[] = []
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private refused = 0

  constructor(
    private readonly deps: {
      readonly now: () => number
      readonly log: LogFn
      /** Drops the open stream sockets of `kind` (both kinds when omitted). */
      readonly drop: (kind?: StreamKind) => number
    }
  ) {}

  /** REST requests and stream upgrades answered by an outage so far. */
  get answered(): number {
    return this.refused
  }

  /** Schedules an outage from real time `from` (the emulator's `now()`); throws a RangeError on bad options. */
  schedule(from: number, o: OutageOptions): void {
    const problem = outageProblem(o)
    if (problem !== undefined) throw new RangeError(problem)
    this.windows.push({ from, to: from + o.forMs, api: o.api ?? "all", status: o.status ?? 503, streams: o.streams ?? false, begun: false })
    const delay = from - this.deps.now()
    if (delay <= 0) return this.check()
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.check()
    }, delay)
    timer.unref()
    this.timers.add(timer)
  }

  /** The answer to a REST request of `api` while it is down (counted), or undefined. */
  restAnswer(api: HttpRequest["api"]): HttpResponse | undefined {
    const w = this.current((w) => covers(w, api))
    if (w === undefined) return undefined
    this.refused++
    return { status: w.status, body: { code: w.status * 100_000, message: (STATUS_CODES[w.status] ?? "error").toLowerCase() } }
  }

  /** The status refusing a stream upgrade of `kind` while its streams are down (counted), or undefined. */
  upgradeRefusal(kind: StreamKind): number | undefined {
    const w = this.current((w) => w.streams && covers(w, API_OF_KIND[kind]))
    if (w === undefined) return undefined
    this.refused++
    return w.status
  }

  /** Stops the start timers. */
  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  /** The first open window `accept` takes, after taking down the streams of any window that has just opened. */
  private current(accept: (w: Window) => boolean): Window | undefined {
    this.check()
    const now = this.deps.now()
    return this.windows.find((w) => w.from <= now && now < w.to && accept(w))
  }

  /** Forgets windows that are over and drops the stream sockets of those that have opened (once each). */
  private check(): void {
    const now = this.deps.now()
    this.windows = this.windows.filter((w) => now < w.to)
    for (const w of this.windows) {
      if (w.begun || now < w.from) continue
      w.begun = true
      const dropped = w.streams ? this.deps.drop(KIND_OF_API[w.api]) : 0
      this.deps.log("info", "outage begins", { api: w.api, status: w.status, streams: w.streams, dropped, untilMs: w.to })
    }
  }
}
