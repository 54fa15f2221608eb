/**
 * FinRL's indicator names, computed exactly as stockstats (the library FinRL builds its training
 * features with) computes them over a whole series, but incrementally, bar by bar.
 *
 * Definitions follow the current numpy-based jealous/stockstats `stockstats.py` (the one that writes
 * 50 for the first RSI and 0 where a CCI/DX divisor is 0; older releases gave NaN there and used
 * partial-window MADs for CCI), and are verified bar by bar against
 * test/fixtures/stockstats/002032.finrl-indicators.csv (bit-identical on all 8 FinRL columns).
 * The pandas primitives underneath are in ./pandas.ts.
 *
 * - EMA `close_N_ema`: pandas `ewm(span=N, adjust=True, min_periods=1).mean()`; defined from bar 1.
 * - MACD: `macd = ema12 - ema26`, `macds = ema9(macd)`, `macdh = macd - macds` (all EMAs as above).
 * - SMA `close_N_sma`: `rolling(N, min_periods=1).mean()` (partial windows early on).
 * - BOLL: `boll = sma20(close)`, `boll_ub/lb = boll ± 2 × rolling(20, min_periods=1).std()` with the
 *   SAMPLE std (ddof=1), so the first bar is NaN and later partial windows are used.
 * - RSI `rsi_N`: close diffs (0 on bar 1) split into gains/losses, each smoothed with SMMA =
 *   `ewm(alpha=1/N, adjust=True, min_periods=0)`; `100 × up / (up + down)`, 50 when both are 0
 *   and always 50 on bar 1.
 * - CCI `cci_N`: typical price `(close + high + low) / 3`, `(tp - sma_N(tp)) / (0.015 × MAD_N)`
 *   where MAD is the mean absolute deviation over a FULL N-bar window (0 before that, which makes
 *   CCI 0 for the first N-1 bars), and 0 whenever the divisor is 0. (stockstats switches tp to
 *   amount / volume when the frame has an `amount` column; FinRL only passes OHLCV, and the
 *   fixture was made that way too even though 002032.csv carries `amount`.)
 * - DX `dx_N`: +DM/-DM from high/low diffs (0 on bar 1), each SMMA_N'd; ATR = SMMA_N of the true
 *   range (previous close = own close on bar 1); `+DI = +DM / ATR × 100`, likewise -DI;
 *   `dx = |+DI - -DI| / (+DI + -DI) × 100`, 0 when the sum is 0 (NaN when ATR is 0, as 0/0).
 *
 * One deliberate difference: for a series SHORTER than N bars, stockstats' CCI is NaN everywhere
 * (its MAD is all-NaN then); a stream cannot know the series length in advance, so it gives the
 * same 0s it gives for the first N-1 bars of a long series.
 */
import type { Bar } from "../bar.js"
import { err, ok, type Result } from "../bar.js"
import { EwmMean, numpySum, Ring, RollingMean, RollingStd } from "./pandas.js"
import type { IndicatorDefinition, IndicatorStream } from "./types.js"

type Column = "open" | "high" | "low" | "close" | "volume"
const COLUMNS: ReadonlyArray<Column> = ["open", "high", "low", "close", "volume"]

const stream = (next: (bar: Bar) => number): IndicatorStream => ({ next })

const define = (name: string, warmupBars: number, create: () => IndicatorStream): IndicatorDefinition => ({
  name,
  warmupBars,
  create
})

/** `ewm(span=N, min_periods=1)` over a column. */
const emaStream = (column: Column, span: number): IndicatorStream => {
  const ema = EwmMean.span(span, 1)
  return stream((bar) => ema.next(bar[column]))
}

/** `rolling(N, min_periods=1).mean()` over a column. */
const smaStream = (column: Column, window: number): IndicatorStream => {
  const sma = new RollingMean(window, 1)
  return stream((bar) => sma.next(bar[column]))
}

type MacdPart = "macd" | "macds" | "macdh"
const macdStream = (part: MacdPart, fast: number, slow: number, signal: number): IndicatorStream => {
  const emaFast = EwmMean.span(fast, 1)
  const emaSlow = EwmMean.span(slow, 1)
  const emaSignal = EwmMean.span(signal, 1)
  return stream((bar) => {
    const macd = emaFast.next(bar.close) - emaSlow.next(bar.close)
    const macds = emaSignal.next(macd)
    return part === "macd" ? macd : part === "macds" ? macds : macd - macds
  })
}

type BollPart = "boll" | "boll_ub" | "boll_lb"
const BOLL_STD_TIMES = 2
const bollStream = (part: BollPart, window: number): IndicatorStream => {
  const mean = new RollingMean(window, 1)
  const std = new RollingStd(window, 1, 1)
  return stream((bar) => {
    const m = mean.next(bar.close)
    const width = BOLL_STD_TIMES * std.next(bar.close)
    return part === "boll" ? m : part === "boll_ub" ? m + width : m - width
  })
}

/** stockstats' SMMA: `ewm(alpha=1/N, adjust=True, min_periods=0)`. */
const smma = (window: number): EwmMean => EwmMean.alpha(1 / window, 0)

const rsiStream = (window: number): IndicatorStream => {
  const up = smma(window)
  const down = smma(window)
  let prevClose: number | undefined
  return stream((bar) => {
    const first = prevClose === undefined
    const diff = first ? 0 : bar.close - (prevClose as number)
    prevClose = bar.close
    const upS = up.next(diff > 0 ? diff : 0)
    const downS = down.next(diff < 0 ? -diff : 0)
    if (first) return 50
    const total = upS + downS
    return total !== 0 ? 100 * (upS / total) : 50
  })
}

// Rolling mean-absolute-deviation over an N-bar window costs O(N) per bar (it is not decomposable).
const cciStream = (window: number): IndicatorStream => {
  const tpMean = new RollingMean(window, 1)
  const tpWindow = new Ring(window)
  const scratch = new Float64Array(window)
  return stream((bar) => {
    const tp = (bar.close + bar.high + bar.low) / 3
    const sma = tpMean.next(tp)
    tpWindow.push(tp)
    let mad = 0
    if (tpWindow.length === window) {
      for (let i = 0; i < window; i++) scratch[i] = tpWindow.at(i)
      const mean = numpySum(scratch) / window
      for (let i = 0; i < window; i++) scratch[i] = Math.abs(scratch[i] - mean)
      mad = numpySum(scratch) / window
    }
    const divisor = 0.015 * mad
    return divisor !== 0 ? (tp - sma) / divisor : 0
  })
}

const dxStream = (window: number): IndicatorStream => {
  const pdmS = window > 1 ? smma(window) : undefined
  const ndmS = window > 1 ? smma(window) : undefined
  const atrS = smma(window)
  let prev: Bar | undefined
  return stream((bar) => {
    const hd = prev === undefined ? 0 : bar.high - prev.high
    const ld = prev === undefined ? 0 : -(bar.low - prev.low)
    const prevClose = prev === undefined ? bar.close : prev.close
    prev = bar
    const p = hd > 0 && hd > ld ? hd : 0
    const n = ld > 0 && ld > hd ? ld : 0
    const pdm = pdmS ? pdmS.next(p) : p
    const ndm = ndmS ? ndmS.next(n) : n
    const tr = Math.max(bar.high - bar.low, Math.abs(bar.high - prevClose), Math.abs(bar.low - prevClose))
    const atr = atrS.next(Number.isNaN(tr) ? 0 : tr)
    const pdi = (pdm / atr) * 100
    const ndi = (ndm / atr) * 100
    const divisor = pdi + ndi
    return (divisor !== 0 ? Math.abs(pdi - ndi) / divisor : 0) * 100
  })
}

const positiveWindow = (name: string, text: string): Result<number, string> => {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) {
    return err(`stockstats indicator '${name}': window must be a positive integer, got '${text}'`)
  }
  return ok(n)
}

const MACD_DEFAULT = [12, 26, 9] as const
const DEFAULT_WINDOWS = { rsi: 14, cci: 14, dx: 14, boll: 20 } as const

/** Names this module understands, for error messages. */
export const STOCKSTATS_NAMES =
  "macd, macds, macdh, boll, boll_ub, boll_lb (optionally boll_N, boll_ub_N, boll_lb_N), " +
  "rsi_N, cci_N, dx_N (rsi/cci/dx alone use 14), <column>_N_sma, <column>_N_ema " +
  "(column: open, high, low, close, volume)"

/**
 * Resolves a stockstats/FinRL indicator name. Returns undefined when `name` is not a
 * stockstats name at all (so the caller can try other catalogues).
 */
export const resolveStockstats = (name: string): Result<IndicatorDefinition, string> | undefined => {
  if (name === "macd" || name === "macds" || name === "macdh") {
    const [fast, slow, signal] = MACD_DEFAULT
    const warmup = name === "macd" ? slow : slow + signal - 1
    return ok(define(name, warmup, () => macdStream(name, fast, slow, signal)))
  }
  const boll = /^(boll_ub|boll_lb|boll)(?:_([^_]+))?$/.exec(name)
  if (boll) {
    const part = boll[1] as BollPart
    const window = boll[2] === undefined ? ok(DEFAULT_WINDOWS.boll) : positiveWindow(name, boll[2])
    if (!window.ok) return window
    if (window.value < 2) return err(`stockstats indicator '${name}': window must be at least 2 (sample std)`)
    return ok(define(name, window.value, () => bollStream(part, window.value)))
  }
  const single = /^(rsi|cci|dx)(?:_(.*))?$/.exec(name)
  if (single) {
    const kind = single[1] as "rsi" | "cci" | "dx"
    const window = single[2] === undefined ? ok(DEFAULT_WINDOWS[kind]) : positiveWindow(name, single[2])
    if (!window.ok) return window
    const n = window.value
    switch (kind) {
      case "rsi":
        return ok(define(name, n + 1, () => rsiStream(n)))
      case "cci":
        return ok(define(name, n, () => cciStream(n)))
      case "dx":
        return ok(define(name, n + 1, () => dxStream(n)))
    }
  }
  const ma = /^([a-z]+)_(.*)_(sma|ema)$/.exec(name)
  if (ma && (COLUMNS as ReadonlyArray<string>).includes(ma[1])) {
    const column = ma[1] as Column
    const window = positiveWindow(name, ma[2])
    if (!window.ok) return window
    const n = window.value
    return ok(
      ma[3] === "sma"
        ? define(name, n, () => smaStream(column, n))
        : define(name, n, () => emaStream(column, n))
    )
  }
  return undefined
}
