import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Logger, LogLevel, Redacted } from "effect"
import { loadAlpacaKeys } from "../../src/config/keys.js"
import { tmpTree } from "../support/tmp.js"

const KEY_ID = "PKTESTKEYID0123456789"
const SECRET = "secret-Zx81Qp0Lm2Vb7Nc4Rt6Yu9Io3Pa5Sd"
const ENV_KEY_ID = "PKENVKEYID9876543210"
const ENV_SECRET = "env-secret-Hj4Kl7Mn0Bv2Cx5Zq8Wr1Et3"

const keysYaml = (fields: string) => `# paper account\nalpaca:\n${fields}`

/** Runs `loadAlpacaKeys` with `env` as the whole environment, capturing every log line (debug included). */
const load = (options: { readonly env?: Record<string, string>; readonly keysFile?: string }) => {
  const logs: Array<string> = []
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    logs.push(`${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify([...annotations])}`)
  })
  return loadAlpacaKeys({ keysFile: options.keysFile }).pipe(
    Effect.either,
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {})))),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Logger.withMinimumLogLevel(LogLevel.All),
    Effect.provide(NodeContext.layer),
    Effect.map((result) => ({ result, logs }))
  )
}

describe("loadAlpacaKeys", () => {
  it.effect("reads both keys from the keys file, as Redacted", () =>
    Effect.gen(function* () {
      const dir = tmpTree({ "api_keys.yaml": keysYaml(`  api_key_id_paper: ${KEY_ID}\n  secret_key_paper: "${SECRET}"\n`) })
      const { result, logs } = yield* load({ keysFile: path.join(dir, "api_keys.yaml") })
      if (Either.isLeft(result)) throw new Error(result.left.message)
      expect(Redacted.value(result.right.keyId)).toBe(KEY_ID)
      expect(Redacted.value(result.right.secretKey)).toBe(SECRET)
      expect(result.right.source).toBe(path.join(dir, "api_keys.yaml"))
      expect(String(result.right.secretKey)).not.toContain(SECRET)
      expect(JSON.stringify(result.right)).not.toContain(SECRET)
      expect(logs.length).toBeGreaterThan(0)
      expect(logs.join("\n")).not.toContain(SECRET)
    }))

  it.effect("Alpaca's environment variables override the file", () =>
    Effect.gen(function* () {
      const dir = tmpTree({ "api_keys.yaml": keysYaml(`  api_key_id_paper: ${KEY_ID}\n  secret_key_paper: ${SECRET}\n`) })
      const { result, logs } = yield* load({
        keysFile: path.join(dir, "api_keys.yaml"),
        env: { APCA_API_KEY_ID: ENV_KEY_ID, APCA_API_SECRET_KEY: ENV_SECRET }
      })
      if (Either.isLeft(result)) throw new Error(result.left.message)
      expect(Redacted.value(result.right.keyId)).toBe(ENV_KEY_ID)
      expect(Redacted.value(result.right.secretKey)).toBe(ENV_SECRET)
      expect(result.right.source).toBe("environment")
      expect(logs.join("\n")).not.toContain(ENV_SECRET)
    }))

  it.effect("uses the environment when there is no keys file", () =>
    Effect.gen(function* () {
      const { result } = yield* load({
        keysFile: path.join(tmpTree({}), "api_keys.yaml"),
        env: { APCA_API_KEY_ID: ENV_KEY_ID, APCA_API_SECRET_KEY: ENV_SECRET }
      })
      if (Either.isLeft(result)) throw new Error(result.left.message)
      expect(Redacted.value(result.right.secretKey)).toBe(ENV_SECRET)
    }))

  it.effect("no keys anywhere is a ConfigError saying where keys are looked for", () =>
    Effect.gen(function* () {
      const file = path.join(tmpTree({}), "api_keys.yaml")
      const { result } = yield* load({ keysFile: file })
      if (Either.isRight(result)) throw new Error("expected a ConfigError")
      expect(result.left._tag).toBe("ConfigError")
      expect(result.left.message).toContain("APCA_API_KEY_ID")
      expect(result.left.message).toContain("APCA_API_SECRET_KEY")
      expect(result.left.message).toContain(file)
      expect(result.left.message).toContain("alpaca.secret_key_paper")
    }))

  it.effect("a missing or mistyped key in the file names its field and line, never the value", () =>
    Effect.gen(function* () {
      const dir = tmpTree({
        "missing.yaml": keysYaml(`  api_key_id_paper: ${KEY_ID}\n`),
        "numeric.yaml": keysYaml(`  api_key_id_paper: ${KEY_ID}\n  secret_key_paper: 123456789012\n`),
        "empty.yaml": "other: 1\n"
      })
      const missing = (yield* load({ keysFile: path.join(dir, "missing.yaml") })).result
      if (Either.isRight(missing)) throw new Error("expected a ConfigError")
      expect(missing.left).toMatchObject({ _tag: "ConfigError", field: "alpaca.secret_key_paper" })
      expect(missing.left.message).not.toContain(KEY_ID)

      const numeric = (yield* load({ keysFile: path.join(dir, "numeric.yaml") })).result
      if (Either.isRight(numeric)) throw new Error("expected a ConfigError")
      expect(numeric.left).toMatchObject({ field: "alpaca.secret_key_paper", line: 4 })
      expect(numeric.left.message).not.toContain("123456789012")

      const empty = (yield* load({ keysFile: path.join(dir, "empty.yaml") })).result
      if (Either.isRight(empty)) throw new Error("expected a ConfigError")
      expect(empty.left).toMatchObject({ field: "alpaca" })
    }))

  it.effect("half a key pair in the environment is a ConfigError, not a silent fallback to the file", () =>
    Effect.gen(function* () {
      const dir = tmpTree({ "api_keys.yaml": keysYaml(`  api_key_id_paper: ${KEY_ID}\n  secret_key_paper: ${SECRET}\n`) })
      const { result } = yield* load({ keysFile: path.join(dir, "api_keys.yaml"), env: { APCA_API_KEY_ID: ENV_KEY_ID } })
      if (Either.isRight(result)) throw new Error("expected a ConfigError")
      expect(result.left).toMatchObject({ _tag: "ConfigError", field: "APCA_API_SECRET_KEY" })
      expect(result.left.message).not.toContain(ENV_KEY_ID)
      expect(result.left.message).not.toContain(SECRET)
    }))
})
