/** Follows the journal a trader writes, so the runner can time kills on its records. */
import * as fs from "node:fs"
import type { JournalEntry } from "./verifier.js"

/** Tails a journal file: every complete line, with the real time it was first seen. */
export class JournalTail {
  readonly lines: Array<{ readonly at: number; readonly record: JournalEntry | undefined }> = []
  private offset = 0
  private pending = ""
  private fd: number | undefined
  private timer: NodeJS.Timeout | undefined
  private listeners: Array<() => void> = []
  constructor(private readonly file: string) {}

  start() {
    this.timer = setInterval(() => this.poll(), 4)
  }

  stop() {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.poll()
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
  }

  onLine(f: () => void): () => void {
    this.listeners.push(f)
    return () => void (this.listeners = this.listeners.filter((g) => g !== f))
  }

  poll() {
    try {
      if (this.fd === undefined) {
        if (!fs.existsSync(this.file)) return
        this.fd = fs.openSync(this.file, "r")
      }
      const size = fs.fstatSync(this.fd).size
      if (size < this.offset) {
        // the trader cut a torn tail: what we had not seen as a complete line is gone
        this.offset = size
        this.pending = ""
      }
      if (size === this.offset) return
      const buf = Buffer.alloc(size - this.offset)
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.offset)
      this.offset += n
      const text = this.pending + buf.subarray(0, n).toString("utf8")
      const parts = text.split("\n")
      this.pending = parts.pop() ?? ""
      const now = Date.now()
      let added = false
      for (const line of parts) {
        if (line.trim() === "") continue
        let record: JournalEntry | undefined
        try {
          record = JSON.parse(line) as JournalEntry
        } catch {
          record = undefined
        }
        this.lines.push({ at: now, record })
        added = true
      }
      if (added) for (const f of [...this.listeners]) f()
    } catch {
      // the file is being written or cut: the next poll sees it
    }
  }

  decisions(): number {
    return this.lines.filter((l) => l.record?.type === "decision").length
  }
}
