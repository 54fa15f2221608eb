/**
 * The technicalindicators 3.1 catalogue, by name and parameters, through the library's own
 * streaming API: `new X({ ...params, values: [] }).nextValue(input)` once per bar.
 *
 * Each entry records which input the indicator's `nextValue` takes (the close price, or a candle
 * `{ open, high, low, close, volume }`), its parameters, and, for indicators that return an
 * object per bar, the output fields one of which must be chosen with `output`.
 */
import {
  ADL,
  ADX,
  ATR,
  AverageGain,
  AverageLoss,
  AwesomeOscillator,
  BollingerBands,
  CCI,
  ChandelierExit,
  EMA,
  ForceIndex,
  HeikinAshi,
  Highest,
  IchimokuCloud,
  KeltnerChannels,
  KST,
  Lowest,
  MACD,
  MFI,
  OBV,
  PSAR,
  ROC,
  RSI,
  SD,
  SMA,
  Stochastic,
  StochasticRSI,
  Sum,
  TRIX,
  TrueRange,
  VWAP,
  WEMA,
  WilliamsR,
  WMA
} from "technicalindicators"
import type { Bar } from "../bar.js"
import { err, ok, type Result } from "../bar.js"
import type { IndicatorDefinition, IndicatorStream } from "./types.js"

type ParamKind = "period" | "positive" | "boolean"
interface ParamSpec {
  readonly name: string
  readonly kind: ParamKind
  /** The library's documented default; a parameter without one is required. */
  readonly default?: number | boolean
}
interface CatalogueEntry {
  /** `close`: nextValue(close). `candle`: nextValue({ open, high, low, close, volume, timestamp }). */
  readonly input: "close" | "candle"
  readonly params: ReadonlyArray<ParamSpec>
  /** Fields of the per-bar result object, for multi-output indicators. */
  readonly outputs?: ReadonlyArray<string>
  readonly ctor: unknown
}

const period = (name: string, dflt?: number): ParamSpec =>
  dflt === undefined ? { name, kind: "period" } : { name, kind: "period", default: dflt }
const positive = (name: string, dflt?: number): ParamSpec =>
  dflt === undefined ? { name, kind: "positive" } : { name, kind: "positive", default: dflt }
const flag = (name: string, dflt: boolean): ParamSpec => ({ name, kind: "boolean", default: dflt })
const P = [period("period")]

/** Every streaming indicator the library exports (candlestick patterns, Renko, VolumeProfile and the
 * two-series CrossUp/CrossDown are not per-bar numeric streams and are left out). */
const CATALOGUE: Readonly<Record<string, CatalogueEntry>> = {
  SMA: { input: "close", params: P, ctor: SMA },
  EMA: { input: "close", params: P, ctor: EMA },
  WMA: { input: "close", params: P, ctor: WMA },
  WEMA: { input: "close", params: P, ctor: WEMA },
  RSI: { input: "close", params: P, ctor: RSI },
  ROC: { input: "close", params: P, ctor: ROC },
  TRIX: { input: "close", params: P, ctor: TRIX },
  SD: { input: "close", params: P, ctor: SD },
  Highest: { input: "close", params: P, ctor: Highest },
  Lowest: { input: "close", params: P, ctor: Lowest },
  Sum: { input: "close", params: P, ctor: Sum },
  AverageGain: { input: "close", params: P, ctor: AverageGain },
  AverageLoss: { input: "close", params: P, ctor: AverageLoss },
  MACD: {
    input: "close",
    params: [
      period("fastPeriod"),
      period("slowPeriod"),
      period("signalPeriod"),
      // A plain input object without these gives EMAs in the library, hence default false.
      flag("SimpleMAOscillator", false),
      flag("SimpleMASignal", false)
    ],
    outputs: ["MACD", "signal", "histogram"],
    ctor: MACD
  },
  BollingerBands: {
    input: "close",
    params: [period("period"), positive("stdDev")],
    outputs: ["middle", "upper", "lower", "pb"],
    ctor: BollingerBands
  },
  KST: {
    input: "close",
    params: [
      period("ROCPer1"),
      period("ROCPer2"),
      period("ROCPer3"),
      period("ROCPer4"),
      period("SMAROCPer1"),
      period("SMAROCPer2"),
      period("SMAROCPer3"),
      period("SMAROCPer4"),
      period("signalPeriod")
    ],
    outputs: ["kst", "signal"],
    ctor: KST
  },
  StochasticRSI: {
    input: "close",
    params: [period("rsiPeriod"), period("stochasticPeriod"), period("kPeriod"), period("dPeriod")],
    outputs: ["stochRSI", "k", "d"],
    ctor: StochasticRSI
  },
  ADL: { input: "candle", params: [], ctor: ADL },
  ATR: { input: "candle", params: P, ctor: ATR },
  TrueRange: { input: "candle", params: [], ctor: TrueRange },
  CCI: { input: "candle", params: P, ctor: CCI },
  AwesomeOscillator: {
    input: "candle",
    params: [period("fastPeriod"), period("slowPeriod")],
    ctor: AwesomeOscillator
  },
  ForceIndex: { input: "candle", params: [period("period", 1)], ctor: ForceIndex },
  MFI: { input: "candle", params: P, ctor: MFI },
  OBV: { input: "candle", params: [], ctor: OBV },
  VWAP: { input: "candle", params: [], ctor: VWAP },
  WilliamsR: { input: "candle", params: P, ctor: WilliamsR },
  PSAR: { input: "candle", params: [positive("step"), positive("max")], ctor: PSAR },
  ADX: { input: "candle", params: P, outputs: ["adx", "pdi", "mdi"], ctor: ADX },
  Stochastic: {
    input: "candle",
    params: [period("period"), period("signalPeriod")],
    outputs: ["k", "d"],
    ctor: Stochastic
  },
  IchimokuCloud: {
    input: "candle",
    params: [
      period("conversionPeriod", 9),
      period("basePeriod", 26),
      period("spanPeriod", 52),
      period("displacement", 26)
    ],
    outputs: ["conversion", "base", "spanA", "spanB"],
    ctor: IchimokuCloud
  },
  KeltnerChannels: {
    input: "candle",
    params: [period("maPeriod", 20), period("atrPeriod", 10), flag("useSMA", false), positive("multiplier", 1)],
    outputs: ["middle", "upper", "lower"],
    ctor: KeltnerChannels
  },
  ChandelierExit: {
    input: "candle",
    params: [period("period", 22), positive("multiplier", 3)],
    outputs: ["exitLong", "exitShort"],
    ctor: ChandelierExit
  },
  HeikinAshi: {
    input: "candle",
    params: [],
    outputs: ["open", "high", "low", "close", "volume"],
    ctor: HeikinAshi
  }
}

/** Catalogue names, for error messages and docs. */
export const TECHNICALINDICATORS_NAMES: ReadonlyArray<string> = Object.keys(CATALOGUE)

const byLowerName = new Map(Object.keys(CATALOGUE).map((k) => [k.toLowerCase(), k]))

/** The catalogue entry name for `name` (case-insensitive), if any. */
export const technicalIndicatorName = (name: string): string | undefined => byLowerName.get(name.toLowerCase())

type Streamer = { nextValue(input: unknown): unknown }
type StreamerCtor = new (input: Record<string, unknown>) => Streamer

const EMPTY_SERIES = { values: [], open: [], high: [], low: [], close: [], volume: [], timestamp: [] }

const toNumber = (v: unknown): number => (typeof v === "number" ? v : Number.NaN)

const makeStream = (entry: CatalogueEntry, params: Record<string, unknown>, output: string | undefined): IndicatorStream => {
  const Ctor = entry.ctor as StreamerCtor
  const instance = new Ctor({ ...EMPTY_SERIES, ...params })
  const feed =
    entry.input === "close"
      ? (bar: Bar) => instance.nextValue(bar.close)
      : (bar: Bar) =>
          instance.nextValue({
            open: bar.open,
            high: bar.high,
            low: bar.low,
            close: bar.close,
            volume: bar.volume,
            timestamp: bar.time
          })
  return {
    next: (bar) => {
      const result = feed(bar)
      if (output === undefined) return toNumber(result)
      return result !== null && typeof result === "object" ? toNumber((result as Record<string, unknown>)[output]) : Number.NaN
    }
  }
}

/** Deterministic synthetic bars (a seeded random walk) used to find when a stream first yields. */
const syntheticBars = function* (): Generator<Bar> {
  let seed = 0x2545f491
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    return seed / 0x1_0000_0000
  }
  let close = 100
  for (let i = 0; ; i++) {
    const open = close
    close = open * (1 + (rand() - 0.5) * 0.04)
    const high = Math.max(open, close) * (1 + rand() * 0.01)
    const low = Math.min(open, close) * (1 - rand() * 0.01)
    yield { time: i * 86_400_000, open, high, low, close, volume: 1000 + Math.floor(rand() * 1000) }
  }
}

const describeParams = (entry: CatalogueEntry): string =>
  entry.params.length === 0
    ? "no parameters"
    : entry.params
        .map((p) => `${p.name} (${p.kind === "period" ? "positive integer" : p.kind === "positive" ? "positive number" : "boolean"}${p.default !== undefined ? `, default ${p.default}` : ""})`)
        .join(", ")

const checkParam = (indicator: string, p: ParamSpec, value: unknown): Result<number | boolean, string> => {
  const where = `technicalindicators '${indicator}': parameter '${p.name}'`
  if (value === undefined) {
    if (p.default !== undefined) return ok(p.default)
    return err(`${where} is missing`)
  }
  switch (p.kind) {
    case "period":
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 1
        ? ok(value)
        : err(`${where} must be a positive integer, got ${JSON.stringify(value)}`)
    case "positive":
      return typeof value === "number" && Number.isFinite(value) && value > 0
        ? ok(value)
        : err(`${where} must be a positive finite number, got ${JSON.stringify(value)}`)
    case "boolean":
      return typeof value === "boolean" ? ok(value) : err(`${where} must be true or false, got ${JSON.stringify(value)}`)
  }
}

/** Resolves a technicalindicators spec; `name` must already be a catalogue name. */
export const resolveTechnicalIndicator = (
  name: string,
  spec: { readonly [param: string]: unknown },
  as: string | undefined
): Result<IndicatorDefinition, string> => {
  const entry = CATALOGUE[name]
  const known = new Set(["name", "as", "output", ...entry.params.map((p) => p.name)])
  const unknown = Object.keys(spec).filter((k) => !known.has(k))
  if (unknown.length > 0) {
    return err(
      `technicalindicators '${name}': unknown parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `'${u}'`).join(", ")}` +
        ` (accepted: ${describeParams(entry)}${entry.outputs ? `; output: ${entry.outputs.join(" | ")}` : ""})`
    )
  }
  const params: Record<string, number | boolean> = {}
  const nameParts: string[] = [name]
  for (const p of entry.params) {
    const checked = checkParam(name, p, spec[p.name])
    if (!checked.ok) return err(`${checked.error} (parameters: ${describeParams(entry)})`)
    params[p.name] = checked.value
    if (typeof checked.value === "number") nameParts.push(String(checked.value))
    else if (checked.value) nameParts.push(p.name)
  }
  let output: string | undefined
  if (entry.outputs) {
    const o = spec.output
    if (typeof o !== "string" || !entry.outputs.includes(o)) {
      return err(
        `technicalindicators '${name}' has several outputs: 'output' must be one of ${entry.outputs.join(", ")}` +
          (o === undefined ? " (missing)" : ` (got ${JSON.stringify(o)})`)
      )
    }
    output = o
    nameParts.push(o)
  } else if (spec.output !== undefined) {
    return err(`technicalindicators '${name}' has a single output; remove 'output' (got ${JSON.stringify(spec.output)})`)
  }

  // Warm-up: the bar count at which the library first yields a number, found by feeding a
  // fresh instance deterministic synthetic bars (the library does not expose it).
  const numericParams = Object.values(params).filter((v): v is number => typeof v === "number" && Number.isInteger(v))
  const limit = 100 + 10 * numericParams.reduce((a, b) => a + b, 0)
  let warmupBars = 0
  try {
    const probe = makeStream(entry, params, output)
    let n = 0
    for (const bar of syntheticBars()) {
      n++
      if (Number.isFinite(probe.next(bar))) {
        warmupBars = n
        break
      }
      if (n >= limit) break
    }
  } catch (e) {
    return err(`technicalindicators '${name}': the library rejected the parameters: ${String(e)}`)
  }
  if (warmupBars === 0) {
    return err(`technicalindicators '${name}': produced no value within ${limit} bars; check the parameters`)
  }
  const finalParams = params
  return ok({
    name: as ?? nameParts.join("_"),
    warmupBars,
    create: () => makeStream(entry, finalParams, output)
  })
}
