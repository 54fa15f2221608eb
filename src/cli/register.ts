/**
 * `register --onnx FILE --env FILE --tickers A,B,… --name N --version V [--normalization FILE]
 * [--registry DIR] [--layout L] [--output NAME]`: an exported policy into a model registry folder.
 * The graph is inspected (input and output names, shapes, batch), run once, its action output
 * chosen, its sizes checked against the layout the environment file implies; the folder —
 * `model.onnx`, `model.yaml`, a copy of the environment file — appears whole or not at all, and is
 * read back by the loader a deployment uses before it is moved into place.
 */
import { createHash } from "node:crypto"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Layer, Schema } from "effect"
import * as YAML from "yaml"
import { observationSize } from "../core/layouts.js"
import { batchOf, chooseActionOutput, describeTensor, inspectOnnx, observationInput } from "../core/onnx-inspect.js"
import { loadEnvironment, readConfigDocument } from "../config/environment.js"
import { ConfigError } from "../config/errors.js"
import { checkReadableFile, MAX_BYTES } from "../config/files.js"
import { decodeDocument } from "../config/yaml.js"
import { type EnvironmentConfig, Ticker } from "../domain/Config.js"
import { LayoutName, Normalization, VecNormalizeStats } from "../domain/Model.js"
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
          Effect.map((s) => ({ mean: s.obs_rms.mean, var: s.obs_rms.var, clip_obs: s.clip_obs, epsilon: s.epsilon }))
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
    return stats
  })

export interface RegisterOptions {
  readonly onnx: string
  readonly env: string
  readonly tickers: ReadonlyArray<string>
  readonly name: string
  readonly version: string
  readonly normalization?: string | undefined
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
      yield* fs.writeFileString(path.join(staging, "model.yaml"), YAML.stringify(files.card, { lineWidth: 0 }))
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
    const normalization = options.normalization === undefined ? undefined : yield* loadNormalization(path.resolve(options.normalization), layout.size)

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
      ...(normalization === undefined ? {} : { normalization })
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
      registry: options.registry ?? "model_registry",
      layout: options.layout,
      output: options.output
    })
    yield* Console.log(result.lines.join("\n"))
    return 0
  })
