/**
 * The project's own files (package.json, config/, model_registry/, data/) from wherever this code
 * runs: src/ under vitest, or dist/ where the bundler puts it (an entry file or a chunk, at any depth).
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"

const nearestPackageDir = (from: string): string => {
  for (let dir = from; ; dir = nodePath.dirname(dir)) {
    if (fs.existsSync(nodePath.join(dir, "package.json"))) return dir
    // the file system's root: the code was copied out of its project, a bug in the packaging
    if (nodePath.dirname(dir) === dir) throw new Error(`no package.json in ${from} or above`)
  }
}

/** The folder holding the project's package.json: the nearest one above this module. */
export const PROJECT_ROOT: string = nearestPackageDir(nodePath.dirname(fileURLToPath(import.meta.url)))

/** A path inside the project: `projectPath("config", "demo.yaml")` or `projectPath("config/demo.yaml")`. */
export const projectPath = (...segments: ReadonlyArray<string>): string => nodePath.join(PROJECT_ROOT, ...segments)

/** package.json's version: what `--version` prints. */
export const PACKAGE_VERSION: string = (JSON.parse(fs.readFileSync(projectPath("package.json"), "utf8")) as { version: string }).version
