import type { Bar } from "./bar.js"
import { Rng } from "./rng.js"

export interface SyntheticMarketOptions {
  readonly tickers: ReadonlyArray<string>
  readonly seed: number
  /** New York trading dates, `YYYY-MM-DD`, in order; each gets 390 one-minute bars from 09:30 to 16:00 (as Alpaca serves them). */
  readonly days: ReadonlyArray<string>
  /** New York's offset from UTC over those dates, hours (−5 in winter). */
  readonly utcOffsetHours: number
}

/**
 * A seeded synthetic market with structure an agent can learn: each ticker drifts in persistent
 * regimes (up or down, switching with probability 1/2000 per minute), with a common market factor and
 * independent noise. Prices are rounded to cents; OHLC are consistent.
 */
export const syntheticMarket = (options: SyntheticMarketOptions): ReadonlyMap<string, ReadonlyArray<Bar>> => syntheticMarketWithRegimes(options).bars

/** The synthetic market and, per ticker and bar, the regime (+1 up, −1 down) that drove it: what the demo's news hints at. */
export const syntheticMarketWithRegimes = (
  options: SyntheticMarketOptions
): { readonly bars: ReadonlyMap<string, ReadonlyArray<Bar>>; readonly regimes: ReadonlyMap<string, Int8Array> } => {
  const rng = new Rng(options.seed)
  const n = options.tickers.length
  const price = options.tickers.map((_, i) => 50 + 40 * i + 20 * rng.uniform())
  const regime: Array<number> = options.tickers.map(() => (rng.uniform() < 0.5 ? 1 : -1))
  const out = options.tickers.map(() => [] as Array<Bar>)
  const regimes = options.tickers.map(() => new Int8Array(options.days.length * 390))
  const drift = 0.00004
  const sigma = 0.00067
  for (const day of options.days) {
    const open = Date.parse(`${day}T09:30:00Z`) - options.utcOffsetHours * 3_600_000
    for (let k = 0; k < 390; k++) {
      const market = rng.normal() * sigma * 0.5
      for (let i = 0; i < n; i++) {
        if (rng.uniform() < 1 / 2000) regime[i] = -regime[i]
        const r = regime[i] * drift + 0.000002 + market + rng.normal() * sigma
        const o = price[i]
        const c = o * Math.exp(r)
        const wick = Math.abs(rng.normal()) * sigma * 0.5
        const cents = (x: number) => Math.round(x * 100) / 100
        const bar: Bar = {
          time: open + k * 60_000,
          open: cents(o),
          high: cents(Math.max(o, c) * (1 + wick)),
          low: cents(Math.min(o, c) * (1 - wick)),
          close: cents(c),
          volume: 200 + Math.floor(rng.uniform() * 1800)
        }
        regimes[i][out[i].length] = regime[i]
        out[i].push(bar)
        price[i] = c
      }
    }
  }
  return { bars: new Map(options.tickers.map((t, i) => [t, out[i]])), regimes: new Map(options.tickers.map((t, i) => [t, regimes[i]])) }
}

/** Weekdays from `from` to `to` inclusive (`YYYY-MM-DD`), less the given holidays. */
export const tradingDays = (from: string, to: string, holidays: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  const days: Array<string> = []
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const d = new Date(t)
    const iso = d.toISOString().slice(0, 10)
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6 && !holidays.includes(iso)) days.push(iso)
  }
  return days
}

export const barsToCsv = (bars: ReadonlyArray<Bar>): string =>
  "date,open,high,low,close,volume\n" +
  bars.map((b) => `${new Date(b.time).toISOString().replace(".000Z", "Z")},${b.open},${b.high},${b.low},${b.close},${b.volume}`).join("\n") +
  "\n"
