/**
 * An esbuild plugin: `import { Effect, Schema, type Scope } from "effect"` in our sources is bundled
 * as `import * as Effect from "effect/Effect"` and so on. Through the main index esbuild keeps every
 * export of each namespace named (`export * as Effect from "./Effect.js"` is one object); through
 * the sub-module it keeps only the members the code uses. Names the index does not re-export as a
 * namespace (`pipe`, `identity`, types) are imported as written.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"

/** Namespace name → sub-module specifier, read from the package's ESM index (`export * as Name from "./File.js"`). */
const namespacesOf = (root, pkg) => {
  const require = createRequire(path.join(root, "package.json"))
  const manifestPath = require.resolve(`${pkg}/package.json`)
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"))
  const index = fs.readFileSync(path.join(path.dirname(manifestPath), manifest.module), "utf8")
  const namespaces = new Map()
  for (const [, name, file] of index.matchAll(/export \* as (\w+) from "\.\/(\w+)\.js"/g)) {
    if (manifest.exports?.[`./${file}`] !== undefined) namespaces.set(name, `${pkg}/${file}`)
  }
  return namespaces
}

/** One import statement rewritten; the same number of lines, so source maps still point at the right line. */
const rewriteImport = (statement, pkg, namespaces) => {
  const list = statement.slice(statement.indexOf("{") + 1, statement.lastIndexOf("}"))
  const direct = []
  const kept = []
  for (const item of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [name, alias = name] = item.split(/\s+as\s+/)
    const sub = item.startsWith("type ") ? undefined : namespaces.get(name)
    if (sub === undefined) kept.push(item)
    else direct.push(`import * as ${alias} from ${JSON.stringify(sub)};`)
  }
  if (direct.length === 0) return statement
  const rest = kept.length === 0 ? [] : [`import { ${kept.join(", ")} } from ${JSON.stringify(pkg)};`]
  return [...direct, ...rest].join(" ") + "\n".repeat(statement.split("\n").length - 1)
}

/** The plugin for `packages` (e.g. effect, @effect/platform), applied to the TypeScript files under `sourceDir`. */
export const submoduleImports = ({ root, sourceDir, packages }) => ({
  name: "submodule-imports",
  setup(build) {
    const byPackage = new Map(packages.map((pkg) => [pkg, namespacesOf(root, pkg)]))
    const escaped = packages.map((p) => p.replace(/[/.]/g, "\\$&")).join("|")
    const importPattern = new RegExp(`import\\s*\\{[^}]*\\}\\s*from\\s*"(${escaped})"`, "g")
    const filter = new RegExp(`^${sourceDir.replace(/[/.\\]/g, "\\$&")}.*\\.ts$`)
    build.onLoad({ filter }, async (args) => {
      const text = await fs.promises.readFile(args.path, "utf8")
      return { contents: text.replace(importPattern, (statement, pkg) => rewriteImport(statement, pkg, byPackage.get(pkg))), loader: "ts" }
    })
  }
})
