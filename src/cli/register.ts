/**
 * `register --onnx FILE --env FILE --tickers A,B,… --name N --version V [--normalization FILE]
 * [--observations FILE] [--registry DIR] [--layout L] [--output NAME]`: an exported policy into a
 * model registry folder.
 * The graph is inspected (input and output names, shapes, batch), run once, its action output
 * chosen, its sizes checked against the layout the environment file implies; the folder —
 * `model.onnx`, `model.yaml`, a copy of the environment file — appears whole or not at all, and is
 * read back by the loader a deployment uses before it is moved into place. The drift alarms'
 * training statistics come from `--observations` (a sample of training observations), else from
 * the VecNormalize statistics (a normal approximation), else there are none and drift checks are off.
 */
import { createHash } from "node:crypto"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Layer, Schema } from "effect"
import { TrainingStatisticsBuilder, statisticsFromNormalization } from "../core/drift.js"
import { observationFeatureNames, observationSize } from "../core/layouts.js"
import { batchOf, chooseActionOutput, describeTensor, inspectOnnx, observationInput } from "../core/onnx-inspect.js"
import { loadEnvironment, readConfigDocument } from "../config/environment.js"
import { ConfigError } from "../config/errors.js"
import { checkReadableFile, MAX_BYTES } from "../config/files.js"
import { decodeDocument } from "../config/yaml.js"
import { type EnvironmentConfig, Ticker } from "../domain/Config.js"
import { LayoutName, modelCardYaml, Normalization, type ObservationStats, VecNormalizeStats } from "../domain/Model.js"
import { resolveIndicators } from "../layers/IndicatorFeatureEngine.js"
import { OnnxPolicyLive } from "../layers/OnnxPolicy.js"
import { probeOnnx } from "../layers/OnnxProbe.js"
import { isTemporary, temporaryName } from "../programs/atomic.js"
import { orFail, UsageError } from "./options.js"

const LAYOUTS = LayoutName.literals

/** A registry folder name: no path separators, nothing hidden. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

const parseTickers = (list: string): ReadonlyArray<string> | UsageError => {
  const tickers = list.split(",").map((t) => t.trim()).filter((t) => t !== "")
  if (tickers.length === 0) return new UsageError({ detail: "register: --tickers lists no ticker" })
  const bad = tickers.find((t) => !Schema.is(Ticker)(t))
  if (bad !== undefined) return new UsageError({ detail: `register: --tickers: '${bad}' is not a ticker (upper-case letters, digits, '.' or '-', e.g. AAPL, BRK.B)` })
  const duplicate = tickers.find((t, i) => tickers.indexOf(t) !== i)
  if (duplicate !== undefined) return new UsageError({ detail: `register: --tickers names ${duplicate} twice` })
  return tickers
}

const folderName = (flag: string, value: string): string | UsageError =>
  SAFE_NAME.test(value) ? value : new UsageError({ detail: `register: --${flag} '${value}' must be letters, digits, '_', '.' or '-' (it names a folder)` })

/**
 * The layout FinRL's sizes imply: the one whose size is the environment's `state_space` (or the
 * graph's input width when the file has none), unless `--layout` names it.
 */
const chooseLayout = (
  env: EnvironmentConfig,
  envFile: string,
  tickers: number,
  indicators: number,
  inputWidth: number | undefined,
  asked: string | undefined
): { readonly layout: LayoutName; readonly size: number } | ConfigError | UsageError => {
  const sizes = LAYOUTS.map((layout) => ({ layout, size: observationSize(layout, tickers, indicators) }))
  const listed = sizes.map((s) => `${s.size} (${s.layout})`).join(" or ")
  if (asked !== undefined) {
    const found = sizes.find((s) => s.layout === asked)
    if (found === undefined) return new UsageError({ detail: `register: --layout must be ${LAYOUTS.join(" or ")}, got '${asked}'` })
    if (env.state_space !== undefined && env.state_space !== found.size) {
      return new ConfigError({ file: envFile, field: "state_space", detail: `is ${env.state_space}, but ${found.layout} with ${tickers} tickers and ${indicators} indicators has ${found.size}` })
    }
    return found
  }
  const target = env.state_space ?? inputWidth
  if (target === undefined) return new UsageError({ detail: `register: neither the environment file (state_space) nor the graph says the observation's size: give --layout (${LAYOUTS.join(" or ")})` })
  const found = sizes.find((s) => s.size === target)
  if (found !== undefined) return found
  const source = env.state_space !== undefined ? `state_space is ${target}` : `the graph's input takes ${target} values`
  return new ConfigError({ file: envFile, ...(env.state_space !== undefined ? { field: "state_space" } : {}), detail: `${source}, but with ${tickers} tickers and ${indicators} indicators FinRL's layouts take ${listed}` })
}

/** VecNormalize statistics from YAML or JSON, in SB3's names or model.yaml's; sized to the observation. */
const loadNormalization = (file: string, size: number) =>
  Effect.gen(function* () {
    const doc = yield* readConfigDocument(file, "normalization statistics")
    const value = doc.value
    const sb3 = typeof value === "object" && value !== null && "obs_rms" in value
    const stats = sb3
      ? yield* decodeDocument(VecNormalizeStats, doc, { unknownKeys: "error" }).pipe(
          Effect.filterOrFail(
            (s) => s.norm_obs !== false,
            () => new ConfigError({ file, field: "norm_obs", detail: "is false: the observations were not normalized, leave out --normalization" })
          ),
          Effect.map((s) => ({ mean: s.obs_rms.mean, var: s.obs_rms.var, clip_obs: s.clip_obs, epsilon: s.epsilon, count: s.obs_rms.count }))
        )
      : yield* decodeDocument(Normalization, doc, { unknownKeys: "error" })
    const prefix = sb3 ? "obs_rms." : ""
    for (const [field, values] of [["mean", stats.mean], ["var", stats.var]] as const) {
      if (values.length !== size) {
        const at = `${prefix}${field}`
        const line = doc.lineOf(at.split("."))
        return yield* new ConfigError({ file, field: at, ...(line === undefined ? {} : { line }), detail: `has ${values.length} values, the observation has ${size}` })
      }
    }
    const { count, ...normalization } = { count: undefined, ...stats }
    return { normalization, count }
  })

/** The most bytes an observations file may have (a float64 sample of 100 000 observations × 300 features is 240 MB). */
const OBSERVATIONS_MAX_BYTES = 256 * 1024 * 1024

/** Fewer training observations than this cannot place ten PSI bins. */
export const MIN_OBSERVATIONS = 100

/** Where an observations file went wrong: the line of a CSV (a .npy's row is in the detail), and what. */
export interface ObservationsProblem {
  readonly line?: number | undefined
  readonly detail: string
}

/**
 * Observations as CSV: one per line, comma-separated numbers; a first line that is not all numbers
 * is a header and skipped; blank lines are skipped. Each row goes to `add`; the first problem is returned.
 */
export const readObservationsCsv = (text: string, size: number, add: (row: Float64Array) => void): ObservationsProblem | undefined => {
  const lines = text.split(/\r?\n/)
  const row = new Float64Array(size)
  let first = true
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l].trim()
    if (line === "") continue
    const fields = line.split(",").map((f) => f.trim())
    const numeric = fields.map((f) => (f === "" ? NaN : Number(f)))
    if (first && numeric.some((v, i) => Number.isNaN(v) && !/^[+-]?nan$/i.test(fields[i]))) {
      first = false
      continue
    }
    first = false
    if (fields.length !== size) return { line: l + 1, detail: `has ${fields.length} values, the observation has ${size}` }
    const bad = numeric.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) return { line: l + 1, detail: `value ${bad + 1} ('${fields[bad]}') is not a finite number` }
    row.set(numeric)
    add(row)
  }
  return undefined
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]

/**
 * Observations as numpy's `.npy` (`np.save` of a 2-D float32 or float64 array, one observation per
 * row, either byte order, C or Fortran order). Each row goes to `add`; a problem is returned.
 */
export const readObservationsNpy = (bytes: Uint8Array, size: number, add: (row: Float64Array) => void): ObservationsProblem | undefined => {
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) return { detail: "not a .npy file (numpy's magic string is missing)" }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const major = bytes[6]
  if (major < 1 || major > 3) return { detail: `.npy format version ${major} is not known (1, 2 or 3 are)` }
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : -1
  const headerStart = major === 1 ? 10 : 12
  if (headerLength < 0 || headerStart + headerLength > bytes.length) return { detail: "the .npy header is cut short" }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, headerStart + headerLength))
  const descr = header.match(/'descr'\s*:\s*'([^']*)'/)?.[1]
  const fortran = header.match(/'fortran_order'\s*:\s*(True|False)/)?.[1]
  const shapeText = header.match(/'shape'\s*:\s*\(([^)]*)\)/)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) return { detail: `the .npy header is not numpy's: ${header.trim()}` }
  const type = descr.match(/^([<>=|]?)f([48])$/)
  if (type === null) return { detail: `the array's dtype is '${descr}': float32 ('<f4') or float64 ('<f8') is needed` }
  const shape = shapeText.split(",").map((d) => d.trim()).filter((d) => d !== "").map(Number)
  if (shape.length !== 2) return { detail: `the array has shape (${shape.join(", ")}): one observation per row (2-D, n × ${size}) is needed` }
  const [rows, columns] = shape
  if (columns !== size) return { detail: `the array has ${columns} columns, the observation has ${size}` }
  const width = Number(type[2])
  const little = type[1] !== ">"
  const dataStart = headerStart + headerLength
  if (bytes.length - dataStart < rows * columns * width) return { detail: `the array's data is cut short: ${rows} × ${columns} values of ${width} bytes need ${rows * columns * width}, the file has ${bytes.length - dataStart}` }
  const row = new Float64Array(size)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const at = dataStart + width * (fortran === "True" ? c * rows + r : r * columns + c)
      row[c] = width === 4 ? view.getFloat32(at, little) : view.getFloat64(at, little)
    }
    const bad = row.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) return { detail: `row ${r + 1}, value ${bad + 1} is ${row[bad]}, not a finite number` }
    add(row)
  }
  return undefined
}

/** The training statistics of a sample of training observations (CSV or .npy), checked against the observation's size. */
const loadObservationStats = (file: string, names: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* checkReadableFile(file, { maxBytes: OBSERVATIONS_MAX_BYTES, what: "the observations file" })
    const bytes = yield* fs.readFile(file).pipe(Effect.mapError((e) => new ConfigError({ file, detail: `cannot read: ${e.message}` })))
    const builder = new TrainingStatisticsBuilder(names.length)
    const add = (row: Float64Array) => builder.add(row)
    const npy = file.toLowerCase().endsWith(".npy")
    const problem = npy ? readObservationsNpy(bytes, names.length, add) : readObservationsCsv(new TextDecoder().decode(bytes), names.length, add)
    if (problem !== undefined) {
      return yield* new ConfigError({ file, ...(problem.line === undefined ? {} : { line: problem.line }), detail: problem.detail })
    }
    if (builder.count < MIN_OBSERVATIONS) {
      return yield* new ConfigError({ file, detail: `holds ${builder.count} observations: at least ${MIN_OBSERVATIONS} are needed for the quantiles and the drift bins` })
    }
    return builder.build(names)!
  })

export interface RegisterOptions {
  readonly onnx: string
  readonly env: string
  readonly tickers: ReadonlyArray<string>
  readonly name: string
  readonly version: string
  readonly normalization?: string | undefined
  /** A sample of training observations (CSV or .npy) for the drift alarms' statistics. */
  readonly observations?: string | undefined
  readonly registry: string
  readonly layout?: string | undefined
  readonly output?: string | undefined
}

export interface Registration {
  readonly dir: string
  readonly lines: ReadonlyArray<string>
}

/**
 * The graph against the environment: the layout its sizes imply, the observation input, and the
 * action among the outputs of one dry run. Every refusal names the ONNX file.
 */
const examinePolicy = (bytes: Uint8Array, onnxFile: string, env: EnvironmentConfig, envFile: string, options: RegisterOptions) =>
  Effect.gen(function* () {
    const refuse = (detail: string) => new ConfigError({ file: onnxFile, detail })
    const graph = inspectOnnx(bytes)
    if (typeof graph === "string") return yield* refuse(graph)
    const n = options.tickers.length
    const k = env.tech_indicators.length
    const width = graph.inputs.length === 1 ? graph.inputs[0].dims?.[1] : undefined
    const layout = chooseLayout(env, envFile, n, k, typeof width === "number" ? width : undefined, options.layout)
    if (layout instanceof ConfigError || layout instanceof UsageError) return yield* layout
    const input = observationInput(graph, layout.size)
    if (typeof input === "string") return yield* refuse(`${input} (${layout.layout}: ${n} tickers, ${k} indicators)`)
    const outputs = yield* probeOnnx(bytes, { name: input.name, size: layout.size }).pipe(Effect.mapError(refuse))
    const action = chooseActionOutput(outputs, n, options.output)
    if (typeof action === "string") return yield* refuse(action)
    return { graph, layout, input, outputs, action }
  })

/**
 * Writes the folder under a temporary name, loads it as a deployment will (sha256, names, shapes),
 * and only then renames it into place; on any failure nothing is left.
 */
const writeRegistryFolder = (dir: string, files: { readonly onnx: Uint8Array; readonly card: object; readonly envFile: string; readonly envCopy: string }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false))) {
      return yield* new ConfigError({ file: dir, detail: "already exists: a registered model is never overwritten; give another --version" })
    }
    const parent = path.dirname(dir)
    const staging = path.join(parent, temporaryName(path.basename(dir)))
    const write = Effect.gen(function* () {
      yield* fs.makeDirectory(parent, { recursive: true })
      for (const stale of (yield* fs.readDirectory(parent)).filter(isTemporary)) yield* fs.remove(path.join(parent, stale), { recursive: true })
      yield* fs.makeDirectory(staging)
      yield* fs.writeFile(path.join(staging, "model.onnx"), files.onnx)
      yield* fs.writeFileString(path.join(staging, "model.yaml"), modelCardYaml(files.card))
      yield* fs.copyFile(files.envFile, path.join(staging, files.envCopy))
    }).pipe(Effect.mapError((e) => new ConfigError({ file: dir, detail: `cannot write the registry folder: ${e.message}` })))
    const verify = Effect.scoped(Layer.build(OnnxPolicyLive(staging))).pipe(
      Effect.mapError((e) => new ConfigError({ file: dir, detail: `the registered folder does not load: ${e.detail}` }))
    )
    const place = fs.rename(staging, dir).pipe(Effect.mapError((e) => new ConfigError({ file: dir, detail: `cannot move the registry folder into place: ${e.message}` })))
    yield* write.pipe(
      Effect.zipRight(verify),
      Effect.zipRight(place),
      Effect.onError(() => fs.remove(staging, { recursive: true }).pipe(Effect.ignore))
    )
  })

/** Inspects, checks and registers; see the module comment. */
export const register = (options: RegisterOptions) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const onnxFile = path.resolve(options.onnx)
    const envFile = path.resolve(options.env)

    const env = yield* loadEnvironment(envFile, options.tickers)
    const indicators = resolveIndicators(env.tech_indicators)
    if (typeof indicators === "string") return yield* new ConfigError({ file: envFile, field: "tech_indicators", detail: indicators })
    yield* checkReadableFile(onnxFile, { maxBytes: MAX_BYTES.onnx, what: "the ONNX file" })
    const bytes = yield* fs.readFile(onnxFile).pipe(Effect.mapError((e) => new ConfigError({ file: onnxFile, detail: `cannot read: ${e.message}` })))
    const { graph, layout, input, outputs, action } = yield* examinePolicy(bytes, onnxFile, env, envFile, options)
    const vecNormalize = options.normalization === undefined ? undefined : yield* loadNormalization(path.resolve(options.normalization), layout.size)
    const normalization = vecNormalize?.normalization
    const names = observationFeatureNames(layout.layout, options.tickers, indicators.map((d) => d.name))
    const observationStats: ObservationStats | undefined =
      options.observations !== undefined
        ? yield* loadObservationStats(path.resolve(options.observations), names)
        : vecNormalize !== undefined
          ? statisticsFromNormalization(vecNormalize.normalization, names, vecNormalize.count)
          : undefined

    const n = options.tickers.length
    const sha256 = createHash("sha256").update(bytes).digest("hex")
    const envCopy = `environment${path.extname(envFile).toLowerCase() === ".json" ? ".json" : ".yaml"}`
    const card = {
      name: options.name,
      version: options.version,
      description: `registered from ${path.basename(onnxFile)}${graph.producer === undefined ? "" : ` (exported by ${graph.producer})`}; environment: ${envCopy}`,
      tickers: options.tickers,
      tech_indicators: env.tech_indicators,
      observation: { layout: layout.layout, size: layout.size },
      action: { size: n, hmax: env.hmax },
      onnx: { file: "model.onnx", sha256, input: input.name, output: action.name },
      ...(normalization === undefined ? {} : { normalization }),
      ...(observationStats === undefined ? {} : { observation_stats: observationStats })
    }
    const dir = path.join(path.resolve(options.registry), options.name, options.version)
    yield* writeRegistryFolder(dir, { onnx: bytes, card, envFile, envCopy })

    const shown = path.relative(process.cwd(), dir) || dir
    const others = outputs.filter((o) => o.name !== action.name)
    const batch = batchOf(input)
    const lines = [
      `registered ${shown}`,
      `  input  '${input.name}' ${describeTensor(input)}${batch.ok ? `, ${batch.text}` : ""}`,
      `  action '${action.name}' float32[batch, ${n}]: ${action.reason}`,
      ...(others.length === 0 ? [] : [`  other outputs (not used): ${others.map((o) => `'${o.name}' ${o.type}[${o.dims.join(", ")}]`).join(", ")}`]),
      `  observation ${layout.layout}, ${layout.size} values (${n} tickers × ${env.tech_indicators.length} indicators); hmax ${env.hmax}`,
      `  normalization ${normalization === undefined ? "none" : `VecNormalize statistics, clip ±${normalization.clip_obs}`}`,
      `  drift ${
        observationStats === undefined
          ? "checks off: no training statistics (give --observations FILE, a sample of training observations, or --normalization)"
          : observationStats.source === "sample"
            ? `statistics from ${observationStats.observations} training observations (${path.basename(options.observations!)})`
            : "statistics approximated from the VecNormalize mean and variance (normal, range mean ± 4σ)"
      }`,
      `  sha256 ${sha256}`,
      `use it: model: ${shown} and environment: ${path.join(shown, envCopy)} in a deployment config`
    ]
    return { dir, lines } satisfies Registration
  })

export const registerCommand = (options: {
  readonly onnx: string
  readonly env: string
  readonly tickers: string
  readonly name: string
  readonly version: string
  readonly normalization?: string | undefined
  readonly observations?: string | undefined
  readonly registry?: string | undefined
  readonly layout?: string | undefined
  readonly output?: string | undefined
}) =>
  Effect.gen(function* () {
    const tickers = yield* orFail(parseTickers(options.tickers))
    const name = yield* orFail(folderName("name", options.name))
    const version = yield* orFail(folderName("version", options.version))
    const result = yield* register({
      onnx: options.onnx,
      env: options.env,
      tickers,
      name,
      version,
      normalization: options.normalization,
      observations: options.observations,
      registry: options.registry ?? "model_registry",
      layout: options.layout,
      output: options.output
    })
    yield* Console.log(result.lines.join("\n"))
    return 0
  })
