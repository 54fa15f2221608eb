import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import type { Bar } from "../../src/core/bar.js"
import { parseBarsCsv } from "../../src/core/bars-csv.js"
import { runBacktest } from "../../src/cli/commands.js"
import { type DownloadOverrides, ensureBars, runDownload } from "../../src/cli/download.js"
import { loadDeployment } from "../../src/config/deployment.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorHandle, loadBarsDir, startEmulator } from "../../src/emulator/index.js"
import { download } from "../../src/programs/download.js"
import { BarHistory, type HistoryQuery } from "../../src/services/BarHistory.js"
import { MarketDataError } from "../../src/services/MarketData.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const TICKERS = ["SYNA", "SYNB", "SYNC"]
const DAY = 86_400_000
const at = (iso: string) => Date.parse(iso)
/** After every bar below: the emulator serves them all, and a run at this time finds them final. */
const NOW = at("2026-06-01T00:00:00Z")

/** The demo market's first four sessions (one-minute bars, as Alpaca serves them). */
let bars: ReadonlyMap<string, ReadonlyArray<Bar>>
let emulator: EmulatorHandle
/** Every market data request the emulator answered: its query. */
const requests: Array<URLSearchParams> = []

beforeAll(async () => {
  const all = await loadBarsDir(path.join(PROJECT, "data/demo"))
  bars = new Map([...all].map(([t, list]) => [t, list.filter((b) => b.time < at("2026-01-08T00:00:00Z"))]))
  emulator = await startEmulator({
    bars,
    speed: 0,
    now: () => 0,
    start: at("2026-01-08T00:00:00Z"),
    middleware: [
      {
        http: (req, next) => {
          if (req.api === "data") requests.push(req.query)
          return next()
        }
      }
    ]
  })
})
afterAll(() => emulator?.close())

const EMULATOR_KEYS = { keyId: Redacted.make(EMULATOR_KEY_ID), secretKey: Redacted.make(EMULATOR_SECRET_KEY) }
/** Alpaca through the emulator, a small page so a day of three tickers takes several. */
const viaEmulator = (over: DownloadOverrides["settings"] = {}): DownloadOverrides => ({
  settings: { ...EMULATOR_KEYS, dataUrl: emulator.url, tradingUrl: emulator.url, barsPageLimit: 500, ...over },
  progress: () => Effect.void
})

const deploymentFiles = (extra = "") => ({
  "deploy.yaml": [
    "tickers: [SYNA, SYNB, SYNC]",
    "interval: 5m",
    `model: ${PROJECT}/model_registry/demo/1`,
    `environment: ${PROJECT}/config/environments/demo.yaml`,
    "data:",
    "  bars: bars",
    "alpaca:",
    "  feed: iex",
    "  keys: no-keys-here.yaml",
    extra
  ].join("\n")
})

/** No APCA_* variables, whatever the machine has: keys come only from what a test passes. */
const noKeyVariables = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))

const withDeployment = (dir: string) => loadDeployment(path.join(dir, "deploy.yaml"))

const barsIn = (file: string): ReadonlyArray<Bar> => {
  const parsed = parseBarsCsv(fs.readFileSync(file, "utf8"))
  expect(parsed.problems).toEqual([])
  return parsed.rows.map(({ time, open, high, low, close, volume }) => ({ time, open, high, low, close, volume }))
}

const served = (ticker: string, from: number, to: number) => bars.get(ticker)!.filter((b) => b.time >= from && b.time < to)

const run = <A, E>(effect: Effect.Effect<A, E, NodeContext.NodeContext>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(NOW)
    return yield* effect.pipe(noKeyVariables, Effect.provide(NodeContext.layer))
  })

describe("download from Alpaca (the emulator) into a bars folder", () => {
  it.effect("writes every bar the emulator serves, row for row, across pages; a second run fetches nothing", () =>
    run(
      Effect.gen(function* () {
        const dir = tmpTree(deploymentFiles())
        const deployment = yield* withDeployment(dir)
        const range = { from: at("2026-01-05T00:00:00Z"), to: at("2026-01-07T00:00:00Z") }
        requests.length = 0
        const first = yield* runDownload(deployment, { dir: path.join(dir, "bars"), range }, viaEmulator())
        // two sessions of three tickers' minutes are 2,340 bars: five pages of 500, one multi-symbol request each
        expect(requests.length).toBe(5)
        expect(requests.every((q) => q.get("symbols") === "SYNA,SYNB,SYNC" && q.get("feed") === "iex" && q.get("adjustment") === "raw" && q.get("timeframe") === "1Min")).toBe(true)
        for (const ticker of TICKERS) expect(barsIn(path.join(dir, "bars", `${ticker}.csv`))).toEqual(served(ticker, range.from, range.to))
        expect(first.tickers.map((t) => [t.ticker, t.bars, t.added])).toEqual(TICKERS.map((t) => [t, 780, 780]))
        expect(JSON.parse(fs.readFileSync(path.join(dir, "bars/download.json"), "utf8"))).toEqual({
          source: "alpaca",
          feed: "iex",
          adjustment: "raw",
          timeframe: "1Min",
          fetched: Object.fromEntries(TICKERS.map((t) => [t, [["2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z"]]]))
        })

        const before = TICKERS.map((t) => fs.readFileSync(path.join(dir, "bars", `${t}.csv`)))
        requests.length = 0
        const second = yield* runDownload(deployment, { dir: path.join(dir, "bars"), range }, viaEmulator())
        expect(requests).toEqual([])
        expect(second.fetched).toEqual([])
        expect(TICKERS.map((t) => fs.readFileSync(path.join(dir, "bars", `${t}.csv`)))).toEqual(before)
      })
    ))

  it.effect("a wider range fetches only the part the folder lacks", () =>
    run(
      Effect.gen(function* () {
        const dir = tmpTree(deploymentFiles())
        const deployment = yield* withDeployment(dir)
        const out = path.join(dir, "bars")
        yield* runDownload(deployment, { dir: out, range: { from: at("2026-01-05T00:00:00Z"), to: at("2026-01-07T00:00:00Z") } }, viaEmulator())
        requests.length = 0
        const wider = { from: at("2026-01-02T00:00:00Z"), to: at("2026-01-08T00:00:00Z") }
        const summary = yield* runDownload(deployment, { dir: out, range: wider }, viaEmulator({ barsPageLimit: 10_000 }))
        expect(summary.fetched.map((f) => [f.range.from, f.range.to])).toEqual([
          [wider.from, at("2026-01-05T00:00:00Z")],
          [at("2026-01-07T00:00:00Z"), wider.to]
        ])
        expect(requests.map((q) => [q.get("start"), q.get("end")])).toEqual([
          ["2026-01-02T00:00:00.000Z", "2026-01-04T23:59:59.999Z"],
          ["2026-01-07T00:00:00.000Z", "2026-01-07T23:59:59.999Z"]
        ])
        for (const ticker of TICKERS) expect(barsIn(path.join(out, `${ticker}.csv`))).toEqual(served(ticker, wider.from, wider.to))
        expect(summary.tickers[0]).toMatchObject({ ticker: "SYNA", bars: 4 * 390, added: 2 * 390 })
      })
    ))

  it.effect("a daily deployment downloads daily bars: one per session, from its minutes", () =>
    run(
      Effect.gen(function* () {
        const dir = tmpTree({ "deploy.yaml": deploymentFiles()["deploy.yaml"].replace("interval: 5m", "interval: 1d") })
        const deployment = yield* withDeployment(dir)
        const summary = yield* runDownload(deployment, { dir: path.join(dir, "bars"), range: { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-08T00:00:00Z") } }, viaEmulator())
        expect(JSON.parse(fs.readFileSync(path.join(dir, "bars/download.json"), "utf8")).timeframe).toBe("1Day")
        expect(summary.tickers.map((t) => t.bars)).toEqual([4, 4, 4])
        const minutes = bars.get("SYNA")!.filter((b) => b.time < at("2026-01-03T00:00:00Z"))
        expect(barsIn(path.join(dir, "bars/SYNA.csv"))[0]).toMatchObject({
          open: minutes[0].open,
          close: minutes[minutes.length - 1].close,
          high: Math.max(...minutes.map((b) => b.high)),
          low: Math.min(...minutes.map((b) => b.low))
        })
      })
    ))

  it.effect("keys the emulator refuses are KeysRefused (exit 2); a folder of other bars or another feed is refused", () =>
    run(
      Effect.gen(function* () {
        const dir = tmpTree({ ...deploymentFiles(), "mine/SYNA.csv": "date,open,high,low,close,volume\n" })
        const deployment = yield* withDeployment(dir)
        const range = { from: at("2026-01-05T00:00:00Z"), to: at("2026-01-06T00:00:00Z") }
        const refused = yield* Effect.flip(runDownload(deployment, { dir: path.join(dir, "bars"), range }, viaEmulator({ secretKey: Redacted.make("wrong") })))
        expect(refused._tag).toBe("KeysRefused")
        expect(fs.existsSync(path.join(dir, "bars/SYNA.csv"))).toBe(false)
        const foreign = yield* Effect.flip(runDownload(deployment, { dir: path.join(dir, "mine"), range }, viaEmulator()))
        expect(foreign.message).toMatch(/mine: holds bars files download did not write \(SYNA\.csv; no download\.json\)/)
        yield* runDownload(deployment, { dir: path.join(dir, "bars"), range }, viaEmulator())
        const sip = yield* withDeployment(tmpTree({ "deploy.yaml": deploymentFiles()["deploy.yaml"].replace("feed: iex", "feed: sip") }))
        const mixed = yield* Effect.flip(runDownload(sip, { dir: path.join(dir, "bars"), range }, viaEmulator()))
        expect(mixed.message).toMatch(/download\.json: the folder holds iex feed, raw prices, 1Min bars; this config asks for sip feed, raw prices, 1Min bars/)
      })
    ))
})

/** A BarHistory serving one bar per ticker per day; `fail` decides, per call, to fail or hang. */
const fakeHistory = (calls: Array<HistoryQuery>, behave: (call: number) => "serve" | "fail" | Effect.Effect<never>) =>
  Layer.succeed(
    BarHistory,
    BarHistory.of({
      bars: (query) =>
        Effect.suspend(() => {
          calls.push(query)
          const what = behave(calls.length)
          if (what === "fail") return Effect.fail(new MarketDataError({ detail: "503 service unavailable", status: 503 }))
          if (what !== "serve") return what
          const out = new Map<string, ReadonlyArray<Bar>>()
          for (const t of query.symbols) {
            const list: Array<Bar> = []
            for (let day = Math.ceil(query.start / DAY) * DAY + 15 * 3_600_000; day < query.end; day += DAY) list.push({ time: day, open: 10, high: 11, low: 9, close: 10.5, volume: 7 })
            out.set(t, list)
          }
          return Effect.succeed(out)
        })
    })
  )

describe("download is atomic and resumable", () => {
  const settings = (dir: string) => ({
    dir,
    tickers: ["AAA", "BBB"],
    // 61 days of minute bars: three ranges of at most 30 days
    range: { from: at("2026-01-01T00:00:00Z"), to: at("2026-03-03T00:00:00Z") },
    timeframe: "1Min" as const,
    feed: "iex" as const,
    adjustment: "raw" as const
  })
  const files = (dir: string) => fs.readdirSync(dir).sort()

  it.effect("a failed run leaves whole files and a record of what they hold; the next run fetches only the rest", () =>
    run(
      Effect.gen(function* () {
        const dir = path.join(tmpTree({}), "bars")
        const calls: Array<HistoryQuery> = []
        const failed = yield* Effect.flip(download(settings(dir)).pipe(Effect.provide(fakeHistory(calls, (n) => (n === 2 ? "fail" : "serve")))))
        expect(failed._tag).toBe("MarketDataError")
        expect(files(dir)).toEqual(["AAA.csv", "BBB.csv", "download.json"])
        expect(barsIn(path.join(dir, "AAA.csv"))).toHaveLength(30)
        const record = JSON.parse(fs.readFileSync(path.join(dir, "download.json"), "utf8"))
        expect(record.fetched.AAA).toEqual([["2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"]])

        const resumed: Array<HistoryQuery> = []
        yield* download(settings(dir)).pipe(Effect.provide(fakeHistory(resumed, () => "serve")))
        expect(resumed.map((q) => [new Date(q.start).toISOString().slice(0, 10), new Date(q.end).toISOString().slice(0, 10)])).toEqual([
          ["2026-01-31", "2026-03-02"],
          ["2026-03-02", "2026-03-03"]
        ])
        expect(barsIn(path.join(dir, "AAA.csv"))).toHaveLength(61)

        // a file deleted by hand is fetched again, whatever the record says
        fs.rmSync(path.join(dir, "BBB.csv"))
        const refetched: Array<HistoryQuery> = []
        yield* download(settings(dir)).pipe(Effect.provide(fakeHistory(refetched, () => "serve")))
        expect(refetched.map((q) => q.symbols)).toEqual([["BBB"], ["BBB"], ["BBB"]])
        expect(barsIn(path.join(dir, "BBB.csv"))).toHaveLength(61)
      })
    ))

  it.effect("a run stopped while it fetches leaves no partial file; one a killed run left is cleared, never read", () =>
    run(
      Effect.gen(function* () {
        const dir = path.join(tmpTree({ "bars/.AAA.csv.part": "date,open,high,low,close,volume\n2026-01-01T15:00:00Z,1,1" }), "bars")
        const stalled = yield* Deferred.make<void>()
        const calls: Array<HistoryQuery> = []
        const fiber = yield* Effect.fork(
          download(settings(dir)).pipe(Effect.provide(fakeHistory(calls, (n) => (n === 2 ? Effect.zipRight(Deferred.succeed(stalled, undefined), Effect.never) : "serve"))))
        )
        yield* Deferred.await(stalled)
        yield* Fiber.interrupt(fiber)
        expect(files(dir)).toEqual(["AAA.csv", "BBB.csv", "download.json"])
        for (const t of ["AAA", "BBB"]) expect(barsIn(path.join(dir, `${t}.csv`))).toHaveLength(30)
      })
    ))
})

describe("backtest on a folder download keeps", () => {
  const start = at("2026-01-07T14:30:00Z")
  const end = at("2026-01-07T16:00:00Z")

  it.effect("without keys a missing range exits 2 with the command that downloads it", () =>
    run(
      Effect.gen(function* () {
        const dir = tmpTree(deploymentFiles())
        const e = yield* Effect.flip(runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt"), { start, end }))
        expect(e._tag).toBe("ConfigError")
        expect(e.message).toMatch(/field 'data\.bars': bars of SYNA, SYNB, SYNC from \S+ to 2026-01-07T16:00:00Z are missing from \S*bars and no Alpaca keys are set to download them \(.*no Alpaca keys found.*\): run rl-paper-trader download --config \S*deploy\.yaml --start \S+ --end 2026-01-07T16:00:00Z/)
        const none = yield* Effect.flip(runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt"), {}))
        expect(none.message).toMatch(/has no bars for this period yet: give --start, or run rl-paper-trader download/)
      })
    ))

  it.effect("with keys it downloads the period and its warm-up, then backtests; the next backtest fetches nothing", () =>
    run(
      Effect.gen(function* () {
        const dir = tmpTree(deploymentFiles())
        requests.length = 0
        const report = yield* runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt"), { start, end, download: viaEmulator({ barsPageLimit: 10_000 }) })
        expect(report.steps).toBeGreaterThan(0)
        expect(requests.length).toBeGreaterThan(0)
        const record = JSON.parse(fs.readFileSync(path.join(dir, "bars/download.json"), "utf8"))
        // the warm-up (3 × close_60_sma's 60 bars of 5 minutes: 3 sessions) reaches back before the first bar
        expect(Date.parse(record.fetched.SYNA[0][0])).toBeLessThan(at("2026-01-02T00:00:00Z"))
        for (const ticker of TICKERS) expect(barsIn(path.join(dir, "bars", `${ticker}.csv`))).toEqual(served(ticker, 0, end))
        requests.length = 0
        yield* runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt2"), { start, end, download: viaEmulator() })
        expect(requests).toEqual([])
        // and without keys, now that the folder has the period
        yield* runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt3"), { start, end })
        const deployment = yield* withDeployment(dir)
        yield* ensureBars(deployment, { warmupBars: 0 })
      })
    ))
})
