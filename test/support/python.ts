/**
 * The Python side of the export tests: Debian's python3-torch under /usr/bin/python3 (the `python3`
 * on a developer's PATH may be another interpreter without torch). `.ci/run` installs it; a test
 * run without it fails here, saying how to get it, rather than skipping.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { createInterface } from "node:readline"
import * as YAML from "yaml"
import { PROJECT } from "./tmp.js"

export const PYTHON = "/usr/bin/python3"
export const PYTHON_SUPPORT = path.join(PROJECT, "test/support/python")
/** PYTHONPATH holding the `stable_baselines3` stand-in (test/support/python/sb3_stub). */
export const SB3_STUB = path.join(PYTHON_SUPPORT, "sb3_stub")

/** Throws, naming the fix, unless /usr/bin/python3 imports torch. */
export const requireTorch = (): void => {
  const probe = spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" })
  if (probe.status !== 0) {
    const why = probe.error?.message ?? (probe.stderr.trim().split("\n").pop() || `exit ${probe.status}`)
    throw new Error(`these tests need torch for ${PYTHON} (${why}): apt-get install -y python3-torch (.ci/run installs it when missing)`)
  }
}

/** No __pycache__ left in tools/ or test/ by a test run. */
const NO_BYTECODE = { PYTHONDONTWRITEBYTECODE: "1" }

type PythonOptions = { readonly cwd?: string; readonly env?: Record<string, string> }

/** `/usr/bin/python3 ARGS…`, its exit status and output. */
export const runPython = (args: ReadonlyArray<string>, options: PythonOptions = {}): { status: number | null; stdout: string; stderr: string } => {
  const run = spawnSync(PYTHON, args, { encoding: "utf8", cwd: options.cwd, env: { ...process.env, ...NO_BYTECODE, ...options.env }, timeout: 60_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

/** `/usr/bin/python3 ARGS…`; throws with its stderr unless it exits 0. */
export const python = (args: ReadonlyArray<string>, options: PythonOptions = {}): { stdout: string; stderr: string } => {
  const run = runPython(args, options)
  if (run.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} exited ${run.status}:\n${run.stderr}`)
  return run
}

export interface BuiltPolicy {
  readonly algo: string
  readonly dir: string
  /** SB3: the saved model (this stand-in's pickle) and its VecNormalize. */
  readonly model?: string
  readonly vecnormalize?: string
  /** ElegantRL: actor.pth (FinRL's state_dict) or actor.pt (a pickled net.py actor). */
  readonly actor?: string
  readonly dims?: ReadonlyArray<number>
  /** With `export`: the recipe's ONNX file and VecNormalize JSON. */
  readonly onnx?: string
  readonly normalization?: string
}

/** The demo model's VecNormalize-style statistics (31 values), as mean/var for the built policies. */
export const demoObservationStats = (): { mean: Array<number>; var: Array<number> } => {
  const card = YAML.parse(fs.readFileSync(path.join(PROJECT, "model_registry/demo/1/model.yaml"), "utf8")) as { normalization: { mean: Array<number>; var: Array<number> } }
  return { mean: card.normalization.mean, var: card.normalization.var }
}

/** test/support/python/build_policies.py: fixed-seed policies built as each library builds them. */
export const buildPolicies = (
  out: string,
  options: { readonly algos: ReadonlyArray<string>; readonly observation: number; readonly npObservation: number; readonly actions: number; readonly export: boolean }
): Record<string, BuiltPolicy> => {
  const stats = path.join(out, "observation-stats.json")
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(stats, JSON.stringify(demoObservationStats()))
  const args = [
    path.join(PYTHON_SUPPORT, "build_policies.py"),
    "--out", out,
    "--observation", String(options.observation),
    "--np-observation", String(options.npObservation),
    "--actions", String(options.actions),
    "--obs-stats", stats,
    "--algos", options.algos.join(","),
    ...(options.export ? ["--export"] : [])
  ]
  const { stdout } = python(args)
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, BuiltPolicy>
}

export interface TorchJob {
  readonly algo: string
  readonly model?: string | undefined
  readonly vecnormalize?: string | undefined
  readonly actor?: string | undefined
  readonly dims?: ReadonlyArray<number> | undefined
  /** As journaled (JSON writes a non-finite value as null). */
  readonly observations: ReadonlyArray<ReadonlyArray<number | null>>
}

/**
 * One forward.py process (torch imported once) answering jobs in turn: each library's own
 * deterministic action for the given raw observations.
 */
export const startTorch = async () => {
  const child: ChildProcess = spawn(PYTHON, [path.join(PYTHON_SUPPORT, "forward.py")], { env: { ...process.env, ...NO_BYTECODE }, stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr!.on("data", (d) => (stderr += d))
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next()
    if (line.done) throw new Error(`forward.py ended: ${stderr}`)
    return JSON.parse(line.value) as Record<string, unknown>
  }
  await next() // {"ready": version}
  let queue: Promise<unknown> = Promise.resolve()
  const act = (job: TorchJob): Promise<Array<Array<number>>> => {
    const answer = queue.then(async () => {
      child.stdin!.write(JSON.stringify(job) + "\n")
      const reply = await next()
      if (typeof reply.error === "string") throw new Error(`forward.py (${job.algo}): ${reply.error}`)
      return reply.actions as Array<Array<number>>
    })
    queue = answer.catch(() => undefined)
    return answer
  }
  const close = () => {
    child.stdin!.end()
    child.kill()
  }
  return { act, close }
}

/** float32 through two runtimes: equal within 1e-5 relative (1e-6 absolute near zero). */
export const mismatches = (journaled: ReadonlyArray<ReadonlyArray<number | null>>, torch: ReadonlyArray<ReadonlyArray<number>>): Array<string> => {
  const out: Array<string> = []
  if (journaled.length !== torch.length) return [`${journaled.length} journaled actions, ${torch.length} from torch`]
  journaled.forEach((row, i) => {
    if (row.length !== torch[i].length) out.push(`step ${i}: ${row.length} values, torch ${torch[i].length}`)
    row.forEach((a, j) => {
      const b = torch[i][j]
      if (a === null || !(Math.abs(a - b) <= 1e-6 + 1e-5 * Math.abs(b))) out.push(`step ${i} action ${j}: journaled ${a}, torch ${b}`)
    })
  })
  return out
}
