/**
 * How to point the official SDK (`@alpacahq/alpaca-trade-api` 4.x) at the
 * emulator, unchanged.
 *
 * The `Alpaca` facade has no base-URL option (4.x derives hosts from
 * `paper`/`sandbox`), but it accepts REST `middleware`, whose `pre` hook may
 * rewrite the request URL. So:
 *
 * ```ts
 * const alpaca = new Alpaca({
 *   keyId: EMULATOR_KEY_ID,
 *   secret: EMULATOR_SECRET_KEY,
 *   middleware: [emulatorRestMiddleware(handle.url)],   // paper-api + data hosts → emulator
 * })
 * const bars = alpaca.marketData.stockStream({ feed: "iex", url: `${wsUrl(handle.url)}/v2/iex` })
 * const updates = alpaca.trading.stream({ url: `${wsUrl(handle.url)}/stream` })
 * ```
 *
 * ({@link emulatorClientOptions} and {@link emulatorStreamUrls} build exactly
 * these.) With the raw generated classes, set `basePath` instead:
 * `new trading.OrdersApi(new trading.Configuration({ basePath: handle.url, keyId, secret }))`
 * and `new marketData.StockApi(new marketData.Configuration({ basePath: handle.url, keyId, secret }))`.
 */
import type { AlpacaClientOptions, trading } from "@alpacahq/alpaca-trade-api"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY } from "./constants.js"

/** Rewrites any absolute URL onto `baseUrl`, keeping path and query. */
export const rewriteToEmulator = (url: string, baseUrl: string): string => {
  const u = new URL(url)
  return new URL(`${u.pathname}${u.search}`, baseUrl).toString()
}

/** SDK REST middleware sending every request (trading and market data hosts) to the emulator. */
export const emulatorRestMiddleware = (baseUrl: string): trading.Middleware => ({
  pre: async (context) => ({ url: rewriteToEmulator(context.url, baseUrl), init: context.init })
})

/** `http://127.0.0.1:PORT` → `ws://127.0.0.1:PORT`. */
export const wsUrl = (baseUrl: string): string => baseUrl.replace(/^http/, "ws").replace(/\/+$/, "")

/** Stream endpoints of the emulator, for the SDK streams' `url` option. */
export const emulatorStreamUrls = (
  baseUrl: string
): { readonly stocks: (feed?: "iex" | "sip" | "delayed_sip" | "test") => string; readonly trading: string } => ({
  stocks: (feed = "iex") => `${wsUrl(baseUrl)}/v2/${feed}`,
  trading: `${wsUrl(baseUrl)}/stream`
})

/** `Alpaca` constructor options pointing both REST hosts at the emulator. */
export const emulatorClientOptions = (
  baseUrl: string,
  overrides: AlpacaClientOptions = {}
): AlpacaClientOptions => ({
  keyId: EMULATOR_KEY_ID,
  secret: EMULATOR_SECRET_KEY,
  paper: true,
  ...overrides,
  middleware: [emulatorRestMiddleware(baseUrl), ...(overrides.middleware ?? [])]
})
