/**
 * `npm run build`: the programs (the CLI, the bench, the chaos runner) and the library as ESM
 * bundles in dist/, by esbuild, in seconds. A command that src/cli/definition.ts imports lazily
 * becomes its own chunk, loaded only when it runs. Type-checking is `npm run typecheck`; the
 * library's declarations are `npm run build:types`.
 *
 * `--outdir DIR` builds elsewhere (a trial build beside a dist/ in use); `--metafile FILE` writes
 * esbuild's account of which module went into which output (https://esbuild.github.io/analyze/).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"
import { submoduleImports } from "./submodule-imports.mjs"

const root = fileURLToPath(new URL("..", import.meta.url))
const flag = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const outdir = path.resolve(root, flag("--outdir") ?? "dist")
const metafile = flag("--metafile")
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))

/** Inlined into the programs: plain JavaScript every command starts with; one file to read, and tree shaking drops what main indexes drag in. */
const INLINED = new Set(["effect", "@effect/cli", "@effect/platform", "@effect/platform-node", "@effect/printer", "@effect/printer-ansi", "@effect/opentelemetry", "yaml"])

/**
 * Loaded from node_modules when the code that imports them runs: native addons (onnxruntime-node),
 * packages whose files are found at run time (echarts' script, the lexicon's package.json), and
 * CommonJS packages one command needs (the Alpaca SDK, ws, cli-progress, …).
 */
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((name) => !INLINED.has(name))

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // the maps point at src/ and node_modules/ beside them rather than carrying copies: a fifth of the size
  sourcesContent: false,
  metafile: metafile !== undefined,
  logLevel: "warning"
}

const entries = (map) => Object.fromEntries(Object.entries(map).map(([out, src]) => [out, path.join(root, src)]))

/** The programs: output paths (without .js) as package.json's bin, the npm scripts and the tests name them. */
const programs = () =>
  esbuild.build({
    ...common,
    entryPoints: entries({ main: "src/main.ts", bench: "src/bench.ts", "chaos/main": "src/chaos/main.ts" }),
    chunkNames: "chunks/[name]-[hash]",
    external,
    plugins: [submoduleImports({ root, sourceDir: path.join(root, "src") + path.sep, packages: ["effect", "@effect/platform", "@effect/platform-node"] })],
    // inlined CommonJS (yaml, undici) requires Node's built-ins: every ESM chunk gets a `require`
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' }
  })

/**
 * The library (package.json's main) imports every package from node_modules, so an embedding app
 * shares one copy of effect with it. test/layers/journal-lock.test.ts holds the lock from another
 * process through the built layers/JournalLock.js.
 */
const library = () =>
  esbuild.build({
    ...common,
    entryPoints: entries({ index: "src/index.ts", "layers/JournalLock": "src/layers/JournalLock.ts" }),
    chunkNames: "lib/[name]-[hash]",
    packages: "external"
  })

/** Empties the output folder but for the declarations `build:types` wrote: a stale module must not hide a missing one. */
const clean = (dir) => {
  if (!fs.existsSync(dir)) return
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      clean(file)
      if (fs.readdirSync(file).length === 0) fs.rmdirSync(file)
    } else if (!entry.name.endsWith(".d.ts")) fs.rmSync(file)
  }
}

const started = performance.now()
clean(outdir)
const results = await Promise.all([programs(), library()])
fs.chmodSync(path.join(outdir, "main.js"), 0o755)
if (metafile !== undefined) {
  const [a, b] = results.map((r) => r.metafile)
  fs.writeFileSync(metafile, JSON.stringify({ inputs: { ...a.inputs, ...b.inputs }, outputs: { ...a.outputs, ...b.outputs } }))
}
process.stdout.write(`built ${path.relative(root, outdir) || "."}/ in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
