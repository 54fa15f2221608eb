import { Either, ParseResult, Schema } from "effect"

/**
 * Every record the journal holds, one Schema per `type`. One writer (the Journal service) appends
 * them; one reader ({@link readJournal}) decodes them for every consumer: restart recovery,
 * compare, chaos, reports. Fields are snake_case as written; times are ISO-8601 UTC strings.
 *
 * Version 2 (this one) adds `portfolio` and `reconcile` records, `journal_version` in
 * `session_start` and the ledger state in `decision`; version 1 journals (no `journal_version`)
 * decode unchanged, since every field added since is optional.
 */
export const JOURNAL_VERSION = 2

const Time = Schema.String
const Side = Schema.Literal("buy", "sell")
/** JSON writes a non-finite number as null. */
const Num = Schema.NullOr(Schema.Number)

export const OrderLine = Schema.Struct({
  ticker: Schema.String,
  side: Side,
  qty: Schema.Number,
  client_order_id: Schema.String
})
export type OrderLine = typeof OrderLine.Type

export const HoldLine = Schema.Struct({ ticker: Schema.String, reason: Schema.String })
export type HoldLine = typeof HoldLine.Type

export const RiskLine = Schema.Struct({
  ticker: Schema.String,
  side: Side,
  requested: Schema.Number,
  allowed: Schema.Number,
  rule: Schema.String
})
export type RiskLine = typeof RiskLine.Type

export const OpenOrderLine = Schema.Struct({
  client_order_id: Schema.String,
  ticker: Schema.String,
  side: Side,
  qty: Schema.Number,
  filled_qty: Schema.Number
})
export type OpenOrderLine = typeof OpenOrderLine.Type

/** What the decision read: the ledger's snapshot (cash, holdings in the model's ticker order, and what open orders reserve). */
export const DecisionState = Schema.Struct({
  cash: Schema.Number,
  holdings: Schema.Array(Schema.Number),
  /** Cash committed to open buys (their estimated cost). */
  reserved_cash: Schema.Number,
  /** Shares per ticker already being sold by open sells. */
  reserved_shares: Schema.Array(Schema.Number),
  /** The closes the decision priced at. */
  prices: Schema.Array(Schema.Number)
})
export type DecisionState = typeof DecisionState.Type

const rec = <T extends string, F extends Schema.Struct.Fields>(type: T, fields: F) => Schema.Struct({ type: Schema.Literal(type), ...fields })

export const SessionStart = rec("session_start", {
  time: Time,
  journal_version: Schema.optional(Schema.Number),
  deployment: Schema.String,
  model: Schema.Struct({ name: Schema.String, version: Schema.String, sha256: Schema.String }),
  tickers: Schema.Array(Schema.String),
  indicators: Schema.Array(Schema.String),
  interval: Schema.String,
  /** `backtest` or `trade`. */
  mode: Schema.optional(Schema.String)
})

/** The news a decision saw for one ticker: each article's id and the version (`updated_at`) used, and the news features' values by name. */
export const NewsSeen = Schema.Struct({
  ticker: Schema.String,
  items: Schema.Array(Schema.Struct({ id: Schema.Number, updated_at: Time })),
  features: Schema.Record({ key: Schema.String, value: Num })
})
export type NewsSeen = typeof NewsSeen.Type

export const Decision = rec("decision", {
  time: Time,
  bar_time: Time,
  observation: Schema.Array(Num),
  action: Schema.Array(Num),
  orders: Schema.Array(OrderLine),
  holds: Schema.optional(Schema.Array(HoldLine)),
  risk: Schema.optional(Schema.Array(RiskLine)),
  state: Schema.optional(DecisionState),
  /** For a model with news features: what each ticker's features were computed from. */
  news: Schema.optional(Schema.Array(NewsSeen))
})

/**
 * The policy's action had a NaN or ±Infinity: no orders for the step and no `decision` record (this
 * replaces it). `action` as JSON writes it (non-finite as null); `problem` says which index was which.
 */
export const PolicyError = rec("policy_error", { time: Time, bar_time: Time, action: Schema.Array(Num), problem: Schema.String })

export const Flatten = rec("flatten", { time: Time, bar_time: Time, orders: Schema.Array(OrderLine) })

export const Portfolio = rec("portfolio", {
  time: Time,
  bar_time: Time,
  cash: Schema.Number,
  equity: Schema.Number,
  positions: Schema.Record({ key: Schema.String, value: Schema.Number }),
  prices: Schema.Record({ key: Schema.String, value: Schema.Number }),
  open_orders: Schema.Array(OpenOrderLine)
})

const orderFields = {
  time: Time,
  ticker: Schema.String,
  side: Side,
  qty: Schema.Number,
  client_order_id: Schema.String,
  recovered: Schema.optional(Schema.Boolean)
}
export const FillRecord = rec("fill", { ...orderFields, price: Num, fee: Schema.optional(Schema.Number) })
export const PartialFillRecord = rec("partial_fill", { ...orderFields, price: Num, fee: Schema.optional(Schema.Number) })
export const Rejection = rec("rejection", { ...orderFields, reason: Schema.optional(Schema.String) })
export const Cancel = rec("cancel", { ...orderFields, reason: Schema.optional(Schema.String) })
export const Expiry = rec("expiry", { ...orderFields, reason: Schema.optional(Schema.String) })
export const IntentUnsent = rec("intent_unsent", { ...orderFields, reason: Schema.String })
export const OrderError = rec("order_error", { time: Time, ticker: Schema.String, client_order_id: Schema.String, error: Schema.String })

export const ReconcileDifference = Schema.Struct({
  /** `cash`, `position` or `open_order`. */
  what: Schema.Literal("cash", "position", "open_order"),
  ticker: Schema.optional(Schema.String),
  client_order_id: Schema.optional(Schema.String),
  ledger: Num,
  broker: Num
})
export type ReconcileDifference = typeof ReconcileDifference.Type
/** The broker's account, positions or open orders differed from the ledger's; the broker's were adopted. */
export const Reconcile = rec("reconcile", { time: Time, differences: Schema.Array(ReconcileDifference) })

export const Recovery = rec("recovery", { time: Time, last_decision_bar_time: Schema.NullOr(Time), unresolved_orders: Schema.Number })
export const PositionCheck = rec("position_check", { time: Time, ticker: Schema.String, journal: Schema.Number, broker: Schema.Number })
export const JournalRepaired = rec("journal_repaired", { dropped_bytes: Schema.Number, kept_records: Schema.Number })
export const SessionEnd = rec("session_end", {
  time: Time,
  steps: Schema.Number,
  orders: Schema.Number,
  fills: Schema.Number,
  rejections: Schema.Number,
  /** The stop's bound (settle timeout plus a margin) ran out before the session settled: the broker's last word was not heard. */
  stopped_by_deadline: Schema.optional(Schema.Boolean)
})
/** The session reached its close with flatten on and still held positions or open (flatten) orders: they stay overnight. */
export const UnfilledAtClose = rec("unfilled_at_close", {
  time: Time,
  positions: Schema.Record({ key: Schema.String, value: Schema.Number }),
  open_orders: Schema.Array(OpenOrderLine)
})
export const SessionError = rec("session_error", { time: Time, error: Schema.String })
export const BadBar = rec("bad_bar", { time: Time, ticker: Schema.String, bar_time: Time, reason: Schema.String, source: Schema.String })
export const ActorFailure = rec("actor_failure", { time: Time, ticker: Schema.String, error: Schema.String })
/**
 * The broker or the market data stopped answering (after the retries a call allows): journaled once
 * when it starts, with what failed; the session holds its steps until `outage_end`.
 */
export const Outage = rec("outage", { time: Time, service: Schema.Literal("broker", "market_data"), cause: Schema.String })
/** The service answers again; `since` is when its outage was journaled. */
export const OutageEnd = rec("outage_end", { time: Time, service: Schema.Literal("broker", "market_data"), since: Time, seconds: Schema.Number })
export const NoHistory = rec("no_history", { time: Time, ticker: Schema.String, reason: Schema.String })
export const KillSwitch = rec("kill_switch", { time: Time, loss: Schema.Number, limit: Schema.Number, dayStartEquity: Schema.Number })
export const CircuitOpen = rec("circuit_open", { time: Time, rejections: Schema.Number, untilStep: Schema.Number })
export const CircuitClosed = rec("circuit_closed", { time: Time })

/** A feature's value against its training statistics (model.yaml `observation_stats`). */
export const DriftLine = Schema.Struct({
  /** The observation feature's name, e.g. `macd[SYNA]`, `cash`. */
  feature: Schema.String,
  index: Schema.Number,
  value: Num,
  /** The training range it left, and the rolling population stability index over the window. */
  min: Schema.Number,
  max: Schema.Number,
  psi: Schema.optional(Num),
  /** `out_of_range` (the value left the training range) or `psi` (the rolling PSI passed its threshold). */
  reason: Schema.Literal("out_of_range", "psi")
})
export type DriftLine = typeof DriftLine.Type
/** Observations left the training distribution: journaled once per episode, when it starts, naming the features. */
export const Drift = rec("drift", { time: Time, bar_time: Time, features: Schema.Array(DriftLine) })
/** Every feature is back within its training statistics; `since` is when the episode's `drift` was journaled. */
export const DriftEnd = rec("drift_end", { time: Time, bar_time: Time, since: Time })

export const JournalRecord = Schema.Union(
  SessionStart,
  Decision,
  PolicyError,
  Flatten,
  Portfolio,
  FillRecord,
  PartialFillRecord,
  Rejection,
  Cancel,
  Expiry,
  IntentUnsent,
  OrderError,
  Reconcile,
  Recovery,
  PositionCheck,
  JournalRepaired,
  SessionEnd,
  UnfilledAtClose,
  SessionError,
  BadBar,
  ActorFailure,
  Outage,
  OutageEnd,
  NoHistory,
  KillSwitch,
  CircuitOpen,
  CircuitClosed,
  Drift,
  DriftEnd
)
export type JournalRecord = typeof JournalRecord.Type
export type RecordType = JournalRecord["type"]
export type RecordOf<T extends RecordType> = Extract<JournalRecord, { readonly type: T }>

export type DecisionRecord = RecordOf<"decision">
export type PortfolioRecord = RecordOf<"portfolio">
export type FillLike = RecordOf<"fill"> | RecordOf<"partial_fill">

export const isFill = (r: JournalRecord): r is FillLike => r.type === "fill" || r.type === "partial_fill"
export const ofType = <T extends RecordType>(records: ReadonlyArray<JournalRecord>, type: T): ReadonlyArray<RecordOf<T>> =>
  records.filter((r): r is RecordOf<T> => r.type === type)

/** A line the reader could not use: not JSON, no known `type`, or a field of the wrong shape. */
export interface UnreadableLine {
  readonly line: number
  readonly problem: string
}

export interface JournalContents {
  readonly records: ReadonlyArray<JournalRecord>
  /** Bytes to keep: everything up to the last newline. */
  readonly keepBytes: number
  /** Bytes after the last newline (a torn, unterminated last line). */
  readonly tornBytes: number
  readonly unreadable: ReadonlyArray<UnreadableLine>
  /** `journal_version` of the first `session_start` (1 when a journal predates versions), undefined when there is none. */
  readonly version: number | undefined
}

const decodeRecord = Schema.decodeUnknownEither(JournalRecord, { onExcessProperty: "preserve" })

/** Decodes one parsed JSON value as a journal record. */
export const decodeJournalRecord = (value: unknown): Either.Either<JournalRecord, string> =>
  Either.mapLeft(decodeRecord(value), (e) => ParseResult.TreeFormatter.formatErrorSync(e).split("\n").slice(0, 3).join(" "))

/**
 * The one journal reader. Every newline-terminated line is a record; an unterminated tail is torn
 * (a crash mid-write) and reported, not read. Lines that do not decode are reported with their number.
 */
export const readJournal = (bytes: Uint8Array): JournalContents => {
  const keepBytes = bytes.lastIndexOf(0x0a) + 1
  const lines = new TextDecoder().decode(bytes.subarray(0, keepBytes)).split("\n")
  lines.pop()
  const records: Array<JournalRecord> = []
  const unreadable: Array<UnreadableLine> = []
  lines.forEach((text, i) => {
    if (text.trim() === "") return
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      unreadable.push({ line: i + 1, problem: "not JSON" })
      return
    }
    const decoded = decodeJournalRecord(value)
    if (Either.isRight(decoded)) records.push(decoded.right)
    else unreadable.push({ line: i + 1, problem: decoded.left })
  })
  const start = records.find((r): r is RecordOf<"session_start"> => r.type === "session_start")
  return { records, keepBytes, tornBytes: bytes.length - keepBytes, unreadable, version: start === undefined ? undefined : start.journal_version ?? 1 }
}
