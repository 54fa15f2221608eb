/**
 * Alpaca's market-data subscription plans, as far as they change answers.
 *
 * - `basic` (a new paper account's plan, the default): SIP data is 15 minutes
 *   delayed. A REST bars request with `feed=sip` whose end (or now, when it has
 *   none) is later than market time − 15 minutes gets 403
 *   `{"message":"subscription does not permit querying recent SIP data"}`, and
 *   the real-time SIP stream `/v2/sip` answers a valid `auth` with
 *   `[{"T":"error","code":409,"msg":"insufficient subscription"}]` and closes.
 *   A request without `feed` uses `iex` on this plan (Alpaca: "Default is `iex`
 *   for free plans and `sip` for paid"), so it is never refused.
 * - `algo_trader_plus` (paid): everything is allowed.
 */
import type { HttpResponse } from "./middleware.js"

export const PLANS = ["basic", "algo_trader_plus"] as const
export type Plan = (typeof PLANS)[number]

/** How far behind market time SIP data must end on the `basic` plan. */
export const SIP_DELAY_MS = 15 * 60_000

const SIP_STREAM_PATH = "/v2/sip"

const RECENT_SIP: HttpResponse = { status: 403, body: { message: "subscription does not permit querying recent SIP data" } }

export const isPlan = (v: unknown): v is Plan => typeof v === "string" && (PLANS as ReadonlyArray<string>).includes(v)

/** The 403 a bars request on `feed` ending at `end` gets at market time `marketNow`, or undefined if `plan` permits it. */
export const sipRefusal = (plan: Plan, feed: string | null, end: number, marketNow: number): HttpResponse | undefined =>
  plan === "basic" && feed === "sip" && end > marketNow - SIP_DELAY_MS ? RECENT_SIP : undefined

/** Whether `plan` may authenticate on the market-data stream at `path` (`/v2/iex`, `/v2/sip`, …). */
export const streamAllowed = (plan: Plan, path: string): boolean => plan !== "basic" || path !== SIP_STREAM_PATH
