import { FileSystem } from "@effect/platform"
import { Effect, ParseResult, Schema } from "effect"
import * as YAML from "yaml"
import { ConfigError } from "./errors.js"
import { checkReadableFile, MAX_BYTES } from "./files.js"

/** Aliases a document may expand (yaml counts each alias by the size of what it copies): a small config never needs more; an alias bomb does. */
export const MAX_YAML_ALIASES = 100

export interface YamlDocument {
  readonly file: string
  readonly value: unknown
  /** 1-based line of the node at `path`, when the document has one. */
  readonly lineOf: (path: ReadonlyArray<PropertyKey>) => number | undefined
}

export const parseYaml = (file: string, text: string): Effect.Effect<YamlDocument, ConfigError> =>
  Effect.suspend(() => {
    const lineCounter = new YAML.LineCounter()
    const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
    const first = doc.errors[0]
    if (first !== undefined) {
      const line = lineCounter.linePos(first.pos[0]).line
      return Effect.fail(new ConfigError({ file, line, detail: `YAML syntax error: ${first.message.split("\n")[0]}` }))
    }
    const lineOf = (path: ReadonlyArray<PropertyKey>): number | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n) as Array<unknown>, true) as { range?: [number, number, number] } | undefined
        if (node !== undefined && node !== null && typeof node === "object" && node.range !== undefined) {
          return lineCounter.linePos(node.range[0]).line
        }
        // a key's own node is in its parent's pair list
        if (n > 0) {
          const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1) as Array<unknown>, true)
          if (YAML.isMap(parent)) {
            const pair = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === path[n - 1])
            const range = pair !== undefined && YAML.isScalar(pair.key) ? pair.key.range : undefined
            if (range) return lineCounter.linePos(range[0]).line
          }
        }
      }
      return undefined
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES })
    } catch (e) {
      const detail = e instanceof ReferenceError && /alias/i.test(e.message)
        ? `too many YAML alias expansions (limit ${MAX_YAML_ALIASES}): refused as a possible alias bomb`
        : `YAML cannot be read: ${(e as Error).message.split("\n")[0]}`
      return Effect.fail(new ConfigError({ file, detail }))
    }
    return Effect.succeed({ file, value, lineOf })
  })

/** Reads and parses a YAML file; `what` names it in errors. A non-regular file or one over {@link MAX_BYTES}.yaml is refused unread. */
export const readYaml = (file: string, what = "YAML file"): Effect.Effect<YamlDocument, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* checkReadableFile(file, { maxBytes: MAX_BYTES.yaml, what })
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) =>
        new ConfigError({ file, detail: e._tag === "SystemError" && e.reason === "NotFound" ? "file not found" : `cannot read: ${e.message}` })
      )
    )
    return yield* parseYaml(file, text)
  })

/** Decodes a YAML document with a Schema; the first issue names its field and line. */
export const decodeDocument = <A, I>(
  schema: Schema.Schema<A, I>,
  doc: YamlDocument,
  options: { readonly unknownKeys: "error" | "ignore" }
): Effect.Effect<A, ConfigError> =>
  Schema.decodeUnknown(schema, { onExcessProperty: options.unknownKeys, errors: "all" })(doc.value).pipe(
    Effect.mapError((error) => {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
      const issue = issues[0]
      if (issue === undefined) return new ConfigError({ file: doc.file, detail: String(error) })
      const field = issue.path.map(String).join(".")
      const detail = issue._tag === "Unexpected"
        ? "unknown key (check its spelling)"
        : issue._tag === "Missing" ? "is required" : issue.message
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : ""
      return new ConfigError({
        file: doc.file,
        ...(field === "" ? {} : { field }),
        ...(doc.lineOf(issue.path) === undefined ? {} : { line: doc.lineOf(issue.path)! }),
        detail: detail + more
      })
    })
  )
