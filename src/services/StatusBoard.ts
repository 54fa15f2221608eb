import { Context, Effect } from "effect"

/** An order as a session's status shows it. */
export interface StatusOrder {
  readonly client_order_id: string
  readonly ticker: string
  readonly side: "buy" | "sell"
  readonly qty: number
}

/** What a session holds now (the shape of `session.status()` in src/programs/decide.ts). */
export interface SessionView {
  readonly steps: number
  readonly cash: number
  readonly equity: number
  readonly initialEquity: number
  readonly positions: Readonly<Record<string, number>>
  readonly prices: Readonly<Record<string, number>>
  readonly openOrders: ReadonlyArray<StatusOrder & { readonly filled_qty: number }>
  readonly guardMode: string
  readonly lastDecision:
    | {
        readonly barTime: number
        readonly decisionTime: number
        readonly orders: ReadonlyArray<StatusOrder>
        readonly holds: ReadonlyArray<{ readonly ticker: string; readonly reason: string }>
      }
    | undefined
}

/** A running session as the board reads it: on every `/status`, between steps or in the middle of one. */
export interface StatusSource {
  /** The session's clock (market time), epoch ms. */
  readonly now: () => number
  readonly session: () => SessionView
}

/** The JSON `/status` serves (times ISO 8601 UTC, money in the account's currency). */
export interface StatusReport {
  /** The session's clock when the report was made: market time (a rehearsal's virtual time). */
  readonly market_time: string
  readonly steps: number
  readonly guard_mode: string
  readonly cash: number
  readonly equity: number
  /** Equity now against the equity at the last close before today (New York): the previous day's last step, or the session's start if it began today. */
  readonly pnl_today: { readonly day: string; readonly start_equity: number; readonly equity: number; readonly pnl: number; readonly return: number }
  /** Held positions, valued at the latest close the session has seen. */
  readonly positions: Readonly<Record<string, { readonly qty: number; readonly price: number | null; readonly value: number | null }>>
  readonly open_orders: ReadonlyArray<StatusOrder & { readonly filled_qty: number }>
  /** The latest decisions, newest first. */
  readonly last_decisions: ReadonlyArray<{
    readonly bar_time: string
    readonly decided_at: string
    readonly orders: ReadonlyArray<StatusOrder>
    readonly holds: ReadonlyArray<{ readonly ticker: string; readonly reason: string }>
  }>
  /** Each stream the session listens to (`market_data`, `trade_updates`, …): connected or not, since when. */
  readonly streams: Readonly<Record<string, { readonly connected: boolean; readonly since: string }>>
  /** Each ticker's latest bar: when it started and ended, and how old it is (market time minus its end). */
  readonly bars: Readonly<Record<string, { readonly bar_time: string; readonly bar_end: string; readonly age_seconds: number }>>
}

export interface StatusBoardService {
  /** Shows this session from now on; its equity opens the day's P&L. */
  readonly attach: (source: StatusSource) => Effect.Effect<void>
  /** A stream's connection went up or down; any name (news may come later). */
  readonly stream: (name: string, connected: boolean) => Effect.Effect<void>
  /** A ticker's latest bar, and when it ended (market time, epoch ms). */
  readonly bar: (ticker: string, barTime: number, barEnd: number) => Effect.Effect<void>
  /** A step was taken: its decision joins the last few, its equity the day's P&L. */
  readonly stepped: Effect.Effect<void>
  /** What `/status` serves; `undefined` before a session is attached. */
  readonly report: Effect.Effect<StatusReport | undefined>
}

const nothing: StatusBoardService = {
  attach: () => Effect.void,
  stream: () => Effect.void,
  bar: () => Effect.void,
  stepped: Effect.void,
  report: Effect.succeed(undefined)
}

/**
 * The live status of a session, for `/status`. Programs and stream adapters write to it; a server
 * reads it. Unless a board is provided (src/layers/StatusBoardMemory.ts), writes go nowhere.
 */
export class StatusBoard extends Context.Reference<StatusBoard>()("rl-paper-trader/StatusBoard", { defaultValue: () => nothing }) {}
