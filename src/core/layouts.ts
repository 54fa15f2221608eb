import type { LayoutName } from "../domain/Model.js"

/** What a layout can read: the portfolio at a decision, tickers in the model's order. */
export interface PortfolioView {
  readonly cash: number
  readonly closes: ReadonlyArray<number>
  readonly holdings: ReadonlyArray<number>
  /** `indicators[ticker][indicator]`, indicators in the model's order. */
  readonly indicators: ReadonlyArray<ReadonlyArray<number>>
  readonly turbulence: number
  readonly turbulenceThreshold: number | undefined
  /** Steps since each ticker last traded (FinRL's numpy env `stocks_cd`). */
  readonly cooldown: ReadonlyArray<number>
}

/** One run of the observation vector: where the values come from and how they are scaled. */
export type Segment =
  | { readonly source: "cash"; readonly scale: number }
  | { readonly source: "close" | "holdings" | "cooldown"; readonly scale: number }
  | { readonly source: "turbulence-sigmoid"; readonly scale: number }
  | { readonly source: "turbulence-flag" }
  | { readonly source: "indicators"; readonly order: "by-indicator" | "by-ticker"; readonly scale: number }

/** The observation layouts, as data: a new layout is a new entry here. */
export const layouts: Record<LayoutName, ReadonlyArray<Segment>> = {
  // FinRL StockTradingEnv: [cash] + close[N] + holdings[N] + each indicator for all tickers, indicator by indicator.
  "finrl-stock-trading-df": [
    { source: "cash", scale: 1 },
    { source: "close", scale: 1 },
    { source: "holdings", scale: 1 },
    { source: "indicators", order: "by-indicator", scale: 1 }
  ],
  // FinRL's numpy env (its Alpaca paper trader): power-of-two scaling, turbulence features, cooldown, indicators ticker by ticker.
  "finrl-stock-trading-np": [
    { source: "cash", scale: 2 ** -12 },
    { source: "turbulence-sigmoid", scale: 2 ** -5 },
    { source: "turbulence-flag" },
    { source: "close", scale: 2 ** -6 },
    { source: "holdings", scale: 2 ** -6 },
    { source: "cooldown", scale: 1 },
    { source: "indicators", order: "by-ticker", scale: 2 ** -7 }
  ]
}

const segmentSize = (segment: Segment, tickers: number, indicators: number): number => {
  switch (segment.source) {
    case "cash":
    case "turbulence-sigmoid":
    case "turbulence-flag":
      return 1
    case "close":
    case "holdings":
    case "cooldown":
      return tickers
    case "indicators":
      return tickers * indicators
  }
}

export const observationSize = (layout: LayoutName, tickers: number, indicators: number): number =>
  layouts[layout].reduce((n, s) => n + segmentSize(s, tickers, indicators), 0)

/** FinRL's `sigmoid_sign`: squashes the unbounded turbulence index into (−thresh/2, thresh/2). */
export const sigmoidSign = (x: number, thresh: number): number =>
  (1 / (1 + Math.exp((-x / thresh) * Math.E)) - 0.5) * thresh

/** Builds the observation vector (float64, before any cast to the model's input type). */
export const buildObservation = (layout: LayoutName, view: PortfolioView): Float64Array => {
  const n = view.closes.length
  const k = n === 0 ? 0 : view.indicators[0].length
  const out = new Float64Array(observationSize(layout, n, k))
  let at = 0
  for (const segment of layouts[layout]) {
    switch (segment.source) {
      case "cash":
        out[at++] = view.cash * segment.scale
        break
      case "turbulence-sigmoid":
        out[at++] = view.turbulenceThreshold === undefined ? 0 : sigmoidSign(view.turbulence, view.turbulenceThreshold) * segment.scale
        break
      case "turbulence-flag":
        out[at++] = view.turbulenceThreshold !== undefined && view.turbulence >= view.turbulenceThreshold ? 1 : 0
        break
      case "close":
      case "holdings":
      case "cooldown": {
        const values = segment.source === "close" ? view.closes : segment.source === "holdings" ? view.holdings : view.cooldown
        for (let i = 0; i < n; i++) out[at++] = values[i] * segment.scale
        break
      }
      case "indicators":
        if (segment.order === "by-indicator") {
          for (let j = 0; j < k; j++) for (let i = 0; i < n; i++) out[at++] = view.indicators[i][j] * segment.scale
        } else {
          for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[at++] = view.indicators[i][j] * segment.scale
        }
        break
    }
  }
  return out
}

/**
 * A name for every entry of the observation, in its order: `cash`, `close[T]`, `holding[T]`,
 * `cooldown[T]`, `turbulence`, `turbulence_flag`, `<indicator>[T]` — what drift alarms and reports call them.
 */
export const observationFeatureNames = (layout: LayoutName, tickers: ReadonlyArray<string>, indicatorNames: ReadonlyArray<string>): ReadonlyArray<string> =>
  layouts[layout].flatMap((segment): ReadonlyArray<string> => {
    switch (segment.source) {
      case "cash":
        return ["cash"]
      case "turbulence-sigmoid":
        return ["turbulence"]
      case "turbulence-flag":
        return ["turbulence_flag"]
      case "close":
        return tickers.map((t) => `close[${t}]`)
      case "holdings":
        return tickers.map((t) => `holding[${t}]`)
      case "cooldown":
        return tickers.map((t) => `cooldown[${t}]`)
      case "indicators":
        return segment.order === "by-indicator"
          ? indicatorNames.flatMap((k) => tickers.map((t) => `${k}[${t}]`))
          : tickers.flatMap((t) => indicatorNames.map((k) => `${k}[${t}]`))
    }
  })
