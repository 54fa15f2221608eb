import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { acquireJournalLock, journalLockAddress } from "../../src/layers/JournalLock.js"
import { JsonlJournalLive } from "../../src/layers/JsonlJournal.js"
import { Journal, JournalLocked } from "../../src/services/Journal.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const children: Array<ChildProcess> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
})

/** Another process holding the journal's lock (the built module, as the CLI runs it); resolves once it holds it. */
const holdInChild = async (journal: string) => {
  const lockModule = pathToFileURL(path.join(PROJECT, "dist/layers/JournalLock.js")).href
  const script = [
    `import { Effect } from "effect"`,
    `const { acquireJournalLock } = await import(${JSON.stringify(lockModule)})`,
    `setInterval(() => undefined, 1 << 30)`,
    `await Effect.runPromise(Effect.scoped(acquireJournalLock(${JSON.stringify(journal)}).pipe(Effect.andThen(Effect.sync(() => console.log("locked"))), Effect.andThen(Effect.never))))`
  ].join("\n")
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: PROJECT, stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let stderr = ""
  child.stderr!.on("data", (d) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => String(d).includes("locked") && resolve())
    child.on("exit", (code) => reject(new Error(`the lock holder exited ${code}: ${stderr}`)))
  })
  return { child, exited }
}

const tryLock = (journal: string) => Effect.scoped(acquireJournalLock(journal)).pipe(Effect.exit)

const lockedBy = (exit: Exit.Exit<void, unknown>): JournalLocked => {
  if (Exit.isSuccess(exit)) throw new Error("the lock was taken twice")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (!(error instanceof JournalLocked)) throw new Error(`expected JournalLocked, got ${String(exit.cause)}`)
  return error
}

describe("the journal lock", () => {
  it("is an abstract Unix socket on Linux: no file is left anywhere", () => {
    const address = journalLockAddress("/tmp/x/journal.jsonl", "linux")
    expect(address.startsWith("\0rlpt-journal-")).toBe(true)
    expect(address).toHaveLength(1 + "rlpt-journal-".length + 64)
  })

  it("names the same file the same way through a symlinked folder", () => {
    const dir = tmpTree({ "real/journal.jsonl": "" })
    fs.symlinkSync(path.join(dir, "real"), path.join(dir, "link"))
    expect(journalLockAddress(path.join(dir, "link/journal.jsonl"))).toBe(journalLockAddress(path.join(dir, "real/journal.jsonl")))
    expect(journalLockAddress(path.join(dir, "real/other.jsonl"))).not.toBe(journalLockAddress(path.join(dir, "real/journal.jsonl")))
  })

  it.scoped("refuses a second open in the same process, naming this pid; free again once the first scope closes", () =>
    Effect.gen(function* () {
      const journal = path.join(tmpTree({}), "journal.jsonl")
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* acquireJournalLock(journal)
          const second = lockedBy(yield* tryLock(journal))
          expect(second.pid).toBe(process.pid)
          expect(second.message).toBe(`journal ${journal} is in use by another rl-paper-trader (pid ${process.pid}): stop it first`)
        })
      )
      expect(Exit.isSuccess(yield* tryLock(journal))).toBe(true)
    })
  )

  it("refuses an open while another process holds it, naming that pid; free at once after kill -9", async () => {
    const journal = path.join(tmpTree({}), "journal.jsonl")
    const holder = await holdInChild(journal)
    const refused = lockedBy(await Effect.runPromise(tryLock(journal)))
    expect(refused.pid).toBe(holder.child.pid)
    expect(refused.message).toContain(`(pid ${holder.child.pid})`)

    holder.child.kill("SIGKILL")
    await holder.exited
    // no wait, no retry: the kernel closed the socket with the process
    expect(Exit.isSuccess(await Effect.runPromise(tryLock(journal)))).toBe(true)
  })

  it("is taken before the journal is read: a second writer does not even repair a torn tail", async () => {
    const dir = tmpTree({ "journal.jsonl": `${JSON.stringify({ type: "circuit_closed", time: "2026-02-17T15:00:00.000Z" })}\n{"type":"deci` })
    const journal = path.join(dir, "journal.jsonl")
    const before = fs.readFileSync(journal)
    const holder = await holdInChild(journal)
    const exit = await Effect.runPromise(Effect.provide(Journal, JsonlJournalLive({ path: journal, sync: false })).pipe(Effect.exit))
    expect(lockedBy(exit as Exit.Exit<void, unknown>).pid).toBe(holder.child.pid)
    expect(fs.readFileSync(journal)).toEqual(before)
  })
})
