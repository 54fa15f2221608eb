import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { register, type RegisterOptions } from "../../src/cli/register.js"
import { statisticsFromSample } from "../../src/core/drift.js"
import { observationFeatureNames } from "../../src/core/layouts.js"
import { Rng } from "../../src/core/rng.js"
import { readModelCard } from "../../src/layers/OnnxPolicy.js"
import { sb3LikeGraph } from "../support/onnx-graphs.js"
import { tmpTree } from "../support/tmp.js"

const INDICATORS = ["macd", "rsi_30"]
const TICKERS = ["SYNA", "SYNB"]
const SIZE = 1 + 2 * 2 + 2 * 2
const NAMES = observationFeatureNames("finrl-stock-trading-df", TICKERS, INDICATORS)

const envKwargs = JSON.stringify({
  hmax: 100,
  initial_amount: 100000,
  num_stock_shares: [0, 0],
  buy_cost_pct: [0.001, 0.001],
  sell_cost_pct: [0.001, 0.001],
  state_space: SIZE,
  stock_dim: 2,
  tech_indicator_list: INDICATORS,
  action_space: 2
})

/** `n` plausible observations: cash, closes, holdings, macd and rsi per ticker (values exact in float32). */
const sample = (n: number): Array<Array<number>> => {
  const rng = new Rng(21)
  const q = (x: number) => Math.round(x * 64) / 64
  return Array.from({ length: n }, () => [q(1e5 * rng.uniform()), q(60 + rng.normal()), q(120 + 2 * rng.normal()), rng.int(50), rng.int(80), q(rng.normal() / 4), q(rng.normal() / 4), q(50 + 10 * rng.normal()), q(50 + 10 * rng.normal())])
}

/** numpy's `.npy` (format 1.0) of a 2-D array, as `np.save` writes it. */
const npy = (rows: ReadonlyArray<ReadonlyArray<number>>, options: { dtype?: string; fortran?: boolean; shape?: string } = {}): Uint8Array => {
  const dtype = options.dtype ?? "<f8"
  const columns = rows[0]?.length ?? 0
  const shape = options.shape ?? `(${rows.length}, ${columns})`
  let header = `{'descr': '${dtype}', 'fortran_order': ${options.fortran === true ? "True" : "False"}, 'shape': ${shape}, }`
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n"
  const width = dtype.endsWith("4") ? 4 : 8
  const little = !dtype.startsWith(">")
  const data = new DataView(new ArrayBuffer(rows.length * columns * width))
  rows.forEach((row, r) =>
    row.forEach((v, c) => {
      const at = width * (options.fortran === true ? c * rows.length + r : r * columns + c)
      if (width === 4) data.setFloat32(at, v, little)
      else data.setFloat64(at, v, little)
    })
  )
  const out = new Uint8Array(10 + header.length + data.byteLength)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  out.set(new Uint8Array(data.buffer), 10 + header.length)
  return out
}

const csv = (rows: ReadonlyArray<ReadonlyArray<number>>, header = true) => (header ? NAMES.join(",") + "\n" : "") + rows.map((r) => r.join(",")).join("\n") + "\n"

const ROWS = sample(150)
const setup = (files: Record<string, string | Uint8Array> = {}) =>
  tmpTree({ "policy.onnx": sb3LikeGraph({ observation: SIZE, actions: 2 }), "env_kwargs.json": envKwargs, ...files })

const options = (dir: string, over: Partial<RegisterOptions> = {}): RegisterOptions => ({
  onnx: path.join(dir, "policy.onnx"),
  env: path.join(dir, "env_kwargs.json"),
  tickers: TICKERS,
  name: "ppo",
  version: "1",
  registry: path.join(dir, "registry"),
  ...over
})

const registered = (o: RegisterOptions) =>
  Effect.gen(function* () {
    const result = yield* register(o).pipe(Effect.either, Effect.provide(NodeContext.layer))
    if (Either.isLeft(result)) throw new Error(result.left.message)
    const card = yield* readModelCard(path.join(o.registry, o.name, o.version))
    return { card, lines: result.right.lines.join("\n") }
  })

const refusal = (o: RegisterOptions) =>
  Effect.map(register(o).pipe(Effect.either, Effect.provide(NodeContext.layer)), (r) => {
    if (Either.isRight(r)) throw new Error("expected a refusal")
    return r.left
  })

describe("register --observations: the drift alarms' training statistics", () => {
  it.effect("from a CSV sample (a header line skipped): the sample's statistics, named after the layout, and it says so", () =>
    Effect.gen(function* () {
      const dir = setup({ "obs.csv": csv(ROWS) })
      const { card, lines } = yield* registered(options(dir, { observations: path.join(dir, "obs.csv") }))
      expect(card.observation_stats).toEqual(statisticsFromSample(ROWS, NAMES))
      expect(card.observation_stats!.features.map((f) => f.name)).toEqual(["cash", "close[SYNA]", "close[SYNB]", "holding[SYNA]", "holding[SYNB]", "macd[SYNA]", "macd[SYNB]", "rsi_30[SYNA]", "rsi_30[SYNB]"])
      expect(lines).toMatch(/drift statistics from 150 training observations \(obs\.csv\)/)
    }))

  it.effect("from numpy's .npy: float64 and float32, C and Fortran order, either byte order, all the same statistics", () =>
    Effect.gen(function* () {
      const expected = statisticsFromSample(ROWS, NAMES)
      const dir = setup({
        "f8.npy": npy(ROWS),
        "f4.npy": npy(ROWS, { dtype: "<f4" }),
        "fortran.npy": npy(ROWS, { fortran: true }),
        "big.npy": npy(ROWS, { dtype: ">f8" })
      })
      for (const [version, file] of [["1", "f8.npy"], ["2", "f4.npy"], ["3", "fortran.npy"], ["4", "big.npy"]] as const) {
        const { card } = yield* registered(options(dir, { version, observations: path.join(dir, file) }))
        expect(card.observation_stats, file).toEqual(expected)
      }
    }))

  it.effect("without --observations, VecNormalize statistics give a normal approximation; with neither, drift checks are off", () =>
    Effect.gen(function* () {
      const mean = Array.from({ length: SIZE }, (_, i) => 10 * i)
      const dir = setup({ "obs.csv": csv(ROWS), "vecnormalize.json": JSON.stringify({ obs_rms: { mean, var: mean.map(() => 4), count: 5000 }, norm_obs: true }) })
      const fallback = yield* registered(options(dir, { normalization: path.join(dir, "vecnormalize.json") }))
      expect(fallback.card.observation_stats).toMatchObject({ source: "vecnormalize", observations: 5000 })
      expect(fallback.card.observation_stats!.features[2]).toMatchObject({ name: "close[SYNB]", mean: 20, std: 2, min: 12, max: 28 })
      expect(fallback.lines).toMatch(/drift statistics approximated from the VecNormalize mean and variance/)
      const both = yield* registered(options(dir, { version: "2", normalization: path.join(dir, "vecnormalize.json"), observations: path.join(dir, "obs.csv") }))
      expect(both.card.observation_stats?.source).toBe("sample")
      expect(both.card.normalization?.mean).toEqual(mean)
      const none = yield* registered(options(dir, { version: "3" }))
      expect(none.card.observation_stats).toBeUndefined()
      expect(none.lines).toMatch(/drift checks off: no training statistics \(give --observations FILE/)
    }))

  it.effect("a bad observations file is refused naming the file, the line or row, and what is wrong; nothing is registered", () =>
    Effect.gen(function* () {
      const width = ROWS.map((r) => r.join(","))
      const dir = setup({
        "narrow.csv": csv(ROWS) + "1,2,3\n",
        "nan.csv": [width[0], width[1], width[2].replace(/^[^,]*/, "abc")].join("\n") + "\n",
        "few.csv": csv(ROWS.slice(0, 40)),
        "ints.npy": npy(ROWS, { dtype: "<i8" }),
        "columns.npy": npy(ROWS.map((r) => r.slice(1))),
        "flat.npy": npy(ROWS, { shape: `(${ROWS.length * SIZE},)` }),
        "cut.npy": npy(ROWS).slice(0, 500),
        "inf.npy": npy([...ROWS.slice(0, 120), ROWS[0].map((v, i) => (i === 3 ? Infinity : v))]),
        "text.npy": "date,open\n"
      })
      const message = (file: string) => Effect.map(refusal(options(dir, { observations: path.join(dir, file) })), (e) => e.message)
      expect(yield* message("narrow.csv")).toMatch(/narrow\.csv:152: has 3 values, the observation has 9/)
      expect(yield* message("nan.csv")).toMatch(/nan\.csv:3: value 1 \('abc'\) is not a finite number/)
      expect(yield* message("few.csv")).toMatch(/few\.csv: holds 40 observations: at least 100 are needed/)
      expect(yield* message("ints.npy")).toMatch(/ints\.npy: the array's dtype is '<i8': float32 \('<f4'\) or float64 \('<f8'\) is needed/)
      expect(yield* message("columns.npy")).toMatch(/columns\.npy: the array has 8 columns, the observation has 9/)
      expect(yield* message("flat.npy")).toMatch(/flat\.npy: the array has shape \(1350\): one observation per row/)
      expect(yield* message("cut.npy")).toMatch(/cut\.npy: the array's data is cut short/)
      expect(yield* message("inf.npy")).toMatch(/inf\.npy: row 121, value 4 is Infinity, not a finite number/)
      expect(yield* message("text.npy")).toMatch(/text\.npy: not a \.npy file/)
      expect(yield* message("missing.csv")).toMatch(/missing\.csv: file not found \(the observations file\)/)
      expect(yield* Effect.promise(() => import("node:fs").then((fs) => fs.existsSync(path.join(dir, "registry/ppo/1"))))).toBe(false)
    }))
})
