/** What every part of the chaos harness shares: the project's paths, the progress log on stderr, a real-time sleep. */
import * as nodePath from "node:path"
import { PROJECT_ROOT } from "../project.js"

export const PROJECT = PROJECT_ROOT
/** The built trader the runner starts and kills (`npm run build` makes it). */
export const TRADER_MAIN = nodePath.join(PROJECT, "dist", "main.js")

/** Progress goes to stderr: stdout carries only the final JSON line. */
export const log = (message: string) => process.stderr.write(`chaos: ${message}\n`)
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
