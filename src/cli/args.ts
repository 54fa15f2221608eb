import { Data, Effect } from "effect"

/** Bad command line: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly detail: string }> {
  override get message() {
    return this.detail
  }
}

export interface ParsedArgs {
  readonly command: string
  readonly flags: ReadonlyMap<string, string | true>
}

/** `command --flag value --switch`; `--flag=value` works too. */
export const parseArgs = (argv: ReadonlyArray<string>): ParsedArgs | UsageError => {
  const [command, ...rest] = argv
  if (command === undefined || command.startsWith("-")) {
    return command === "--help" || command === "-h"
      ? { command: "help", flags: new Map() }
      : new UsageError({ detail: "no command given" })
  }
  const flags = new Map<string, string | true>()
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    if (!arg.startsWith("--")) return new UsageError({ detail: `unexpected argument '${arg}'` })
    const eq = arg.indexOf("=")
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    if (flags.has(name)) return new UsageError({ detail: `--${name} given twice` })
    if (eq >= 0) flags.set(name, arg.slice(eq + 1))
    else if (i + 1 < rest.length && !rest[i + 1].startsWith("--")) flags.set(name, rest[++i])
    else flags.set(name, true)
  }
  return { command, flags }
}

export interface FlagSpec {
  readonly required?: ReadonlyArray<string>
  readonly optional?: ReadonlyArray<string>
  readonly switches?: ReadonlyArray<string>
}

/** Checks flags against what a command takes: unknown, missing and valueless flags are usage errors. */
export const checkFlags = (command: string, flags: ReadonlyMap<string, string | true>, spec: FlagSpec): UsageError | undefined => {
  const known = new Set([...(spec.required ?? []), ...(spec.optional ?? []), ...(spec.switches ?? [])])
  for (const [name, value] of flags) {
    if (!known.has(name)) return new UsageError({ detail: `${command}: unknown option --${name}` })
    if (value === true && !(spec.switches ?? []).includes(name)) return new UsageError({ detail: `${command}: --${name} needs a value` })
    if (value !== true && (spec.switches ?? []).includes(name)) return new UsageError({ detail: `${command}: --${name} takes no value` })
  }
  for (const name of spec.required ?? []) {
    if (!flags.has(name)) return new UsageError({ detail: `${command}: --${name} is required` })
  }
  return undefined
}

export const stringFlag = (flags: ReadonlyMap<string, string | true>, name: string): string | undefined => {
  const v = flags.get(name)
  return typeof v === "string" ? v : undefined
}

/** The highest TCP port: a flag named `port` or `…-port` never accepts more. */
export const MAX_PORT = 65_535

const defaultMax = (name: string): number => (name === "port" || name.endsWith("-port") ? MAX_PORT : Number.MAX_SAFE_INTEGER)

const rangeText = (min: number, max: number): string => (max >= Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`)

/**
 * A whole-number flag in [min, max] (default max: {@link MAX_PORT} for a port flag, else any safe
 * integer); anything else — a fraction, `1e3`, `0x10`, out of range — is a UsageError naming the flag, the value and the range.
 */
export const intFlag = (
  flags: ReadonlyMap<string, string | true>,
  name: string,
  min = 0,
  max = defaultMax(name)
): number | UsageError | undefined => {
  const v = stringFlag(flags, name)
  if (v === undefined) return undefined
  const n = /^[+-]?\d+$/.test(v.trim()) ? Number(v) : NaN
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : new UsageError({ detail: `--${name} must be a whole number ${rangeText(min, max)}, got '${v}'` })
}

/** A finite number flag above `min` (or at least it, with `minInclusive`) and at most `max`; else a UsageError naming the flag, the value and the range. */
export const numberFlag = (
  flags: ReadonlyMap<string, string | true>,
  name: string,
  range: { readonly min: number; readonly minInclusive?: boolean; readonly max?: number }
): number | UsageError | undefined => {
  const v = stringFlag(flags, name)
  if (v === undefined) return undefined
  const n = v.trim() === "" ? NaN : Number(v)
  const max = range.max ?? Number.MAX_VALUE
  const ok = Number.isFinite(n) && (range.minInclusive === true ? n >= range.min : n > range.min) && n <= max
  const text = `${range.minInclusive === true ? "≥" : ">"} ${range.min}${range.max === undefined ? "" : ` and ≤ ${range.max}`}`
  return ok ? n : new UsageError({ detail: `--${name} must be a finite number ${text}, got '${v}'` })
}

export const timeFlag = (flags: ReadonlyMap<string, string | true>, name: string): number | UsageError | undefined => {
  const v = stringFlag(flags, name)
  if (v === undefined) return undefined
  const t = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(v) ? Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v) : NaN
  return Number.isFinite(t) ? t : new UsageError({ detail: `--${name} must be an ISO date or date-time, got '${v}'` })
}

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

/** Lifts a parsed flag (or its usage error) into an Effect. */
export const orFail = <A>(value: A | UsageError): Effect.Effect<A, UsageError> =>
  value instanceof UsageError ? Effect.fail(value) : Effect.succeed(value)
