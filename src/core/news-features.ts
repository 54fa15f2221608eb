import type { NewsEvent } from "../domain/News.js"

/**
 * News features by name, per ticker, as of a decision time T (the bar's end):
 * - `sentiment_mean_<W>`: mean score of the visible articles created in the last W; 0 when none.
 * - `sentiment_decayed_<W>`: mean score of the visible articles weighted by 2^(−age/W) (W is the
 *   half-life; articles older than 8 half-lives weigh nothing); 0 when none.
 * - `news_count_<W>`: how many visible articles were created in the last W.
 * W is a whole number of minutes, hours or days: `60m`, `4h`, `1d`. An article is visible at T only
 * if it was created before T and the version used was received before T: no look-ahead, live or replayed.
 */
export type NewsFeatureKind = "sentiment_mean" | "sentiment_decayed" | "news_count"

export interface NewsFeature {
  readonly name: string
  readonly kind: NewsFeatureKind
  /** The window (or half-life) in ms. */
  readonly windowMs: number
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const NAME = /^(sentiment_mean|sentiment_decayed|news_count)_([1-9][0-9]{0,4})(m|h|d)$/
const DECAY_HALF_LIVES = 8

/** The news feature a name means, or undefined when the name is not one (an indicator, say). */
export const parseNewsFeature = (name: string): NewsFeature | undefined => {
  const m = NAME.exec(name)
  if (m === null) return undefined
  return { name, kind: m[1] as NewsFeatureKind, windowMs: Number(m[2]) * UNIT_MS[m[3] as keyof typeof UNIT_MS] }
}

/** Whether a name looks like a news feature but is not a valid one (`sentiment_mean_0m`, `news_count_4x`). */
export const looksLikeNewsFeature = (name: string): boolean => /^(sentiment_|news_count)/.test(name) && parseNewsFeature(name) === undefined

/** How far back a set of features reads, in ms. */
export const newsLookbackMs = (features: ReadonlyArray<NewsFeature>): number =>
  Math.max(0, ...features.map((f) => (f.kind === "sentiment_decayed" ? DECAY_HALF_LIVES * f.windowMs : f.windowMs)))

/**
 * Every article version the session has received, kept per ticker. Pure state: `add` what the news
 * source delivered, then ask what a decision at T may see.
 */
export class NewsBook {
  /** Per article id, its versions in the order received. */
  private readonly versions = new Map<number, Array<NewsEvent>>()
  private readonly byTicker = new Map<string, Set<number>>()

  constructor(private readonly tickers: ReadonlyArray<string>) {}

  add(event: NewsEvent): void {
    const list = this.versions.get(event.id)
    if (list === undefined) this.versions.set(event.id, [event])
    else if (!list.some((v) => v.updatedAt === event.updatedAt)) list.push(event)
    else return
    for (const symbol of event.symbols) {
      if (!this.tickers.includes(symbol)) continue
      let ids = this.byTicker.get(symbol)
      if (ids === undefined) this.byTicker.set(symbol, (ids = new Set()))
      ids.add(event.id)
    }
  }

  /**
   * The articles about `ticker` a decision at `time` may see, each at its newest version received
   * before `time`, created before it and within `lookbackMs`; oldest first, ties by id.
   */
  visible(ticker: string, time: number, lookbackMs: number): ReadonlyArray<NewsEvent> {
    const out: Array<NewsEvent> = []
    for (const id of this.byTicker.get(ticker) ?? []) {
      let best: NewsEvent | undefined
      for (const v of this.versions.get(id)!) {
        if (v.receivedAt < time && v.createdAt < time && v.symbols.includes(ticker) && (best === undefined || v.updatedAt > best.updatedAt)) best = v
      }
      if (best !== undefined && time - best.createdAt <= lookbackMs) out.push(best)
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id - b.id)
  }

  /** Forgets articles created before `time` (nothing a later decision reads). */
  prune(time: number): void {
    for (const [id, list] of this.versions) {
      if (list[0].createdAt >= time) continue
      this.versions.delete(id)
      for (const ids of this.byTicker.values()) ids.delete(id)
    }
  }
}

/** The features' values for one ticker at `time`, from the visible articles and their scores. */
export const newsFeatureValues = (
  features: ReadonlyArray<NewsFeature>,
  visible: ReadonlyArray<NewsEvent>,
  score: (e: NewsEvent) => number,
  time: number
): Array<number> =>
  features.map((f) => {
    let count = 0
    let sum = 0
    let weights = 0
    for (const e of visible) {
      const age = time - e.createdAt
      if (f.kind === "sentiment_decayed") {
        if (age > DECAY_HALF_LIVES * f.windowMs) continue
        const w = Math.pow(2, -age / f.windowMs)
        sum += w * score(e)
        weights += w
      } else if (age <= f.windowMs) {
        count++
        if (f.kind === "sentiment_mean") sum += score(e)
      }
    }
    return f.kind === "news_count" ? count : f.kind === "sentiment_mean" ? (count === 0 ? 0 : sum / count) : weights === 0 ? 0 : sum / weights
  })
