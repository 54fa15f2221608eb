/**
 * News files: JSON lines, one article version per line in Alpaca's news shape (`NewsArticle`).
 *
 * A later line with the same `id` and a later `updated_at` is that article's update (it keeps the
 * article's `created_at`); lines are in non-decreasing `updated_at` order; blank lines are allowed.
 * Pure: no I/O, no exceptions for bad input. Every rejected line yields a `problem` with its 1-based
 * file line and, where one field is at fault, that field; the caller decides what is fatal.
 */
import { Either, ParseResult, Schema } from "effect"
import { NewsArticle } from "../domain/News.js"

export interface NewsFileProblem {
  /** 1-based line of the file. */
  readonly line: number
  /** The field at fault (`updated_at`, `symbols.0`), when one is. */
  readonly field?: string
  readonly message: string
}

export interface ParsedNewsFile {
  /** The article versions, in file order (non-decreasing `updated_at`). */
  readonly articles: ReadonlyArray<NewsArticle>
  /** Each article's 1-based file line. */
  readonly lines: ReadonlyArray<number>
  readonly problems: ReadonlyArray<NewsFileProblem>
}

const decodeArticle = Schema.decodeUnknownEither(NewsArticle, { errors: "all", onExcessProperty: "error" })
const encodeArticle = Schema.encodeSync(NewsArticle)

/** The first issue of a failed decode, naming its field. */
const firstIssue = (line: number, error: ParseResult.ParseError): NewsFileProblem => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issue = issues[0]
  const field = issue === undefined ? "" : issue.path.map(String).join(".")
  const detail = issue === undefined
    ? String(error)
    : issue._tag === "Unexpected" ? "unknown key (check its spelling)" : issue._tag === "Missing" ? "is required" : issue.message
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""} on this line)` : ""
  return field === "" ? { line, message: detail + more } : { line, field, message: detail + more }
}

/**
 * What is wrong with a sequence of article versions as a news file: `updated_at` going backwards,
 * an update not later than the version before it, an update changing `created_at`, a version
 * updated before it was created. `lines[i]` is the i-th version's file line (default i + 1).
 */
export const newsVersionProblems = (articles: ReadonlyArray<NewsArticle>, lines?: ReadonlyArray<number>): Array<NewsFileProblem> => {
  const problems: Array<NewsFileProblem> = []
  const previous = new Map<number, { readonly line: number; readonly createdAt: string; readonly updatedAt: number; readonly updatedText: string }>()
  let last: { readonly line: number; readonly updatedAt: number; readonly text: string } | undefined
  articles.forEach((a, i) => {
    const line = lines?.[i] ?? i + 1
    const createdAt = Date.parse(a.created_at)
    const updatedAt = Date.parse(a.updated_at)
    if (updatedAt < createdAt) {
      problems.push({ line, field: "updated_at", message: `${a.updated_at} is before created_at ${a.created_at}` })
    } else if (last !== undefined && updatedAt < last.updatedAt) {
      problems.push({
        line,
        field: "updated_at",
        message: `${a.updated_at} is before line ${last.line}'s ${last.text}: lines must be in non-decreasing updated_at order`
      })
    } else {
      const earlier = previous.get(a.id)
      if (earlier !== undefined && updatedAt <= earlier.updatedAt) {
        problems.push({
          line,
          field: "updated_at",
          message: `article ${a.id} already has the version of line ${earlier.line} updated at ${earlier.updatedText}: an update needs a later updated_at`
        })
      } else if (earlier !== undefined && createdAt !== Date.parse(earlier.createdAt)) {
        problems.push({ line, field: "created_at", message: `${a.created_at} differs from line ${earlier.line}'s ${earlier.createdAt}: an update keeps the article's created_at` })
      } else {
        previous.set(a.id, { line, createdAt: a.created_at, updatedAt, updatedText: a.updated_at })
        last = { line, updatedAt, text: a.updated_at }
      }
    }
  })
  return problems
}

/** Parses a news file (JSON lines of Alpaca news articles); bad lines are `problems`, left out of `articles`. */
export const parseNewsFile = (text: string): ParsedNewsFile => {
  const problems: Array<NewsFileProblem> = []
  const articles: Array<NewsArticle> = []
  const lines: Array<number> = []
  const rows = text.split(/\r\n|\n|\r/)
  if (rows.length > 0 && rows[0].startsWith("\uFEFF")) rows[0] = rows[0].slice(1)
  rows.forEach((raw, i) => {
    const line = i + 1
    if (raw.trim() === "") return
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      problems.push({ line, message: `not valid JSON (${(e as Error).message})` })
      return
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push({ line, message: "expected a JSON object: one news article per line" })
      return
    }
    const decoded = decodeArticle(value)
    if (Either.isLeft(decoded)) {
      problems.push(firstIssue(line, decoded.left))
      return
    }
    articles.push(decoded.right)
    lines.push(line)
  })
  const ordering = newsVersionProblems(articles, lines)
  if (ordering.length === 0) return { articles, lines, problems }
  const refused = new Set(ordering.map((p) => p.line))
  const kept = articles.map((a, i) => [a, lines[i]] as const).filter(([, line]) => !refused.has(line))
  return {
    articles: kept.map(([a]) => a),
    lines: kept.map(([, line]) => line),
    problems: [...problems, ...ordering].sort((a, b) => a.line - b.line)
  }
}

/** `file:line, field 'x': message` for the first few problems, as the config errors read. */
export const describeNewsFileProblems = (file: string, problems: ReadonlyArray<NewsFileProblem>): string => {
  const shown = problems
    .slice(0, 5)
    .map((p) => `${file}:${p.line}${p.field === undefined ? "" : `, field '${p.field}'`}: ${p.message}`)
  const more = problems.length > 5 ? `\n… and ${problems.length - 5} more problems` : ""
  return shown.join("\n") + more
}

/** A news file's text: one line per version, in the order given (which must be updated_at order to parse back). */
export const formatNewsFile = (articles: ReadonlyArray<NewsArticle>): string =>
  articles.map((a) => JSON.stringify(encodeArticle(a))).join("\n") + (articles.length > 0 ? "\n" : "")
