import { describe, expect, it } from "vitest"
import { afinn165FinancialMarketNews } from "afinn-165-financialmarketnews"
import { articleSentiment, compoundScore, lexiconSentiment, lexiconValence, lexiconWords } from "../../src/core/lexicon-sentiment.js"
import { Rng } from "../../src/core/rng.js"

describe("lexicon sentiment of financial headlines", () => {
  it.each([
    "Apple beats estimates as iPhone sales surge to a record",
    "Nvidia shares soar after strong earnings",
    "Microsoft raises dividend, upgraded to buy",
    "Better-than-expected profit growth lifts the stock"
  ])("positive: %s", (headline) => {
    expect(lexiconSentiment(headline)).toBeGreaterThan(0.2)
  })

  it.each([
    "Tesla misses delivery estimates; stock plunges",
    "Boeing faces fraud probe, shares tumble",
    "Retailer files for bankruptcy after heavy losses",
    "Bank warns of weak quarter amid lawsuit"
  ])("negative: %s", (headline) => {
    expect(lexiconSentiment(headline)).toBeLessThan(-0.2)
  })

  it.each(["Microsoft to hold annual shareholder meeting on March 12", "Apple announces date of quarterly earnings call", ""])("neutral: %j", (headline) => {
    expect(lexiconSentiment(headline)).toBe(0)
  })

  it("sums the lexicon's valences and normalises as VADER does: x / √(x² + 15)", () => {
    expect(lexiconValence("profit")).toBe(afinn165FinancialMarketNews.profit)
    expect(lexiconValence("Profit growth; record quarter")).toBe(afinn165FinancialMarketNews.profit + afinn165FinancialMarketNews.growth + afinn165FinancialMarketNews.record)
    expect(lexiconSentiment("profit")).toBeCloseTo(2 / Math.sqrt(4 + 15), 12)
    expect(compoundScore(0)).toBe(0)
    expect(compoundScore(-6)).toBeCloseTo(-6 / Math.sqrt(51), 12)
  })

  it("reads a plural or third-person form the lexicon lacks as its stem, but keeps the lexicon's own entries", () => {
    expect(lexiconValence("beats")).toBe(afinn165FinancialMarketNews.beat)
    expect(lexiconValence("misses")).toBe(afinn165FinancialMarketNews.miss)
    expect(lexiconValence("shares")).toBe(0)
    expect(lexiconValence("losses")).toBe(afinn165FinancialMarketNews.losses)
  })

  it("tokenises in lower case, keeps rated hyphenated words whole, splits others, drops possessives", () => {
    expect(lexiconWords("Apple’s SELL-OFF deepens; record-breaking quarter")).toEqual(["apple", "sell-off", "deepens", "record", "breaking", "quarter"])
    expect(lexiconValence("sell-off")).toBe(afinn165FinancialMarketNews["sell-off"])
  })

  it("matches multi-word entries before single words", () => {
    expect(lexiconValence("no fun")).toBe(afinn165FinancialMarketNews["no fun"])
    expect(lexiconValence("Investors dont like it")).toBe(afinn165FinancialMarketNews["dont like"])
    expect(lexiconValence("Investors don't like it")).toBe(afinn165FinancialMarketNews["dont like"])
  })
})

describe("negation", () => {
  it("a negator among the 3 words before flips the sign (times VADER's −0.74)", () => {
    expect(lexiconSentiment("Profit growth")).toBeGreaterThan(0)
    expect(lexiconSentiment("No profit growth")).toBeLessThan(0)
    expect(lexiconValence("Analysts do not expect a strong quarter")).toBeCloseTo(-0.74 * afinn165FinancialMarketNews.strong, 12)
    expect(lexiconSentiment("The results were not bad")).toBeGreaterThan(0)
    expect(lexiconSentiment("Shares didn't fall")).toBeGreaterThan(0)
    expect(lexiconSentiment("The unit was never profitable")).toBeLessThan(0)
  })

  it("does not reach past 3 words nor past the end of a sentence", () => {
    expect(lexiconSentiment("Not that anyone expected it to be strong")).toBeGreaterThan(0)
    expect(lexiconSentiment("No. Profit growth")).toBeGreaterThan(0)
    expect(articleSentiment({ headline: "Company says no", summary: "Profit growth continues" })).toBeGreaterThan(0)
  })

  it("two negators cancel", () => {
    expect(lexiconValence("not without profit")).toBeCloseTo(0.74 * 0.74 * afinn165FinancialMarketNews.profit, 12)
  })
})

describe("range and determinism", () => {
  const rated = Object.keys(afinn165FinancialMarketNews).filter((w) => !w.includes(" ")).sort()
  const randomText = (rng: Rng) =>
    Array.from({ length: 1 + rng.int(60) }, () => (rng.uniform() < 0.1 ? "not" : rng.uniform() < 0.5 ? rated[rng.int(rated.length)] : "shares")).join(rng.uniform() < 0.1 ? ". " : " ")

  it("stays within [−1, 1], even for a pile of the strongest words", () => {
    expect(lexiconSentiment("superb ".repeat(200))).toBeLessThan(1)
    expect(lexiconSentiment("superb ".repeat(200))).toBeGreaterThan(0.99)
    expect(lexiconSentiment("fraud ".repeat(200))).toBeGreaterThan(-1)
    const rng = new Rng(2026)
    for (let k = 0; k < 500; k++) {
      const score = lexiconSentiment(randomText(rng))
      expect(score).toBeGreaterThanOrEqual(-1)
      expect(score).toBeLessThanOrEqual(1)
    }
  })

  it("gives the same score for the same text, every time", () => {
    const texts = Array.from({ length: 50 }, ((rng) => () => randomText(rng))(new Rng(7)))
    const first = texts.map(lexiconSentiment)
    expect(texts.map(lexiconSentiment)).toEqual(first)
    expect(new Set(first).size).toBeGreaterThan(10)
  })
})
