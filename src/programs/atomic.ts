/**
 * Writes that a crash never leaves half done: the data goes to a temporary name beside the target,
 * is synced to disk, and only then renamed over it (a rename within a folder is atomic). A failed or
 * interrupted write removes its temporary file; one left by a killed process is named
 * {@link isTemporary} so the next run can clear it.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"

const SUFFIX = ".part"

/** `.<name>.part`: hidden, and not `*.csv`, so nothing reads it as a bars file. */
export const temporaryName = (name: string): string => `.${name}${SUFFIX}`

/** Whether a folder entry is a temporary file of {@link writeFileAtomic}. */
export const isTemporary = (name: string): boolean => name.startsWith(".") && name.endsWith(SUFFIX)

/** Replaces `file` with `data` whole, or leaves it as it was. */
export const writeFileAtomic = (
  file: string,
  data: string | Uint8Array
): Effect.Effect<void, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const temporary = path.join(path.dirname(file), temporaryName(path.basename(file)))
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
    yield* Effect.scoped(
      Effect.gen(function* () {
        const handle = yield* fs.open(temporary, { flag: "w" })
        yield* handle.writeAll(bytes)
        yield* handle.sync
      })
    ).pipe(
      Effect.zipRight(fs.rename(temporary, file)),
      Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : fs.remove(temporary).pipe(Effect.ignore)))
    )
  })

/** Removes the temporary files a killed run left in `dir`; returns their names. */
export const clearTemporaries = (dir: string): Effect.Effect<ReadonlyArray<string>, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const stale = (yield* fs.readDirectory(dir)).filter(isTemporary)
    yield* Effect.forEach(stale, (name) => fs.remove(path.join(dir, name), { recursive: true }), { discard: true })
    return stale
  })
