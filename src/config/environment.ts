/**
 * The environment file: what the agent saw in training, in this project's form or as FinRL's
 * `env_kwargs` (YAML or JSON), resolved for the tickers it trades.
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import type { CostPct, EnvironmentConfig, EnvironmentFile } from "../domain/Config.js"
import { EnvironmentFile as EnvironmentFileSchema } from "../domain/Config.js"
import { ConfigError } from "./errors.js"
import { checkReadableFile, MAX_BYTES } from "./files.js"
import { decodeDocument, parseYaml, type YamlDocument } from "./yaml.js"

/** The only risk indicator this project computes (FinRL's default `risk_indicator_col`). */
export const TURBULENCE = "turbulence"

/** A problem with one field of the environment file. */
export interface EnvironmentProblem {
  readonly field: string
  readonly detail: string
}

const tickerList = (tickers: ReadonlyArray<string>): string => `${tickers.length} ticker${tickers.length === 1 ? "" : "s"} (${tickers.join(", ")})`

/** A per-stock list as one number when every value is the same (FinRL notebooks' `[0.001] * stock_dim`), else by ticker. */
const perTicker = (field: string, value: number | ReadonlyArray<number>, tickers: ReadonlyArray<string>): CostPct | EnvironmentProblem => {
  if (typeof value === "number") return value
  if (value.length !== tickers.length) {
    return { field, detail: `has ${value.length} value${value.length === 1 ? "" : "s"}, one per stock is needed: the deployment trades ${tickerList(tickers)}` }
  }
  return value.every((v) => v === value[0]) ? value[0] : Object.fromEntries(tickers.map((t, i) => [t, value[i]]))
}

const sizeProblem = (field: string, value: number | undefined, tickers: ReadonlyArray<string>): EnvironmentProblem | undefined =>
  value === undefined || value === tickers.length ? undefined : { field, detail: `is ${value}, but the deployment trades ${tickerList(tickers)}` }

const isProblem = (x: unknown): x is EnvironmentProblem => typeof x === "object" && x !== null && "detail" in x && "field" in x

/**
 * Resolves an environment file for `tickers` (in the model's order, as FinRL's per-stock lists are):
 * cost lists and `num_stock_shares` per ticker, `stock_dim` and `action_space` checked against the
 * tickers, `risk_indicator_col` limited to turbulence. `reward_scaling` and `print_verbosity` are
 * training settings and change nothing here.
 */
export const resolveEnvironment = (file: EnvironmentFile, tickers: ReadonlyArray<string>): EnvironmentConfig | EnvironmentProblem => {
  if (file.tech_indicators !== undefined && file.tech_indicator_list !== undefined) {
    return { field: "tech_indicator_list", detail: "give tech_indicators or FinRL's tech_indicator_list, not both" }
  }
  const indicators = file.tech_indicators ?? file.tech_indicator_list
  if (indicators === undefined) return { field: "tech_indicators", detail: "is required (or FinRL's tech_indicator_list)" }
  const problem = sizeProblem("stock_dim", file.stock_dim, tickers) ?? sizeProblem("action_space", file.action_space, tickers)
  if (problem !== undefined) return problem
  if (file.risk_indicator_col !== undefined && file.risk_indicator_col !== TURBULENCE) {
    return {
      field: "risk_indicator_col",
      detail: `'${file.risk_indicator_col}' is not supported: only ${TURBULENCE} is (FinRL's turbulence index, computed from the tickers' own bars); set risk_indicator_col: ${TURBULENCE} or leave it out`
    }
  }
  const buy = perTicker("buy_cost_pct", file.buy_cost_pct, tickers)
  if (isProblem(buy)) return buy
  const sell = perTicker("sell_cost_pct", file.sell_cost_pct, tickers)
  if (isProblem(sell)) return sell
  const shares = file.num_stock_shares ?? []
  if (file.num_stock_shares !== undefined && shares.length !== tickers.length) {
    return { field: "num_stock_shares", detail: `has ${shares.length} value${shares.length === 1 ? "" : "s"}, one per stock is needed: the deployment trades ${tickerList(tickers)}` }
  }
  return {
    tech_indicators: indicators,
    hmax: file.hmax,
    initial_amount: file.initial_amount,
    buy_cost_pct: buy,
    sell_cost_pct: sell,
    initial_holdings: Object.fromEntries(tickers.flatMap((t, i) => (shares[i] > 0 ? [[t, shares[i]]] : []))),
    turbulence_threshold: file.turbulence_threshold,
    state_space: file.state_space
  }
}

/** 1-based line of a character offset. */
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split("\n").length

/**
 * A YAML or JSON document (`.json`: Python's `json.dump`); JSON's syntax errors name their line.
 * JSON is read as YAML too when it can be, for the line numbers of later errors.
 */
export const readConfigDocument = (file: string, what: string): Effect.Effect<YamlDocument, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* checkReadableFile(file, { maxBytes: MAX_BYTES.yaml, what })
    const text = yield* fs.readFileString(file).pipe(Effect.mapError((e) => new ConfigError({ file, detail: `cannot read: ${e.message}` })))
    if (!/\.json$/i.test(file)) return yield* parseYaml(file, text)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (e) {
      const at = /position (\d+)/.exec((e as Error).message)
      return yield* new ConfigError({ file, ...(at === null ? {} : { line: lineAt(text, Number(at[1])) }), detail: `JSON syntax error: ${(e as Error).message.split("\n")[0]}` })
    }
    return yield* parseYaml(file, text).pipe(Effect.orElseSucceed((): YamlDocument => ({ file, value, lineOf: () => undefined })))
  })

/** Reads an environment file and resolves it for `tickers`; a problem names the file, field and line. */
export const loadEnvironment = (file: string, tickers: ReadonlyArray<string>): Effect.Effect<EnvironmentConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const doc = yield* readConfigDocument(file, "environment config")
    const raw = yield* decodeDocument(EnvironmentFileSchema, doc, { unknownKeys: "error" })
    const resolved = resolveEnvironment(raw, tickers)
    if (!isProblem(resolved)) return resolved
    const line = doc.lineOf([resolved.field])
    return yield* new ConfigError({ file, field: resolved.field, ...(line === undefined ? {} : { line }), detail: resolved.detail })
  })
