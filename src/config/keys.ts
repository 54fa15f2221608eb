/**
 * Alpaca paper-trading keys, `Redacted` from the moment they are read.
 *
 * Where they are looked for, first match wins:
 * 1. Alpaca's own environment variables `APCA_API_KEY_ID` + `APCA_API_SECRET_KEY` (both, or
 *    neither: the pair overrides the keys file, so a deployment can swap accounts without edits);
 * 2. the keys file (default `config/api_keys.yaml`), `alpaca.api_key_id_paper` and
 *    `alpaca.secret_key_paper`.
 * No message or log ever contains a key.
 */
import { FileSystem } from "@effect/platform"
import { Config, Effect, Option, Redacted } from "effect"
import { ConfigError } from "./errors.js"
import { readYaml } from "./yaml.js"

export const DEFAULT_KEYS_FILE = "config/api_keys.yaml"
export const KEY_ID_ENV = "APCA_API_KEY_ID"
export const SECRET_KEY_ENV = "APCA_API_SECRET_KEY"

export interface AlpacaKeys {
  readonly keyId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  /** Where they came from: `environment` or the keys file's path. */
  readonly source: string
}

const FILE_FIELDS = { keyId: "api_key_id_paper", secretKey: "secret_key_paper" } as const

const whereToPut = (file: string): string =>
  `set ${KEY_ID_ENV} and ${SECRET_KEY_ENV}, or put alpaca.${FILE_FIELDS.keyId} and alpaca.${FILE_FIELDS.secretKey} in ${file}`

/** A non-empty environment variable, redacted; `None` when unset or blank. */
const envKey = (name: string) =>
  Config.option(Config.redacted(name)).pipe(
    Effect.map(Option.filter((value) => Redacted.value(value).trim() !== "")),
    Effect.map(Option.map((value) => Redacted.make(Redacted.value(value).trim()))),
    Effect.mapError(() => new ConfigError({ field: name, detail: "cannot be read from the environment" }))
  )

const fromFile = (file: string) =>
  Effect.gen(function* () {
    const doc = yield* readYaml(file, "keys file")
    const root = doc.value
    const alpaca = typeof root === "object" && root !== null && !Array.isArray(root) ? (root as Record<string, unknown>).alpaca : undefined
    if (typeof alpaca !== "object" || alpaca === null || Array.isArray(alpaca)) {
      return yield* new ConfigError({ file, field: "alpaca", line: doc.lineOf(["alpaca"]), detail: `missing: ${whereToPut(file)}` })
    }
    const read = (field: string) => {
      const value = (alpaca as Record<string, unknown>)[field]
      if (typeof value === "string" && value.trim() !== "") return Effect.succeed(Redacted.make(value.trim()))
      // Never echo the value: it may be a mistyped key.
      const detail = value === undefined || value === null ? `missing: ${whereToPut(file)}` : "must be a non-empty string (the key, quoted if it looks like a number)"
      return Effect.fail(new ConfigError({ file, field: `alpaca.${field}`, line: doc.lineOf(["alpaca", field]), detail }))
    }
    const keyId = yield* read(FILE_FIELDS.keyId)
    const secretKey = yield* read(FILE_FIELDS.secretKey)
    return { keyId, secretKey, source: file } satisfies AlpacaKeys
  })

/** The paper keys from the environment, else from the keys file; a ConfigError says where to put them. */
export const loadAlpacaKeys = (options: { readonly keysFile?: string | undefined } = {}): Effect.Effect<AlpacaKeys, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const file = options.keysFile ?? DEFAULT_KEYS_FILE
    const envKeyId = yield* envKey(KEY_ID_ENV)
    const envSecret = yield* envKey(SECRET_KEY_ENV)
    if (Option.isSome(envKeyId) && Option.isSome(envSecret)) {
      yield* Effect.logDebug(`alpaca keys: from ${KEY_ID_ENV} / ${SECRET_KEY_ENV}`)
      return { keyId: envKeyId.value, secretKey: envSecret.value, source: "environment" } satisfies AlpacaKeys
    }
    if (Option.isSome(envKeyId) || Option.isSome(envSecret)) {
      const [set, unset] = Option.isSome(envKeyId) ? [KEY_ID_ENV, SECRET_KEY_ENV] : [SECRET_KEY_ENV, KEY_ID_ENV]
      return yield* new ConfigError({ field: unset, detail: `${set} is set but ${unset} is not: set both (together they override ${file})` })
    }
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false))
    if (!exists) return yield* new ConfigError({ file, detail: `no Alpaca keys found: ${whereToPut(file)}` })
    const keys = yield* fromFile(file)
    yield* Effect.logDebug(`alpaca keys: from ${file}`)
    return keys
  })
