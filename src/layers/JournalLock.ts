import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Effect, type Scope } from "effect"
import { JournalError, JournalLocked } from "../services/Journal.js"

/**
 * One writer per journal: the lock is a listening Unix socket named after the journal's real path.
 * The kernel owns it, so it goes away with the process however it dies (kill -9 included) and can
 * never be left stale. On Linux the name is in the abstract namespace (no file at all); Windows has
 * named pipes, which behave the same; elsewhere a socket file whose listener is gone is stale and
 * is replaced. A second opener connects and the holder answers with its pid.
 */

/** The journal's path as every opener sees it: resolved through symlinks (the file itself may not exist yet). */
export const canonicalJournalPath = (journalPath: string): string => {
  const absolute = nodePath.resolve(journalPath)
  try {
    return fs.realpathSync(absolute)
  } catch {
    try {
      return nodePath.join(fs.realpathSync(nodePath.dirname(absolute)), nodePath.basename(absolute))
    } catch {
      return absolute
    }
  }
}

/** The lock's socket address for a journal. */
export const journalLockAddress = (journalPath: string, platform: NodeJS.Platform = process.platform): string => {
  const hash = createHash("sha256").update(canonicalJournalPath(journalPath)).digest("hex")
  if (platform === "linux") return `\0rlpt-journal-${hash}`
  if (platform === "win32") return `\\\\.\\pipe\\rlpt-journal-${hash}`
  // sun_path holds ~104 bytes: a shorter name keeps long temp folders (macOS) under it
  return nodePath.join(os.tmpdir(), `rlpt-journal-${hash.slice(0, 32)}.sock`)
}

/** What a lock holder answers to a connection. */
export interface LockHolder {
  readonly pid: number | undefined
  readonly journal: string | undefined
}

const listen = (address: string, answer: string): Promise<net.Server | "in-use"> =>
  new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => undefined)
      socket.end(answer)
    })
    server.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" ? resolve("in-use") : reject(e)))
    server.listen({ path: address }, () => {
      // the lock never keeps a finished process alive
      server.unref()
      resolve(server)
    })
  })

/** Asks the holder who it is; "gone" when nobody listens (it died since, or a stale socket file). */
const askHolder = (address: string, timeoutMs: number): Promise<LockHolder | "gone"> =>
  new Promise((resolve) => {
    let text = ""
    let settled = false
    const settle = (v: LockHolder | "gone") => {
      if (!settled) {
        settled = true
        socket.destroy()
        resolve(v)
      }
    }
    const parse = (): LockHolder => {
      try {
        const v = JSON.parse(text) as { pid?: unknown; journal?: unknown }
        return { pid: typeof v.pid === "number" ? v.pid : undefined, journal: typeof v.journal === "string" ? v.journal : undefined }
      } catch {
        return { pid: undefined, journal: undefined }
      }
    }
    const socket = net.connect({ path: address })
    socket.setTimeout(timeoutMs, () => settle({ pid: undefined, journal: undefined }))
    socket.on("data", (d) => (text += d.toString("utf8")))
    socket.on("end", () => settle(parse()))
    socket.on("error", (e: NodeJS.ErrnoException) =>
      settle(e.code === "ECONNREFUSED" || e.code === "ENOENT" ? "gone" : { pid: undefined, journal: undefined })
    )
  })

type Attempt = { readonly server: net.Server } | { readonly holder: LockHolder }

const tryLock = async (journalPath: string): Promise<Attempt> => {
  const address = journalLockAddress(journalPath)
  const answer = JSON.stringify({ pid: process.pid, journal: canonicalJournalPath(journalPath) }) + "\n"
  for (let attempt = 0; attempt < 5; attempt++) {
    const server = await listen(address, answer)
    if (server !== "in-use") return { server }
    const holder = await askHolder(address, 2_000)
    if (holder !== "gone") return { holder }
    // the holder died between our listen and our connect (or left a socket file behind): try again
    if (!address.startsWith("\0") && process.platform !== "win32") fs.rmSync(address, { force: true })
  }
  return { holder: { pid: undefined, journal: undefined } }
}

const unlock = (server: net.Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
  })

/**
 * Holds the journal's lock for the scope: fails with {@link JournalLocked} (naming the holder's pid)
 * when another process, or another open in this one, holds it.
 */
export const acquireJournalLock = (journalPath: string): Effect.Effect<void, JournalLocked | JournalError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => tryLock(journalPath),
      catch: (e) => new JournalError({ path: journalPath, detail: `cannot take the journal's lock: ${(e as Error).message}` })
    }).pipe(
      Effect.flatMap((attempt) =>
        "server" in attempt ? Effect.succeed(attempt.server) : Effect.fail(new JournalLocked({ path: journalPath, pid: attempt.holder.pid }))
      )
    ),
    unlock
  ).pipe(Effect.asVoid, Effect.withSpan("JournalLock.acquire"))
