/**
 * Seeded fault injection for the emulator, built on the middleware
 * interception point (see middleware.ts and README.md "Faults").
 *
 * Everything is off by default. Each fault family draws from its own
 * {@link Rng} stream of the same seed, with a FIXED number of draws per
 * unit, so turning one family on or off never changes the decisions of
 * another, and the same seed + the same sequence gives the same faults:
 *
 * - REST (stream 1): 3 draws per matching request, at arrival, in arrival order
 *   (kind, which 5xx status, latency jitter).
 * - trade updates (stream 2): 1 draw per `trade_updates` event, in emission order.
 * - fills (stream 3): 3 draws per order at its first fill opportunity, in the
 *   engine's processing order (slow?, partial?, 2 or 3 parts).
 *
 * The scheduled outage (`outageAtSeconds` + `outageSeconds`) draws nothing; the
 * emulator runs it (outages.ts) and counts its answers in `outageAnswers`.
 */
import { Rng } from "../core/rng.js"
import type { LogFn } from "./engine.js"
import type { EmulatorMiddleware, FillProposal, HttpRequest, HttpResponse } from "./middleware.js"

export interface FaultOptions {
  /** Seed of every fault decision (default 1). Same seed + same request/event sequence ⇒ same faults. */
  readonly seed?: number
  /** Only REST requests whose `"METHOD /path"` matches are subject to REST faults (default: all). */
  readonly httpMatch?: RegExp
  /** P(answer 429 without performing the request). */
  readonly http429Rate?: number
  /** `Retry-After` of injected 429s, seconds (default 1); `X-RateLimit-Reset` = now + this. */
  readonly retryAfterSeconds?: number
  /** P(answer 500/502/503 without performing the request). */
  readonly http5xxRate?: number
  /** P(PERFORM the request, then answer 500/503 anyway). */
  readonly http5xxAfterRate?: number
  /** P(never answer: hold the request until the client gives up, or `hangMs`, then drop the socket). */
  readonly timeoutRate?: number
  /** Whether a timed-out request is performed anyway (default true: the order exists though the client saw a timeout). */
  readonly timeoutPerforms?: boolean
  /** How long a timed-out request is held (real ms, default 30000) before its socket is destroyed. */
  readonly hangMs?: number
  /** Added latency per matching REST request, real ms (default 0), plus uniform [0, latencyJitterMs). */
  readonly latencyMs?: number
  readonly latencyJitterMs?: number
  /** Drop every stream socket every N seconds of REAL time (not market time). */
  readonly wsDropEverySeconds?: number
  /** P(a `trade_updates` event is not sent to anyone; the order's state changes regardless). */
  readonly lostTradeUpdatesRate?: number
  /** Fills happen N fill opportunities (bars) later than the fill rule says. */
  readonly slowFillBars?: number
  /** Fills happen no earlier than this much MARKET time after the rule's first fill opportunity. */
  readonly slowFillMs?: number
  /** P(an order is slowed by slowFillBars/slowFillMs) (default 1 when either is set). */
  readonly slowFillRate?: number
  /** P(a market day/gtc order of ≥ 2 shares fills in 2–3 partial fills over consecutive bars). */
  readonly partialFillRate?: number
  /**
   * Alpaca is down from this many seconds of REAL time (the emulator's `now()`) after startup,
   * for `outageSeconds` (both or neither): every REST request answers 503 unperformed, every
   * stream socket is dropped at the start and upgrades are refused until the end.
   */
  readonly outageAtSeconds?: number
  readonly outageSeconds?: number
}

export interface FaultCounts {
  readonly http429: number
  readonly http5xx: number
  readonly http5xxAfter: number
  readonly timeouts: number
  /** Stream sockets dropped (periodic, `dropSockets`, or at an outage's start). */
  readonly wsDrops: number
  /** `trade_updates` events suppressed. */
  readonly lostTradeUpdates: number
  /** Orders split into partial fills. */
  readonly partialFills: number
  /** Orders whose fill was delayed. */
  readonly slowFills: number
  /** REST requests and stream upgrades answered by an outage (`handle.outage` or `outageAtSeconds`). */
  readonly outageAnswers: number
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** All counters at zero. */
export const zeroFaultCounts = (): Mutable<FaultCounts> => ({
  http429: 0,
  http5xx: 0,
  http5xxAfter: 0,
  timeouts: 0,
  wsDrops: 0,
  lostTradeUpdates: 0,
  partialFills: 0,
  slowFills: 0,
  outageAnswers: 0
})

const RATE_KEYS = [
  "http429Rate",
  "http5xxRate",
  "http5xxAfterRate",
  "timeoutRate",
  "lostTradeUpdatesRate",
  "slowFillRate",
  "partialFillRate"
] as const
const NON_NEGATIVE_KEYS = ["retryAfterSeconds", "hangMs", "latencyMs", "latencyJitterMs", "slowFillMs", "outageAtSeconds"] as const

/** Describes what is wrong with `f`, or `undefined` if it is valid. */
export const faultOptionsProblem = (f: FaultOptions): string | undefined => {
  if (f.seed !== undefined && !Number.isSafeInteger(f.seed)) return `faults.seed must be an integer, got ${f.seed}`
  for (const k of RATE_KEYS) {
    const v = f[k]
    if (v !== undefined && !(v >= 0 && v <= 1)) return `faults.${k} must be between 0 and 1, got ${v}`
  }
  for (const k of NON_NEGATIVE_KEYS) {
    const v = f[k]
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) return `faults.${k} must be a number ≥ 0, got ${v}`
  }
  if (f.slowFillBars !== undefined && !(Number.isInteger(f.slowFillBars) && f.slowFillBars >= 0)) {
    return `faults.slowFillBars must be a whole number ≥ 0, got ${f.slowFillBars}`
  }
  if (f.wsDropEverySeconds !== undefined && !(Number.isFinite(f.wsDropEverySeconds) && f.wsDropEverySeconds > 0)) {
    return `faults.wsDropEverySeconds must be a positive number, got ${f.wsDropEverySeconds}`
  }
  if (f.outageSeconds !== undefined && !(Number.isFinite(f.outageSeconds) && f.outageSeconds > 0)) {
    return `faults.outageSeconds must be a positive number, got ${f.outageSeconds}`
  }
  if ((f.outageAtSeconds === undefined) !== (f.outageSeconds === undefined)) {
    return "faults.outageAtSeconds and faults.outageSeconds go together"
  }
  const sum = (f.http429Rate ?? 0) + (f.http5xxRate ?? 0) + (f.timeoutRate ?? 0) + (f.http5xxAfterRate ?? 0)
  if (sum > 1 + 1e-12) {
    return `the REST fault rates (429 + 5xx + timeout + 5xx-after) must add up to at most 1, got ${sum}`
  }
  return undefined
}

const pct = (r: number): string => `${+(r * 100).toFixed(4)}%`

/** One line listing the active faults (`none` when nothing is injected). */
export const describeFaults = (f: FaultOptions | undefined): string => {
  if (f === undefined) return "none"
  const parts: string[] = []
  if ((f.http429Rate ?? 0) > 0) parts.push(`429 ${pct(f.http429Rate!)} (Retry-After ${f.retryAfterSeconds ?? 1} s)`)
  if ((f.http5xxRate ?? 0) > 0) parts.push(`5xx ${pct(f.http5xxRate!)}`)
  if ((f.http5xxAfterRate ?? 0) > 0) parts.push(`5xx-after-performing ${pct(f.http5xxAfterRate!)}`)
  if ((f.timeoutRate ?? 0) > 0) {
    parts.push(
      `timeouts ${pct(f.timeoutRate!)} (${f.timeoutPerforms === false ? "not performed" : "performed"}, held ${f.hangMs ?? 30_000} ms)`
    )
  }
  if ((f.latencyMs ?? 0) > 0 || (f.latencyJitterMs ?? 0) > 0) {
    parts.push(`latency ${f.latencyMs ?? 0}${(f.latencyJitterMs ?? 0) > 0 ? `+[0,${f.latencyJitterMs})` : ""} ms`)
  }
  if (f.httpMatch !== undefined && parts.length > 0) parts.push(`REST faults only on ${String(f.httpMatch)}`)
  if (f.wsDropEverySeconds !== undefined) parts.push(`stream drops every ${f.wsDropEverySeconds} s real time`)
  if (f.outageAtSeconds !== undefined && f.outageSeconds !== undefined) {
    parts.push(`outage (REST 503, streams down) from ${f.outageAtSeconds} s for ${f.outageSeconds} s real time after start`)
  }
  if ((f.lostTradeUpdatesRate ?? 0) > 0) parts.push(`lost trade updates ${pct(f.lostTradeUpdatesRate!)}`)
  if ((f.partialFillRate ?? 0) > 0) parts.push(`partial fills ${pct(f.partialFillRate!)}`)
  if ((f.slowFillBars ?? 0) > 0 || (f.slowFillMs ?? 0) > 0) {
    const what = [
      ...((f.slowFillBars ?? 0) > 0 ? [`+${f.slowFillBars} bars`] : []),
      ...((f.slowFillMs ?? 0) > 0 ? [`≥ ${f.slowFillMs} ms market time`] : [])
    ].join(", ")
    parts.push(`slow fills ${what}${f.slowFillRate !== undefined ? ` (${pct(f.slowFillRate)} of orders)` : ""}`)
  }
  return parts.length === 0 ? "none" : `${parts.join(", ")}; seed ${f.seed ?? 1}`
}

// ------------------------------------------------------------------ CLI spec

/** CLI flag → how to parse it. Flag names are those of the `emulator` command. */
const FLAG_TABLE = {
  "fault-seed": { key: "seed", kind: "int" },
  "rate-429": { key: "http429Rate", kind: "rate" },
  "rate-5xx": { key: "http5xxRate", kind: "rate" },
  "rate-5xx-after": { key: "http5xxAfterRate", kind: "rate" },
  "latency-ms": { key: "latencyMs", kind: "whole" },
  "latency-jitter-ms": { key: "latencyJitterMs", kind: "whole" },
  "rate-timeout": { key: "timeoutRate", kind: "rate" },
  "ws-drop-every": { key: "wsDropEverySeconds", kind: "positive" },
  "rate-lost-updates": { key: "lostTradeUpdatesRate", kind: "rate" },
  "rate-partial-fills": { key: "partialFillRate", kind: "rate" },
  "slow-fill-bars": { key: "slowFillBars", kind: "whole" },
  "outage-at": { key: "outageAtSeconds", kind: "nonNegative" },
  "outage-seconds": { key: "outageSeconds", kind: "positive" }
} as const satisfies Record<string, { key: keyof FaultOptions; kind: "int" | "rate" | "whole" | "positive" | "nonNegative" }>

/** The `emulator` command's fault flags (without `--`). */
export const FAULT_FLAGS: ReadonlyArray<string> = Object.keys(FLAG_TABLE)

const KIND_TEXT = {
  int: "an integer",
  rate: "a number between 0 and 1",
  whole: "a whole number ≥ 0",
  positive: "a positive number",
  nonNegative: "a number ≥ 0"
} as const

export type FaultSpecResult =
  | { readonly ok: true; readonly faults: FaultOptions | undefined }
  | { readonly ok: false; readonly error: string }

/**
 * Parses fault settings given as CLI flag values (`{"rate-429": "0.1", …}`,
 * keys as in {@link FAULT_FLAGS}, missing/undefined = not set) or as one
 * string `rate-429=0.1,latency-ms=50,fault-seed=7`. `faults` is undefined
 * when nothing was given. Errors name the flag: `--rate-429 must be …, got 'x'`.
 */
export const parseFaultSpec = (input: string | Readonly<Record<string, string | undefined>>): FaultSpecResult => {
  let entries: Array<[string, string]>
  if (typeof input === "string") {
    entries = []
    for (const item of input.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const eq = item.indexOf("=")
      if (eq < 0) return { ok: false, error: `fault spec item '${item}' is not name=value` }
      entries.push([item.slice(0, eq).trim().replace(/^--/, ""), item.slice(eq + 1).trim()])
    }
  } else {
    entries = Object.entries(input).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]]))
  }
  if (entries.length === 0) return { ok: true, faults: undefined }
  const out: Record<string, number> = {}
  for (const [flag, text] of entries) {
    const spec = (FLAG_TABLE as Record<string, { key: string; kind: keyof typeof KIND_TEXT }>)[flag]
    if (spec === undefined) return { ok: false, error: `unknown fault option --${flag}` }
    const n = text.trim() === "" ? NaN : Number(text)
    const valid =
      spec.kind === "int"
        ? Number.isSafeInteger(n)
        : spec.kind === "rate"
          ? n >= 0 && n <= 1
          : spec.kind === "whole"
            ? Number.isSafeInteger(n) && n >= 0
            : spec.kind === "nonNegative"
              ? Number.isFinite(n) && n >= 0
              : Number.isFinite(n) && n > 0
    if (!valid) return { ok: false, error: `--${flag} must be ${KIND_TEXT[spec.kind]}, got '${text}'` }
    out[spec.key] = n
  }
  const faults = out as FaultOptions
  if ((faults.outageAtSeconds === undefined) !== (faults.outageSeconds === undefined)) {
    return { ok: false, error: "--outage-at and --outage-seconds go together" }
  }
  const problem = faultOptionsProblem(faults)
  if (problem !== undefined) {
    const sum = (faults.http429Rate ?? 0) + (faults.http5xxRate ?? 0) + (faults.timeoutRate ?? 0) + (faults.http5xxAfterRate ?? 0)
    return {
      ok: false,
      error: `--rate-429 + --rate-5xx + --rate-timeout + --rate-5xx-after must add up to at most 1, got ${+sum.toFixed(6)}`
    }
  }
  return { ok: true, faults }
}

// ---------------------------------------------------------------- injector

interface FillPlan {
  slowLeft: number
  slowUntil: number
  /** Sizes of the partial fills still to deliver (the final fill is whatever remains). */
  readonly parts: number[]
}

const HTTP_STREAM = 1
const TRADE_UPDATE_STREAM = 2
const FILL_STREAM = 3

const http5xxBody = (status: number): { code: number; message: string } =>
  status === 502
    ? { code: 50210000, message: "bad gateway" }
    : status === 503
      ? { code: 50310000, message: "service unavailable" }
      : { code: 50010000, message: "internal server error" }

/** Holds the fault RNGs, the counters and the middleware; one per emulator. */
export class FaultInjector {
  private readonly counts = zeroFaultCounts()
  private readonly httpRng: Rng
  private readonly updateRng: Rng
  private readonly fillRng: Rng
  private readonly plans = new Map<string, FillPlan>()
  private readonly waiters = new Set<() => void>()
  private closed = false
  readonly middleware: EmulatorMiddleware

  constructor(
    private readonly f: FaultOptions,
    private readonly deps: { readonly now: () => number; readonly log: LogFn }
  ) {
    const problem = faultOptionsProblem(f)
    if (problem !== undefined) throw new RangeError(problem)
    const seed = f.seed ?? 1
    this.httpRng = new Rng(seed, HTTP_STREAM)
    this.updateRng = new Rng(seed, TRADE_UPDATE_STREAM)
    this.fillRng = new Rng(seed, FILL_STREAM)
    this.middleware = {
      http: (req, next) => this.http(req, next),
      fill: (p) => this.fill(p)
    }
  }

  /** The injector's counters (`wsDrops` and `outageAnswers` stay 0: the emulator keeps those). */
  snapshot(): FaultCounts {
    return { ...this.counts }
  }

  /** Decides (one draw per event) whether a `trade_updates` event is lost. */
  loseTradeUpdate(event: string, orderId: string): boolean {
    const lost = this.updateRng.uniform() < (this.f.lostTradeUpdatesRate ?? 0)
    if (lost) {
      this.counts.lostTradeUpdates++
      this.deps.log("debug", "fault: trade update lost", { event, orderId })
    }
    return lost
  }

  /** Releases held requests (without answering them) and pending latency waits. */
  close(): void {
    this.closed = true
    for (const w of [...this.waiters]) w()
  }

  private wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed || signal.aborted) return resolve()
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener("abort", done)
        this.waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener("abort", done, { once: true })
      this.waiters.add(done)
    })
  }

  private matches(req: HttpRequest): boolean {
    const m = this.f.httpMatch
    if (m === undefined) return true
    m.lastIndex = 0
    return m.test(`${req.method} ${req.path}`)
  }

  private async http(req: HttpRequest, next: () => Promise<HttpResponse>): Promise<HttpResponse> {
    if (!this.matches(req)) return next()
    // Fixed draws per request, taken at arrival so latency cannot reorder decisions.
    const uKind = this.httpRng.uniform()
    const uStatus = this.httpRng.uniform()
    const uJitter = this.httpRng.uniform()
    const f = this.f
    const c429 = f.http429Rate ?? 0
    const c5xx = c429 + (f.http5xxRate ?? 0)
    const cTimeout = c5xx + (f.timeoutRate ?? 0)
    const c5xxAfter = cTimeout + (f.http5xxAfterRate ?? 0)
    const kind = uKind < c429 ? "429" : uKind < c5xx ? "5xx" : uKind < cTimeout ? "timeout" : uKind < c5xxAfter ? "5xx-after" : "none"
    const gone: HttpResponse = { status: 499 } // never written: the client is gone

    const latency = (f.latencyMs ?? 0) + (f.latencyJitterMs ?? 0) * uJitter
    if (latency > 0) {
      await this.wait(latency, req.signal)
      if (this.closed || req.signal.aborted) return gone // client gave up in flight: not performed
    }
    const fields = { method: req.method, path: req.path }
    switch (kind) {
      case "429": {
        this.counts.http429++
        this.deps.log("debug", "fault: 429", fields)
        const retryAfter = f.retryAfterSeconds ?? 1
        return {
          status: 429,
          body: { code: 42910000, message: "rate limit exceeded" },
          headers: {
            "Retry-After": String(Math.ceil(retryAfter)),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": String(Math.ceil(this.deps.now() / 1000 + retryAfter))
          }
        }
      }
      case "5xx": {
        this.counts.http5xx++
        const status = [500, 502, 503][Math.floor(uStatus * 3)]
        this.deps.log("debug", "fault: 5xx (not performed)", { ...fields, status })
        return { status, body: http5xxBody(status) }
      }
      case "5xx-after": {
        this.counts.http5xxAfter++
        await next().catch(() => undefined)
        const status = [500, 503][Math.floor(uStatus * 2)]
        this.deps.log("debug", "fault: 5xx after performing", { ...fields, status })
        return { status, body: http5xxBody(status) }
      }
      case "timeout": {
        this.counts.timeouts++
        const performs = f.timeoutPerforms ?? true
        this.deps.log("debug", "fault: timeout", { ...fields, performs })
        if (performs) await next().catch(() => undefined)
        await this.wait(f.hangMs ?? 30_000, req.signal)
        if (!req.signal.aborted) req.destroy()
        return gone
      }
      default:
        return next()
    }
  }

  private fill(p: FillProposal): FillProposal | null {
    let plan = this.plans.get(p.orderId)
    if (plan === undefined) {
      const f = this.f
      const uSlow = this.fillRng.uniform()
      const uPartial = this.fillRng.uniform()
      const uParts = this.fillRng.uniform()
      const eligible = p.timeInForce === "day" || p.timeInForce === "gtc"
      const slowBars = f.slowFillBars ?? 0
      const slowMs = f.slowFillMs ?? 0
      const slow = eligible && (slowBars > 0 || slowMs > 0) && uSlow < (f.slowFillRate ?? 1)
      const partial = eligible && p.type === "market" && p.qty >= 2 && uPartial < (f.partialFillRate ?? 0)
      const parts: number[] = []
      if (partial) {
        const k = p.qty >= 3 && uParts < 0.5 ? 3 : 2
        const base = Math.floor(p.qty / k)
        for (let i = 0; i < k - 1; i++) parts.push(base + (i < p.qty % k ? 1 : 0))
        this.counts.partialFills++
        this.deps.log("debug", "fault: partial fills", { orderId: p.orderId, parts: k })
      }
      if (slow) {
        this.counts.slowFills++
        this.deps.log("debug", "fault: slow fill", { orderId: p.orderId, bars: slowBars, ms: slowMs })
      }
      plan = { slowLeft: slow ? slowBars : 0, slowUntil: slow ? p.at + slowMs : Number.NEGATIVE_INFINITY, parts }
      this.plans.set(p.orderId, plan)
    }
    if (plan.slowLeft > 0 || p.at < plan.slowUntil) {
      if (plan.slowLeft > 0) plan.slowLeft--
      return null
    }
    const part = plan.parts.shift()
    if (part === undefined || part >= p.qty) return p
    return { ...p, qty: part }
  }
}
