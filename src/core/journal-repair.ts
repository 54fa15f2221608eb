export interface ScannedRecord {
  readonly type: string
  readonly [field: string]: unknown
}

/** The intact part of a JSON-Lines file whose last write may have been cut by a crash. */
export interface JournalScan {
  readonly records: ReadonlyArray<ScannedRecord>
  /** Bytes to keep: everything up to the last newline. */
  readonly keepBytes: number
  /** Bytes after the last newline (a torn, unterminated last line), dropped by the repair. */
  readonly tornBytes: number
  /** 1-based lines that are terminated but not JSON objects with a `type` (kept, reported). */
  readonly badLines: ReadonlyArray<number>
}

/** Scans a journal: every newline-terminated line is a record; an unterminated tail is torn. */
export const scanJournal = (bytes: Uint8Array): JournalScan => {
  const keepBytes = bytes.lastIndexOf(0x0a) + 1
  const lines = new TextDecoder().decode(bytes.subarray(0, keepBytes)).split("\n")
  lines.pop() // the empty string after the final newline
  const records: Array<ScannedRecord> = []
  const badLines: Array<number> = []
  lines.forEach((line, i) => {
    if (line.trim() === "") return
    try {
      const parsed: unknown = JSON.parse(line)
      if (parsed !== null && typeof parsed === "object" && typeof (parsed as { type?: unknown }).type === "string") {
        records.push(parsed as ScannedRecord)
        return
      }
    } catch {
      // reported below
    }
    badLines.push(i + 1)
  })
  return { records, keepBytes, tornBytes: bytes.length - keepBytes, badLines }
}
