import { Data } from "effect"

/** Bad configuration or arguments: the CLI prints `message` and exits 2. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly file?: string
  readonly field?: string
  readonly line?: number
  readonly detail: string
}> {
  override get message(): string {
    const where = [
      this.file === undefined ? undefined : this.line === undefined ? this.file : `${this.file}:${this.line}`,
      this.field === undefined ? undefined : `field '${this.field}'`
    ].filter((s): s is string => s !== undefined)
    return where.length === 0 ? this.detail : `${where.join(", ")}: ${this.detail}`
  }
}
