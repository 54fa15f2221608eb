import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { DeploymentConfig, type EnvironmentConfig } from "../domain/Config.js"
import { loadEnvironment } from "./environment.js"
import { ConfigError } from "./errors.js"
import { decodeDocument, readYaml } from "./yaml.js"

/** A deployment config with its environment config loaded and every path resolved. */
export interface Deployment {
  readonly configFile: string
  readonly config: DeploymentConfig
  readonly environment: EnvironmentConfig
  readonly environmentFile: string
  readonly modelDir: string
  /** `data.bars`, resolved; it may not exist yet (`download` makes it). */
  readonly barsDir: string | undefined
  readonly journalDir: string
  /** `news:`, its paths resolved (the file must exist; the cache defaults to the journal folder). */
  readonly news: { readonly file: string | undefined; readonly scorer: "lexicon" | { readonly onnx: string }; readonly cache: string } | undefined
  /** Names this deployment in client order ids: the config's `deployment_id`, else the config file's base name. */
  readonly deploymentId: string
}

export const loadDeployment = (
  configFile: string
): Effect.Effect<Deployment, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const fs = yield* FileSystem.FileSystem
    const file = path.resolve(configFile)
    const doc = yield* readYaml(file, "deployment config")
    const config = yield* decodeDocument(DeploymentConfig, doc, { unknownKeys: "error" })
    const base = path.dirname(file)
    const resolve = (p: string) => path.resolve(base, p)

    const isKind = (field: string, p: string, kind: "file" | "directory") =>
      Effect.filterOrFail(
        fs.stat(p),
        (info) => (kind === "file" ? info.type === "File" : info.type === "Directory"),
        () => new ConfigError({ file, field, ...lineOf(doc, field), detail: `not a ${kind}: ${p}` })
      )
    const mustExist = (field: string, p: string, kind: "file" | "directory") =>
      isKind(field, p, kind).pipe(
        Effect.catchTag("SystemError", () => new ConfigError({ file, field, ...lineOf(doc, field), detail: `${kind} not found: ${p}` })),
        Effect.catchTag("BadArgument", () => new ConfigError({ file, field, ...lineOf(doc, field), detail: `${kind} not found: ${p}` }))
      )

    const duplicates = config.tickers.filter((t, i) => config.tickers.indexOf(t) !== i)
    if (duplicates.length > 0) {
      return yield* new ConfigError({ file, field: "tickers", ...lineOf(doc, "tickers"), detail: `duplicate ticker ${duplicates[0]}` })
    }
    const environmentFile = resolve(config.environment)
    yield* mustExist("environment", environmentFile, "file")
    const environment = yield* loadEnvironment(environmentFile, config.tickers)
    const modelDir = resolve(config.model)
    yield* mustExist("model", modelDir, "directory")
    const barsDir = config.data === undefined ? undefined : resolve(config.data.bars)
    // a bars folder that does not exist yet is fine: `download` (or a backtest that downloads) makes it
    if (barsDir !== undefined) yield* isKind("data.bars", barsDir, "directory").pipe(Effect.catchTags({ SystemError: () => Effect.void, BadArgument: () => Effect.void }))
    const journalDir = resolve(config.journal ?? "journal")
    const news = config.news === undefined ? undefined : {
      file: config.news.file === undefined ? undefined : resolve(config.news.file),
      scorer: config.news.scorer === "lexicon" ? ("lexicon" as const) : { onnx: resolve(config.news.scorer.onnx) },
      cache: config.news.cache === undefined ? path.join(journalDir, "news-scores.jsonl") : resolve(config.news.cache)
    }
    if (news?.file !== undefined) yield* mustExist("news.file", news.file, "file")
    if (news !== undefined && news.scorer !== "lexicon") yield* mustExist("news.scorer.onnx", news.scorer.onnx, "directory")
    return {
      configFile: file,
      config,
      environment,
      environmentFile,
      modelDir,
      barsDir,
      journalDir,
      news,
      deploymentId: config.deployment_id ?? path.basename(file).replace(/\.ya?ml$/i, "").replace(/[^A-Za-z0-9_-]/g, "").slice(0, 32)
    }
  })

const lineOf = (doc: { readonly lineOf: (p: ReadonlyArray<PropertyKey>) => number | undefined }, field: string) => {
  const line = doc.lineOf(field.split("."))
  return line === undefined ? {} : { line }
}
