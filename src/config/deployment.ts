import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { DeploymentConfig, EnvironmentConfig } from "../domain/Config.js"
import { ConfigError } from "./errors.js"
import { decodeDocument, readYaml } from "./yaml.js"

/** A deployment config with its environment config loaded and every path resolved. */
export interface Deployment {
  readonly configFile: string
  readonly config: DeploymentConfig
  readonly environment: EnvironmentConfig
  readonly environmentFile: string
  readonly modelDir: string
  readonly barsDir: string | undefined
  readonly journalDir: string
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

    const mustExist = (field: string, p: string, kind: "file" | "directory") =>
      fs.stat(p).pipe(
        Effect.orElseFail(() => new ConfigError({ file, field, ...lineOf(doc, field), detail: `${kind} not found: ${p}` })),
        Effect.filterOrFail(
          (info) => (kind === "file" ? info.type === "File" : info.type === "Directory"),
          () => new ConfigError({ file, field, ...lineOf(doc, field), detail: `not a ${kind}: ${p}` })
        )
      )

    const environmentFile = resolve(config.environment)
    yield* mustExist("environment", environmentFile, "file")
    const environment = yield* readYaml(environmentFile, "environment config").pipe(
      Effect.flatMap((envDoc) => decodeDocument(EnvironmentConfig, envDoc, { unknownKeys: "error" }))
    )
    const modelDir = resolve(config.model)
    yield* mustExist("model", modelDir, "directory")
    const barsDir = config.data === undefined ? undefined : resolve(config.data.bars)
    if (barsDir !== undefined) yield* mustExist("data.bars", barsDir, "directory")
    const duplicates = config.tickers.filter((t, i) => config.tickers.indexOf(t) !== i)
    if (duplicates.length > 0) {
      return yield* new ConfigError({ file, field: "tickers", ...lineOf(doc, "tickers"), detail: `duplicate ticker ${duplicates[0]}` })
    }
    return {
      configFile: file,
      config,
      environment,
      environmentFile,
      modelDir,
      barsDir,
      journalDir: resolve(config.journal ?? "journal"),
      deploymentId: config.deployment_id ?? path.basename(file).replace(/\.ya?ml$/i, "").replace(/[^A-Za-z0-9_-]/g, "").slice(0, 32)
    }
  })

const lineOf = (doc: { readonly lineOf: (p: ReadonlyArray<PropertyKey>) => number | undefined }, field: string) => {
  const line = doc.lineOf(field.split("."))
  return line === undefined ? {} : { line }
}
