import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** A bad command line found after parsing (a value that only makes sense with another): the CLI prints it and exits 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly detail: string }> {
  override get message() {
    return this.detail
  }
}

/** The highest TCP port: a flag named `port` or `…-port` never accepts more. */
/** A parser's help document as one plain line: no colours, no line breaks (for error messages). */
export const helpDocText = (doc: HelpDoc.HelpDoc): string =>
  HelpDoc.toAnsiText(doc)
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")

export const MAX_PORT = 65_535

const defaultMax = (name: string): number => (name === "port" || name.endsWith("-port") ? MAX_PORT : Number.MAX_SAFE_INTEGER)

const rangeText = (min: number, max: number): string => (max >= Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`)

/** A whole number in [min, max]: a fraction, `1e3`, `0x10` or out of range is a message naming the option, the value and the range. */
export const readInt = (name: string, text: string, min = 0, max = defaultMax(name)): number | string => {
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : `--${name} must be a whole number ${rangeText(min, max)}, got '${text}'`
}

export interface NumberRange {
  readonly min: number
  readonly minInclusive?: boolean
  readonly max?: number
  /** `max` itself is out of range. */
  readonly maxOpen?: boolean
}

/** A finite number above `min` (or at least it, with `minInclusive`) and at most `max` (below it, with `maxOpen`). */
export const readNumber = (name: string, text: string, range: NumberRange): number | string => {
  const n = text.trim() === "" ? NaN : Number(text)
  const max = range.max ?? Number.MAX_VALUE
  const ok = Number.isFinite(n) && (range.minInclusive === true ? n >= range.min : n > range.min) && (range.maxOpen === true ? n < max : n <= max)
  const text_ = `${range.minInclusive === true ? "≥" : ">"} ${range.min}${range.max === undefined ? "" : ` and ${range.maxOpen === true ? "<" : "≤"} ${range.max}`}`
  return ok ? n : `--${name} must be a finite number ${text_}, got '${text}'`
}

/** An ISO date (midnight UTC) or date-time, as epoch milliseconds. */
export const readTime = (name: string, text: string): number | string => {
  const t = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(text) ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text) : NaN
  return Number.isFinite(t) ? t : `--${name} must be an ISO date or date-time, got '${text}'`
}

const checked = <A>(read: (text: string) => A | string) => (text: string) => {
  const value = read(text)
  return typeof value === "string" ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(value))) : Effect.succeed(value)
}

/** A required text option: `--name VALUE`. */
export const text = (name: string, pseudo: string, description: string): Options.Options<string> =>
  Options.text(name).pipe(Options.withPseudoName(pseudo), Options.withDescription(description))

/** An optional text option, `undefined` when absent. */
export const optionalText = (name: string, pseudo: string, description: string): Options.Options<string | undefined> =>
  text(name, pseudo, description).pipe(Options.optional, Options.map(Option.getOrUndefined))

/** A required whole-number option in [min, max], checked with a message naming it. */
export const int = (name: string, description: string, min = 0, max = defaultMax(name)): Options.Options<number> =>
  text(name, "N", description).pipe(Options.mapEffect(checked((t) => readInt(name, t, min, max))))

export const optionalInt = (name: string, description: string, min = 0, max = defaultMax(name)): Options.Options<number | undefined> =>
  int(name, description, min, max).pipe(Options.optional, Options.map(Option.getOrUndefined))

export const optionalNumber = (name: string, pseudo: string, description: string, range: NumberRange): Options.Options<number | undefined> =>
  text(name, pseudo, description).pipe(Options.mapEffect(checked((t) => readNumber(name, t, range))), Options.optional, Options.map(Option.getOrUndefined))

/** A required ISO date or date-time, as epoch milliseconds. */
export const time = (name: string, description: string): Options.Options<number> =>
  text(name, "ISO", description).pipe(Options.mapEffect(checked((t) => readTime(name, t))))

export const optionalTime = (name: string, description: string): Options.Options<number | undefined> =>
  time(name, description).pipe(Options.optional, Options.map(Option.getOrUndefined))

/** A switch: false unless given. */
export const flag = (name: string, description: string): Options.Options<boolean> => Options.boolean(name).pipe(Options.withDescription(description))

type IndicatorArg = string | { readonly name: string; readonly [k: string]: unknown }

/**
 * `macd,rsi_30,RSI:period=14` → specs; `NAME:key=value:…` is a technicalindicators spec. A JSON
 * array (`["macd", {"name": "RSI", "period": 14}]`) is accepted too, as the YAML configs write them.
 */
export const parseIndicatorList = (list: string): ReadonlyArray<IndicatorArg> | UsageError => {
  if (list.trim().startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(list)
      const ok = Array.isArray(parsed) && parsed.every((x) => typeof x === "string" || (x !== null && typeof x === "object" && typeof (x as { name?: unknown }).name === "string"))
      if (ok) return parsed as ReadonlyArray<IndicatorArg>
    } catch {
      // reported below
    }
    return new UsageError({ detail: "--indicators: a JSON list must hold names or objects with a name" })
  }
  return list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((item) => {
      const [name, ...params] = item.split(":")
      if (params.length === 0) return name
      const spec: Record<string, unknown> = { name }
      for (const p of params) {
        const [k, v = ""] = p.split("=")
        spec[k] = v === "true" ? true : v === "false" ? false : Number.isFinite(Number(v)) && v !== "" ? Number(v) : v
      }
      return spec as { readonly name: string }
    })
}

/** Lifts a parsed value (or its usage error) into an Effect. */
export const orFail = <A>(value: A | UsageError): Effect.Effect<A, UsageError> =>
  value instanceof UsageError ? Effect.fail(value) : Effect.succeed(value)

/** A message-or-value read (`readInt`, `readTime`, …) as an Effect failing with a UsageError. */
export const orUsage = <A>(value: A | string, prefix = ""): Effect.Effect<A, UsageError> =>
  typeof value === "string" ? Effect.fail(new UsageError({ detail: `${prefix}${value}` })) : Effect.succeed(value)
