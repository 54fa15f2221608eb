import { describe, expect, it } from "vitest"
import { describeNewsFileProblems, formatNewsFile, newsVersionProblems, parseNewsFile } from "../../src/core/news-file.js"
import type { NewsArticle } from "../../src/domain/News.js"

const article = (id: number, created: string, updated: string, extra: Partial<NewsArticle> = {}): Record<string, unknown> => ({
  id,
  headline: `headline ${id} @ ${updated}`,
  summary: `summary ${id}`,
  author: "Benzinga Newsdesk",
  created_at: created,
  updated_at: updated,
  url: `https://example.invalid/${id}`,
  images: [],
  symbols: ["AAA"],
  source: "benzinga",
  ...extra
})

const jsonl = (...rows: Array<Record<string, unknown> | string>) => rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n"

/** The single problem on `line`, failing clearly if there is not exactly one. */
const problemAt = (text: string, line: number) => {
  const { problems } = parseNewsFile(text)
  const hits = problems.filter((p) => p.line === line)
  if (hits.length !== 1) throw new Error(`expected one problem on line ${line}, got ${JSON.stringify(problems)}`)
  return hits[0]
}

describe("parseNewsFile: good input", () => {
  it("parses articles in Alpaca's shape with their lines, skipping blank lines and a BOM", () => {
    const text = "\uFEFF" + jsonl(article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:00:01Z"), "", "   ", article(2, "2024-01-02T14:05:00Z", "2024-01-02T14:05:00Z", { symbols: ["AAA", "BBB"] }))
    const parsed = parseNewsFile(text)
    expect(parsed.problems).toEqual([])
    expect(parsed.lines).toEqual([1, 4])
    expect(parsed.articles.map((a) => [a.id, a.symbols])).toEqual([
      [1, ["AAA"]],
      [2, ["AAA", "BBB"]]
    ])
    expect(parsed.articles[0].headline).toBe("headline 1 @ 2024-01-02T14:00:01Z")
  })

  it("accepts the stream's shape (T: n), a missing summary (empty) and a null url", () => {
    const { articles, problems } = parseNewsFile(jsonl({ T: "n", id: 7, headline: "h", created_at: "2024-01-02T14:00:00Z", updated_at: "2024-01-02T14:00:00Z", url: null, symbols: [] }))
    expect(problems).toEqual([])
    expect(articles[0]).toMatchObject({ T: "n", id: 7, summary: "", url: null, symbols: [] })
  })

  it("takes a later line with the same id and a later updated_at as the article's update", () => {
    const { articles, problems } = parseNewsFile(
      jsonl(
        article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z", { headline: "first" }),
        article(2, "2024-01-02T14:01:00Z", "2024-01-02T14:01:00Z"),
        article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:30:00+00:00", { headline: "corrected" })
      )
    )
    expect(problems).toEqual([])
    expect(articles.filter((a) => a.id === 1).map((a) => a.headline)).toEqual(["first", "corrected"])
  })

  it("serialises back to a file that parses to the same articles", () => {
    const { articles } = parseNewsFile(
      jsonl(
        article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z", { content: "<p>body</p>" }),
        { T: "n", id: 2, headline: "h", created_at: "2024-01-02T14:01:00Z", updated_at: "2024-01-02T14:02:00Z", symbols: ["BBB"] },
        article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:03:00Z")
      )
    )
    const text = formatNewsFile(articles)
    expect(text.split("\n")).toHaveLength(4)
    expect(parseNewsFile(text)).toEqual({ articles, lines: [1, 2, 3], problems: [] })
    expect(formatNewsFile([])).toBe("")
  })
})

describe("parseNewsFile: bad lines are named by line and field", () => {
  it("names a line that is not JSON or not an object", () => {
    const text = jsonl(article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z"), "{not json", "[1, 2]")
    expect(problemAt(text, 2).message).toMatch(/^not valid JSON/)
    expect(problemAt(text, 3).message).toBe("expected a JSON object: one news article per line")
    expect(parseNewsFile(text).articles).toHaveLength(1)
  })

  it("names the field of a schema problem: missing, wrong type, bad time, unknown key", () => {
    const { headline: _, ...noHeadline } = article(2, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z")
    const text = jsonl(
      noHeadline,
      article(3, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z", { symbols: ["AAA", 5 as unknown as string] }),
      article(4, "2024-01-02 14:00", "2024-01-02T14:00:00Z"),
      { ...article(5, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z"), sumary: "typo" },
      article(-6, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z")
    )
    expect(problemAt(text, 1)).toEqual({ line: 1, field: "headline", message: "is required" })
    expect(problemAt(text, 2)).toMatchObject({ line: 2, field: "symbols.1" })
    expect(problemAt(text, 3)).toEqual({ line: 3, field: "created_at", message: "an RFC 3339 time such as 2026-03-02T14:31:07Z" })
    expect(problemAt(text, 4)).toEqual({ line: 4, field: "sumary", message: "unknown key (check its spelling)" })
    expect(problemAt(text, 5)).toMatchObject({ line: 5, field: "id" })
    expect(parseNewsFile(text).articles).toEqual([])
  })

  it("refuses updated_at going backwards, naming both lines", () => {
    const text = jsonl(
      article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:10:00Z"),
      article(2, "2024-01-02T14:00:00Z", "2024-01-02T14:05:00Z"),
      article(3, "2024-01-02T14:00:00Z", "2024-01-02T14:10:00Z")
    )
    const p = problemAt(text, 2)
    expect(p.field).toBe("updated_at")
    expect(p.message).toContain("is before line 1's 2024-01-02T14:10:00Z")
    expect(parseNewsFile(text).articles.map((a) => a.id)).toEqual([1, 3])
  })

  it("refuses an update that is not later, one changing created_at, and a version updated before it was created", () => {
    const text = jsonl(
      article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z"),
      article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:00:00Z"),
      article(1, "2024-01-02T13:00:00Z", "2024-01-02T14:01:00Z"),
      article(2, "2024-01-02T15:00:00Z", "2024-01-02T14:02:00Z")
    )
    expect(problemAt(text, 2)).toMatchObject({ field: "updated_at", message: expect.stringContaining("already has the version of line 1") })
    expect(problemAt(text, 3)).toMatchObject({ field: "created_at", message: expect.stringContaining("an update keeps the article's created_at") })
    expect(problemAt(text, 4)).toMatchObject({ field: "updated_at", message: expect.stringContaining("is before created_at") })
  })

  it("describes problems as file:line, field 'x': message, the first five and a count", () => {
    const problems = Array.from({ length: 7 }, (_, i) => ({ line: i + 1, field: "id", message: "bad" }))
    const text = describeNewsFileProblems("news.jsonl", problems)
    expect(text.split("\n")[0]).toBe("news.jsonl:1, field 'id': bad")
    expect(text).toContain("… and 2 more problems")
    expect(describeNewsFileProblems("f", [{ line: 3, message: "not valid JSON" }])).toBe("f:3: not valid JSON")
  })

  it("checks parsed articles the same way (lines default to positions)", () => {
    const { articles } = parseNewsFile(jsonl(article(1, "2024-01-02T14:00:00Z", "2024-01-02T14:10:00Z"), article(2, "2024-01-02T14:00:00Z", "2024-01-02T14:20:00Z")))
    expect(newsVersionProblems(articles)).toEqual([])
    expect(newsVersionProblems([articles[1], articles[0]])).toEqual([{ line: 2, field: "updated_at", message: expect.stringContaining("is before line 1's") }])
  })
})
