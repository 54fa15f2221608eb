import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either } from "effect"
import { checkReadableFile, MAX_BYTES } from "../../src/config/files.js"
import { loadAlpacaKeys } from "../../src/config/keys.js"
import { MAX_YAML_ALIASES, parseYaml, readYaml } from "../../src/config/yaml.js"
import { tmpTree } from "../support/tmp.js"

const leftOf = <A, E>(e: Either.Either<A, E>): E => {
  if (Either.isRight(e)) throw new Error("expected a failure")
  return e.left
}

/** Nine levels of nine aliases each: 9^9 strings if expanded. */
const aliasBomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ..."bcdefghi".split("").map((c, i) => `${c}: &${c} [${new Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`)].join("\n") + "\n"

describe("checkReadableFile", () => {
  it.effect("returns the size of a regular file within the bound", () =>
    Effect.gen(function* () {
      const dir = tmpTree({ "a.yaml": "x: 1\n" })
      expect(yield* checkReadableFile(path.join(dir, "a.yaml"), { maxBytes: 100, what: "config" })).toBe(5)
    }))

  it.effect("refuses a missing file, a directory, a FIFO and a character device, naming the file and what it is", () =>
    Effect.gen(function* () {
      const dir = tmpTree({})
      const fifo = path.join(dir, "pipe")
      execFileSync("mkfifo", [fifo])
      const cases: Array<[string, RegExp]> = [
        [path.join(dir, "nope.yaml"), /nope\.yaml: file not found \(config\)$/],
        [dir, /: config is a directory, not a regular file$/],
        [fifo, /pipe: config is a FIFO \(named pipe\), not a regular file$/],
        ["/dev/zero", /^\/dev\/zero: config is a character device, not a regular file$/]
      ]
      for (const [file, pattern] of cases) {
        const error = leftOf(yield* Effect.either(checkReadableFile(file, { maxBytes: 1e9, what: "config" })))
        expect(error._tag).toBe("ConfigError")
        expect(error.message).toMatch(pattern)
      }
    }))

  it.effect("refuses a socket", () =>
    Effect.gen(function* () {
      const socket = path.join(tmpTree({}), "s.sock")
      const server = net.createServer()
      yield* Effect.async<void>((resume) => void server.listen(socket, () => resume(Effect.void)))
      const error = leftOf(yield* Effect.either(checkReadableFile(socket, { maxBytes: 1e9, what: "keys file" })))
      server.close()
      expect(error.message).toMatch(/keys file is a socket, not a regular file/)
    }))

  it.effect("refuses a file over the bound, naming its size and the limit (a sparse file: nothing is written)", () =>
    Effect.gen(function* () {
      const file = path.join(tmpTree({}), "big.csv")
      fs.writeFileSync(file, "")
      fs.truncateSync(file, MAX_BYTES.barsCsv + 1)
      const error = leftOf(yield* Effect.either(checkReadableFile(file, { maxBytes: MAX_BYTES.barsCsv, what: "the bars file" })))
      expect(error.message).toMatch(/big\.csv: the bars file is 256 MiB \(268435457 bytes\), larger than the limit of 256 MiB$/)
    }))
})

describe("YAML input", () => {
  it.effect("refuses an alias bomb quickly, naming the file", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const error = leftOf(yield* Effect.either(parseYaml("bomb.yaml", aliasBomb)))
      expect(Date.now() - started).toBeLessThan(1_000)
      expect(error.message).toBe(`bomb.yaml: too many YAML alias expansions (limit ${MAX_YAML_ALIASES}): refused as a possible alias bomb`)
    }))

  it.effect("still resolves a few ordinary aliases", () =>
    Effect.gen(function* () {
      const doc = yield* parseYaml("ok.yaml", "base: &b {hmax: 100}\nother: *b\nthird: *b\n")
      expect(doc.value).toEqual({ base: { hmax: 100 }, other: { hmax: 100 }, third: { hmax: 100 } })
    }))

  it.effect("readYaml refuses a FIFO unread and a file over 1 MiB", () =>
    Effect.gen(function* () {
      const dir = tmpTree({})
      const fifo = path.join(dir, "deploy.yaml")
      execFileSync("mkfifo", [fifo])
      const big = path.join(dir, "big.yaml")
      fs.writeFileSync(big, "")
      fs.truncateSync(big, MAX_BYTES.yaml + 1)
      const read = (file: string) => readYaml(file, "deployment config").pipe(Effect.either, Effect.provide(NodeContext.layer))
      expect(leftOf(yield* read(fifo)).message).toMatch(/deploy\.yaml: deployment config is a FIFO/)
      expect(leftOf(yield* read(big)).message).toMatch(/big\.yaml: deployment config is 1 MiB \(1048577 bytes\), larger than the limit of 1 MiB/)
    }))

  it.effect("the keys file: an alias bomb is a ConfigError naming the file, and no key is ever echoed", () =>
    Effect.gen(function* () {
      const file = path.join(tmpTree({ "api_keys.yaml": `alpaca:\n  api_key_id_paper: PKSECRETVALUE\n${aliasBomb.replace(/^/gm, "  ")}` }), "api_keys.yaml")
      const error = leftOf(
        yield* loadAlpacaKeys({ keysFile: file }).pipe(
          Effect.either,
          Effect.provide(NodeContext.layer),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      expect(error.message).toMatch(/api_keys\.yaml: too many YAML alias expansions/)
      expect(error.message).not.toMatch(/PKSECRETVALUE/)
    }))
})
