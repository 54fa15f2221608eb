/**
 * Lexicon sentiment of a news article, VADER-style, over AFINN-165 adjusted for financial market
 * news (the npm package `afinn-165-financialmarketnews`, MIT; valences −5 … +5):
 * 1. The text is lower-cased and cut into clauses (at . ! ? ; and line breaks) and words (letters
 *    and digits, with inner apostrophes and hyphens: `don't`, `sell-off`).
 * 2. The lexicon's multi-word entries (`no fun`, `does not work`, `dont like`) are matched first,
 *    longest first; a hyphenated word the lexicon lacks counts as its parts; a possessive `'s` is
 *    dropped; a word the lexicon lacks is tried without a plural/third-person `s`/`es` (`beats` → `beat`).
 * 3. A negator (not, no, never, without, any `…n't`, …) among the 3 words before a rated word, in the
 *    same clause, multiplies its valence by −0.74 (VADER's N_SCALAR), once per negator. A negator
 *    carries no valence of its own.
 * 4. The valences are summed and mapped to (−1, 1) by VADER's normalisation x / √(x² + 15).
 */
import { afinn165FinancialMarketNews } from "afinn-165-financialmarketnews"

/** VADER's normalisation constant: a sum of 15^½ ≈ 3.9 maps to ±0.71. */
export const COMPOUND_ALPHA = 15
/** VADER's factor for a negated word: it flips the sign and dampens. */
export const NEGATION_SCALAR = -0.74
/** How many words before a rated word a negator reaches. */
export const NEGATION_WINDOW = 3

const NEGATORS: ReadonlySet<string> = new Set([
  "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without", "cannot",
  "aint", "arent", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt",
  "mightnt", "mustnt", "neednt", "shant", "shouldnt", "wasnt", "werent", "wont", "wouldnt"
])

const isNegator = (word: string): boolean => word.endsWith("n't") || NEGATORS.has(word)

const bare = (word: string): string => word.replace(/'/g, "")

/** Own entries only: a plain object's `constructor` or `toString` is no word. */
const WORDS: ReadonlyMap<string, number> = new Map(Object.entries(afinn165FinancialMarketNews).filter(([w]) => !w.includes(" ")))

interface Phrase {
  readonly words: ReadonlyArray<string>
  readonly valence: number
}

/** Multi-word entries by their first word (apostrophes dropped), longest first. */
const PHRASES: ReadonlyMap<string, ReadonlyArray<Phrase>> = (() => {
  const byFirst = new Map<string, Array<Phrase>>()
  for (const [entry, valence] of Object.entries(afinn165FinancialMarketNews)) {
    if (!entry.includes(" ")) continue
    const words = entry.split(/\s+/).map(bare)
    const list = byFirst.get(words[0]) ?? []
    list.push({ words, valence })
    byFirst.set(words[0], list)
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.words.length - a.words.length)
  return byFirst
})()

const WORD = /[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*/gu

/** A word's valence: as written, else without a plural/third-person ending; undefined when unrated. */
const wordValence = (word: string): number | undefined => {
  const exact = WORDS.get(word)
  if (exact !== undefined) return exact
  if (word.length < 4 || !word.endsWith("s") || word.endsWith("ss")) return undefined
  return WORDS.get(word.slice(0, -1)) ?? (word.endsWith("es") ? WORDS.get(word.slice(0, -2)) : undefined)
}

/** A clause's words, lower case: curly apostrophes straightened, possessives dropped, unrated hyphenated words split. */
export const lexiconWords = (clause: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const match of clause.toLowerCase().replace(/[\u2018\u2019]/g, "'").matchAll(WORD)) {
    const word = match[0].replace(/'s$/, "")
    if (word.includes("-") && !WORDS.has(word)) out.push(...word.split("-"))
    else out.push(word)
  }
  return out
}

/** One unit of a clause: a word or a matched multi-word entry. */
interface Unit {
  readonly negator: boolean
  readonly valence: number | undefined
}

const units = (words: ReadonlyArray<string>): ReadonlyArray<Unit> => {
  const out: Array<Unit> = []
  for (let i = 0; i < words.length; ) {
    const phrase = PHRASES.get(bare(words[i]))?.find((p) => p.words.every((w, k) => i + k < words.length && bare(words[i + k]) === w))
    if (phrase !== undefined) {
      out.push({ negator: false, valence: phrase.valence })
      i += phrase.words.length
    } else {
      const negator = isNegator(words[i])
      out.push({ negator, valence: negator ? undefined : wordValence(words[i]) })
      i += 1
    }
  }
  return out
}

/** The summed, negation-adjusted valence of a text (unbounded; 0 when no rated word). */
export const lexiconValence = (text: string): number => {
  let sum = 0
  for (const clause of text.split(/[.!?;]+(?=\s|$)|[\r\n]+/)) {
    const us = units(lexiconWords(clause))
    us.forEach((u, i) => {
      if (u.valence === undefined || u.valence === 0) return
      const negators = us.slice(Math.max(0, i - NEGATION_WINDOW), i).filter((p) => p.negator).length
      sum += u.valence * NEGATION_SCALAR ** negators
    })
  }
  return sum
}

/** VADER's compound normalisation of a valence sum into (−1, 1). */
export const compoundScore = (sum: number): number => sum / Math.sqrt(sum * sum + COMPOUND_ALPHA)

/** A text's sentiment in (−1, 1); 0 when it has no rated word. */
export const lexiconSentiment = (text: string): number => compoundScore(lexiconValence(text))

/** An article's sentiment from its headline and summary (a line break between: negation stays within each). */
export const articleSentiment = (article: { readonly headline: string; readonly summary: string }): number =>
  lexiconSentiment(`${article.headline}\n${article.summary}`)
