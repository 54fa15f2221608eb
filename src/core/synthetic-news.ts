import type { Bar } from "./bar.js"
import { Rng } from "./rng.js"

/** An article of the synthetic news file, in Alpaca's news shape. */
export interface SyntheticArticle {
  readonly id: number
  readonly headline: string
  readonly summary: string
  readonly author: string
  readonly created_at: string
  readonly updated_at: string
  readonly url: string
  readonly symbols: ReadonlyArray<string>
  readonly source: string
}

export interface SyntheticNewsOptions {
  readonly seed: number
  /** The synthetic market's bars and regimes (core/synthetic-market.ts `syntheticMarketWithRegimes`). */
  readonly bars: ReadonlyMap<string, ReadonlyArray<Bar>>
  readonly regimes: ReadonlyMap<string, Int8Array>
  /** Articles per ticker and day, on average (default 6). */
  readonly perDay?: number
  /** How far ahead of the market an article's tone looks, in one-minute bars (default 30). */
  readonly leadBars?: number
  /** How often the tone agrees with the coming regime (default 0.7; else neutral or the opposite, equally). */
  readonly accuracy?: number
}

const POSITIVE = [
  ["{T} posts record profit as demand stays strong", "Quarterly profit reached a record, with strong growth across units."],
  ["{T} shares rally on strong growth outlook", "Management sees strong growth; analysts are optimistic."],
  ["{T} raises dividend after record quarter", "The board raises the dividend, citing record profit."],
  ["Analysts turn bullish on {T}, citing strong growth", "Two brokers upgraded the stock on strong demand and higher margins."]
] as const
const NEGATIVE = [
  ["{T} warns of weak quarter; shares slide", "The company warns that weak orders will mean losses."],
  ["{T} faces lawsuit as losses widen", "A lawsuit adds to widening losses and a weak outlook."],
  ["{T} plunges after profit warning", "Shares plunge as the company issues a warning on weak sales."],
  ["{T} cuts outlook on weak orders", "Management cuts guidance; losses are expected to widen."]
] as const
const NEUTRAL = [
  ["{T} to present at investor conference", "The company will present at an industry conference next week."],
  ["{T} files quarterly report", "The report was filed with the regulator on schedule."],
  ["{T} announces board meeting date", "The board will meet on the date announced."]
] as const

const BAR_MS = 60_000

/**
 * A seeded news file for the synthetic market whose tone leads its regimes a little: each article's
 * tone agrees, with probability `accuracy`, with the regime its ticker will be in `leadBars` minutes
 * later. Articles fall at random seconds, never in the last minute of a five-minute bar (so a
 * stream's latency cannot carry one across a 5-minute bar's close in a rehearsal), some before the
 * open; one in ten is updated later (same id, later `updated_at`, its summary extended). Sorted by
 * `updated_at`, as a news file must be.
 */
export const syntheticNews = (options: SyntheticNewsOptions): ReadonlyArray<SyntheticArticle> => {
  const rng = new Rng(options.seed)
  const perDay = options.perDay ?? 6
  const lead = options.leadBars ?? 30
  const accuracy = options.accuracy ?? 0.7
  const versions: Array<SyntheticArticle> = []
  let id = 41_000_000
  const stamp = (t: number) => new Date(t).toISOString().replace(".000Z", "Z")
  /** A time at a random second in minute `minute` of the day whose open is `open`, moved off a 5-minute bar's last minute. */
  const at = (open: number, minute: number) => open + (minute - (((minute % 5) + 5) % 5 === 4 ? 1 : 0)) * BAR_MS + Math.floor(rng.uniform() * 40) * 1000
  for (const [ticker, bars] of options.bars) {
    const regimes = options.regimes.get(ticker)!
    for (let first = 0; first < bars.length; first += 390) {
      const open = bars[first].time
      const count = poisson(rng, perDay)
      for (let k = 0; k < count; k++) {
        // from an hour before the open to the last minutes of the session
        const minute = -60 + Math.floor(rng.uniform() * 445)
        const created = at(open, minute)
        const ahead = Math.min(first + 389, first + Math.max(0, minute) + lead)
        const u = rng.uniform()
        const tone = u < accuracy ? regimes[ahead] : u < accuracy + (1 - accuracy) / 2 ? 0 : -regimes[ahead]
        const pool = tone > 0 ? POSITIVE : tone < 0 ? NEGATIVE : NEUTRAL
        const [headline, summary] = pool[Math.floor(rng.uniform() * pool.length)]
        const article: SyntheticArticle = {
          id: ++id,
          headline: headline.replace("{T}", ticker),
          summary,
          author: "Synthetic Newsdesk",
          created_at: stamp(created),
          updated_at: stamp(created),
          url: `https://example.invalid/news/${id}`,
          symbols: [ticker],
          source: "synthetic"
        }
        versions.push(article)
        if (rng.uniform() < 0.1) {
          const later = at(open, Math.min(444, Math.max(minute, 0) + 5 + Math.floor(rng.uniform() * 55)))
          if (later > created) versions.push({ ...article, summary: `${summary} Update: the company confirmed the report.`, updated_at: stamp(later) })
        }
      }
    }
  }
  return versions.sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id - b.id)
}

const poisson = (rng: Rng, mean: number): number => {
  const limit = Math.exp(-mean)
  let k = 0
  for (let p = rng.uniform(); p > limit; p *= rng.uniform()) k++
  return k
}

export const newsToJsonl = (articles: ReadonlyArray<SyntheticArticle>): string => articles.map((a) => JSON.stringify(a)).join("\n") + "\n"
