/** One OHLCV bar. `time` is the bar's start, epoch milliseconds UTC (Alpaca's `t`). */
export interface Bar {
  readonly time: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

/** A result without exceptions, for pure code that validates input. */
export type Result<A, E = string> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly error: E }

export const ok = <A>(value: A): Result<A, never> => ({ ok: true, value })
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error })
