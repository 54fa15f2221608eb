import * as fs from "node:fs/promises"
import * as nodePath from "node:path"
import { Context, Effect, Layer } from "effect"
import { aggregateBars, barSpacing } from "../core/aggregate.js"
import type { Bar } from "../core/bar.js"
import { parseBarsCsv } from "../core/bars-csv.js"
import { checkReadableFile, MAX_BYTES } from "../config/files.js"
import { SimBook, type SimBookOptions } from "../core/sim-book.js"
import { BarsFileError } from "../services/MarketData.js"

/** Every ticker's bars, and the sorted bar times of all of them. */
export interface BarTape {
  readonly byTicker: ReadonlyMap<string, ReadonlyArray<Bar>>
  readonly times: ReadonlyArray<number>
}

export const makeBarTape = (byTicker: ReadonlyMap<string, ReadonlyArray<Bar>>): BarTape => {
  const times = new Set<number>()
  for (const bars of byTicker.values()) for (const b of bars) times.add(b.time)
  return { byTicker, times: [...times].sort((a, b) => a - b) }
}

/**
 * Reads `<TICKER>.csv` for every ticker from a folder; any bad row is an error naming its line.
 * Bars finer than `intervalMs` (e.g. minute bars for a 5m deployment) are aggregated to it, as
 * live market data is; coarser ones are an error.
 */
export const loadBarTape = (dir: string, tickers: ReadonlyArray<string>, intervalMs: number): Effect.Effect<BarTape, BarsFileError> =>
  Effect.forEach(tickers, (ticker) => {
    const file = nodePath.join(dir, `${ticker}.csv`)
    const problem = (message: string) => new BarsFileError({ file, problems: [{ line: 0, message }] })
    return checkReadableFile(file, { maxBytes: MAX_BYTES.barsCsv, what: `the bars file for ${ticker}` }).pipe(
      Effect.mapError((e) => problem(e.detail)),
      Effect.zipRight(Effect.tryPromise({
        try: () => fs.readFile(file, "utf8"),
        catch: (e) => problem((e as NodeJS.ErrnoException).code === "ENOENT" ? `no bars file for ${ticker}` : String(e))
      })),
      Effect.flatMap((text) => {
        const parsed = parseBarsCsv(text)
        if (parsed.problems.length > 0) return Effect.fail(new BarsFileError({ file, problems: parsed.problems }))
        if (parsed.rows.length === 0) return Effect.fail(new BarsFileError({ file, problems: [{ line: 0, message: "no bars" }] }))
        const bars: ReadonlyArray<Bar> = parsed.rows.map(({ time, open, high, low, close, volume }) => ({ time, open, high, low, close, volume }))
        const spacing = barSpacing(bars) ?? intervalMs
        if (spacing > intervalMs) {
          return Effect.fail(new BarsFileError({ file, problems: [{ line: 0, message: `bars are ${spacing / 60_000} minutes apart, coarser than the interval (${intervalMs / 60_000} minutes)` }] }))
        }
        return Effect.succeed([ticker, spacing < intervalMs ? aggregateBars(bars, intervalMs) : bars] as const)
      })
    )
  }).pipe(Effect.map((entries) => makeBarTape(new Map(entries))))

/** The ticker's bar in progress at `at` on the tape: the first bar ending after it (the shared fill model's bar). */
export const barInProgress = (tape: BarTape, barMs: number) => (ticker: string, at: number): Bar | undefined => {
  const bars = tape.byTicker.get(ticker) ?? []
  let lo = 0
  let hi = bars.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bars[mid].time + barMs <= at) lo = mid + 1
    else hi = mid
  }
  return bars[lo]
}

/** The simulated market both simulation adapters share: the bar tape and the paper book. */
export class SimExchange extends Context.Tag("rl-paper-trader/SimExchange")<SimExchange, {
  readonly tape: BarTape
  readonly book: SimBook
}>() {}

export const SimExchangeLive = (tape: BarTape, options: SimBookOptions): Layer.Layer<SimExchange> =>
  Layer.sync(SimExchange, () => ({ tape, book: new SimBook(options) }))
