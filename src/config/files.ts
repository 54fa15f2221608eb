import * as fs from "node:fs/promises"
import { Effect } from "effect"
import { ConfigError } from "./errors.js"

const MiB = 1024 * 1024

/**
 * The largest file each kind of input may be: a YAML config or model card, a model file, a bars
 * CSV (read whole into one string: V8's limit is 512 MiB; 256 MiB is decades of minute bars).
 */
export const MAX_BYTES = {
  yaml: 1 * MiB,
  onnx: 512 * MiB,
  barsCsv: 256 * MiB
} as const

const sizeText = (bytes: number): string =>
  bytes >= 1024 * MiB ? `${+(bytes / (1024 * MiB)).toFixed(2)} GiB` : bytes >= MiB ? `${+(bytes / MiB).toFixed(2)} MiB` : `${bytes} bytes`

const kindOf = (stat: import("node:fs").Stats): string =>
  stat.isDirectory()
    ? "a directory"
    : stat.isFIFO()
      ? "a FIFO (named pipe)"
      : stat.isCharacterDevice()
        ? "a character device"
        : stat.isBlockDevice()
          ? "a block device"
          : stat.isSocket()
            ? "a socket"
            : "not a regular file"

/**
 * Refuses, before anything reads it, a path that is not a regular file (missing, a directory, a
 * FIFO, a device, a socket: reading one can hang or never end) or is larger than `maxBytes`.
 * Returns the file's size. `what` names the file in the message (`deployment config`, `model.onnx`).
 */
export const checkReadableFile = (
  file: string,
  options: { readonly maxBytes: number; readonly what: string }
): Effect.Effect<number, ConfigError> =>
  Effect.tryPromise({
    try: () => fs.stat(file),
    catch: (e) => {
      const code = (e as NodeJS.ErrnoException).code
      const detail = code === "ENOENT" || code === "ENOTDIR"
        ? `file not found (${options.what})`
        : code === "EACCES" || code === "EPERM" ? `${options.what} cannot be read (permission denied)` : `${options.what} cannot be read (${code ?? "unknown error"})`
      return new ConfigError({ file, detail })
    }
  }).pipe(
    Effect.flatMap((stat) =>
      !stat.isFile()
        ? Effect.fail(new ConfigError({ file, detail: `${options.what} is ${kindOf(stat)}, not a regular file` }))
        : stat.size > options.maxBytes
          ? Effect.fail(new ConfigError({ file, detail: `${options.what} is ${sizeText(stat.size)} (${stat.size} bytes), larger than the limit of ${sizeText(options.maxBytes)}` }))
          : Effect.succeed(stat.size)
    )
  )
