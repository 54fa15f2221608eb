import { Schema } from "effect"

const Rfc3339 = Schema.String.pipe(
  Schema.filter((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && Number.isFinite(Date.parse(s)), {
    message: () => "an RFC 3339 time such as 2026-03-02T14:31:07Z"
  })
)

/**
 * A news article in Alpaca's shape (`GET /v1beta1/news` and the `/v1beta1/news` stream; the stream
 * adds `"T": "n"`). A news file is one such object per line; a later line with the same `id` and a
 * later `updated_at` is the article's update.
 */
export const NewsArticle = Schema.Struct({
  T: Schema.optional(Schema.Literal("n")),
  id: Schema.Number.pipe(Schema.int(), Schema.positive()),
  headline: Schema.String,
  summary: Schema.optionalWith(Schema.String, { default: () => "" }),
  author: Schema.optional(Schema.String),
  created_at: Rfc3339,
  updated_at: Rfc3339,
  url: Schema.optional(Schema.NullOr(Schema.String)),
  content: Schema.optional(Schema.String),
  images: Schema.optional(Schema.Array(Schema.Unknown)),
  symbols: Schema.Array(Schema.String),
  source: Schema.optional(Schema.String)
})
export type NewsArticle = typeof NewsArticle.Type

/**
 * One version of an article as the session knows it: times in epoch ms. `receivedAt` is when it
 * became known — the stream's arrival time live, its `updated_at` in a replay or a REST warm-up.
 */
export interface NewsEvent {
  readonly id: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly receivedAt: number
  readonly symbols: ReadonlyArray<string>
  readonly headline: string
  readonly summary: string
}

/** An article version's key: scores are cached by it, decisions journal it. */
export const versionKey = (e: Pick<NewsEvent, "id" | "updatedAt">): string => `${e.id}@${new Date(e.updatedAt).toISOString()}`

export const toNewsEvent = (a: NewsArticle, receivedAt: number): NewsEvent => ({
  id: a.id,
  createdAt: Date.parse(a.created_at),
  updatedAt: Date.parse(a.updated_at),
  receivedAt,
  symbols: a.symbols,
  headline: a.headline,
  summary: a.summary
})
