/** The domain's bar (src/domain/Trading.ts), for the pure code that reads it. */
export type { Bar } from "../domain/Trading.js"

/** A result without exceptions, for pure code that validates input. */
export type Result<A, E = string> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly error: E }

export const ok = <A>(value: A): Result<A, never> => ({ ok: true, value })
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error })
