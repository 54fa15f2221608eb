/** One OHLCV bar. `time` is the bar's start, epoch milliseconds UTC (Alpaca's `t`). */
export interface Bar {
  readonly time: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

export type Side = "buy" | "sell"

export type TimeInForce = "day" | "gtc" | "ioc" | "fok"

export interface OrderRequest {
  readonly ticker: string
  readonly side: Side
  readonly qty: number
  readonly type: "market" | "limit"
  readonly limitPrice?: number | undefined
  readonly timeInForce: TimeInForce
  readonly clientOrderId: string
}

export type OrderStatus =
  | "new"
  | "accepted"
  | "pending_new"
  | "partially_filled"
  | "filled"
  | "canceled"
  | "expired"
  | "rejected"

export interface Order {
  readonly id: string
  readonly clientOrderId: string
  readonly ticker: string
  readonly side: Side
  readonly qty: number
  readonly filledQty: number
  readonly filledAvgPrice: number | undefined
  readonly status: OrderStatus
  readonly submittedAt: number
}

export interface Fill {
  readonly time: number
  readonly ticker: string
  readonly side: Side
  readonly qty: number
  readonly price: number
  readonly clientOrderId: string
  readonly orderId: string
}

/** What the broker tells us about an order after it was submitted. */
export type TradeUpdate =
  | { readonly _tag: "Fill"; readonly fill: Fill; readonly order: Order; readonly partial: boolean }
  | { readonly _tag: "Canceled" | "Rejected" | "Expired"; readonly order: Order; readonly time: number; readonly reason?: string | undefined }

export interface Position {
  readonly ticker: string
  readonly qty: number
  readonly avgEntryPrice: number
}

export interface Account {
  readonly cash: number
  readonly equity: number
  readonly buyingPower: number
}

/** The bars of every ticker for one bar time; a ticker without a bar is absent. */
export interface BarSlice {
  /** The bars' start time, epoch ms. */
  readonly time: number
  readonly bars: ReadonlyMap<string, Bar>
}

export const isFinalStatus = (status: OrderStatus): boolean =>
  status === "filled" || status === "canceled" || status === "expired" || status === "rejected"
