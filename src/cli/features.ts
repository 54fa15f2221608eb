import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import { parseBarsCsv } from "../core/bars-csv.js"
import { featureTable } from "../core/indicators/index.js"
import { checkReadableFile, MAX_BYTES } from "../config/files.js"
import { resolveIndicators } from "../layers/IndicatorFeatureEngine.js"
import { BarsFileError } from "../services/MarketData.js"
import { orFail, parseIndicatorList, UsageError } from "./options.js"

/** `features`: the indicators of a bars CSV, as a table on stdout. */
export const featuresCommand = (options: { readonly indicators: string; readonly bars: string }) =>
  Effect.gen(function* () {
    const specs = yield* orFail(parseIndicatorList(options.indicators))
    if (specs.length === 0) return yield* new UsageError({ detail: "features: --indicators lists no indicator" })
    const definitions = resolveIndicators(specs)
    if (typeof definitions === "string") return yield* new UsageError({ detail: `features: ${definitions}` })
    const fs = yield* FileSystem.FileSystem
    const file = options.bars
    yield* checkReadableFile(file, { maxBytes: MAX_BYTES.barsCsv, what: "the bars file" }).pipe(
      Effect.mapError((e) => new BarsFileError({ file, problems: [{ line: 0, message: e.detail }] }))
    )
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError(() => new BarsFileError({ file, problems: [{ line: 0, message: "cannot read the bars file" }] }))
    )
    const parsed = parseBarsCsv(text)
    if (parsed.problems.length > 0) return yield* new BarsFileError({ file, problems: parsed.problems })
    yield* Effect.sync(() => process.stdout.write(featureTable(parsed.rows, definitions)))
    return 0
  })
