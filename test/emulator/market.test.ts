import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import type { Bar } from "../../src/core/bar.js"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, loadBarsDir, startEmulator, type EmulatorHandle } from "../../src/emulator/index.js"
import { Market } from "../../src/emulator/market.js"
import { formatNy, nyDate } from "../../src/core/nytime.js"
import { DAY1_OPEN, MIN, syntheticBars } from "./helpers.js"

const bar = (time: number, price = 10): Bar => ({ time, open: price, high: price, low: price, close: price, volume: 1 })

let emu: EmulatorHandle | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

describe("emulator market model", { timeout: 5_000 }, () => {
  it("infers the native bar length and sessions, across DST and early closes", () => {
    // 2024-07-03 is an early close (13:00 New York, EDT = UTC−4); 2024-07-05 a normal day.
    const early = Date.UTC(2024, 6, 3, 13, 30)
    const normal = Date.UTC(2024, 6, 5, 13, 30)
    const bars = [
      ...Array.from({ length: 210 }, (_, i) => bar(early + i * MIN)),
      ...Array.from({ length: 390 }, (_, i) => bar(normal + i * MIN))
    ]
    const market = new Market(new Map([["X", bars]]))
    expect(market.barMs).toBe(MIN)
    expect(market.nativeTimeframe).toBe("1Min")
    expect(market.sessions.map((s) => [s.date, formatNy(s.open), formatNy(s.close)])).toEqual([
      ["2024-07-03", "2024-07-03T09:30:00-04:00", "2024-07-03T13:00:00-04:00"],
      ["2024-07-05", "2024-07-05T09:30:00-04:00", "2024-07-05T16:00:00-04:00"]
    ])
    expect(market.isOpen(early + 209 * MIN)).toBe(true)
    expect(market.isOpen(early + 210 * MIN)).toBe(false)
    expect(market.nextOpenClose(early + 300 * MIN)).toEqual({ nextOpen: normal, nextClose: normal + 390 * MIN })
    // Past the data the market stays closed; the reported next open is a future weekday.
    const after = normal + 1000 * MIN
    const { nextOpen } = market.nextOpenClose(after)
    expect(nextOpen).toBeGreaterThan(after)
    expect(nyDate(nextOpen)).toBe("2024-07-08")
    expect(market.isOpen(nextOpen)).toBe(false)
  })

  it("publishes a bar only once its end has passed and validates timeframes", () => {
    const market = new Market(syntheticBars())
    expect(market.barMs).toBe(5 * MIN)
    expect(market.publishedCount("AAA", DAY1_OPEN + 5 * MIN - 1)).toBe(0)
    expect(market.publishedCount("AAA", DAY1_OPEN + 5 * MIN)).toBe(1)
    expect(market.parseTimeframe("15Min")).toMatchObject({ ok: true, timeframe: { ms: 15 * MIN } })
    expect(market.parseTimeframe("1H")).toMatchObject({ ok: true, timeframe: { label: "1Hour" } })
    expect(market.parseTimeframe("1Day")).toMatchObject({ ok: true, timeframe: { daily: true } })
    expect(market.parseTimeframe("3Min")).toMatchObject({ ok: false })
    expect(market.parseTimeframe("60Min")).toMatchObject({ ok: false })
    expect(market.parseTimeframe("2Day")).toMatchObject({ ok: false })
  })

  it("drives publishing from real timers scaled by speed", async () => {
    // 10 real ms = one market minute: a 5-minute bar is published ~50 ms after the open.
    emu = await startEmulator({ bars: syntheticBars(), speed: 6_000 })
    const ws = new WebSocket(`ws://127.0.0.1:${emu.port}/v2/iex`)
    const received: Array<{ T: string; S?: string; t?: string }> = []
    ws.on("message", (data: Buffer) => received.push(...(JSON.parse(data.toString("utf8")) as typeof received)))
    await new Promise((resolve) => ws.once("open", resolve))
    ws.send(JSON.stringify({ action: "auth", key: EMULATOR_KEY_ID, secret: EMULATOR_SECRET_KEY }))
    ws.send(JSON.stringify({ action: "subscribe", bars: ["*"] }))
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error("no bars streamed")), 3_000)
      const poll = setInterval(() => {
        if (received.filter((m) => m.T === "b").length >= 4) {
          clearInterval(poll)
          clearTimeout(timeout)
          resolve()
        }
      }, 5)
    })
    ws.terminate()
    const bars = received.filter((m) => m.T === "b")
    for (const m of bars) expect(Date.parse(m.t!) + 5 * MIN).toBeLessThanOrEqual(emu.marketNow())
  })

  it("loads <TICKER>.csv files with loadBarsDir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "emu-bars-"))
    try {
      await writeFile(
        join(dir, "AAA.csv"),
        "date,open,high,low,close,volume\n2024-01-02T14:30:00Z,1,2,0.5,1.5,100\n2024-01-02T14:35:00Z,1.5,2,1,1.8,50\n"
      )
      await writeFile(join(dir, "notes.txt"), "ignored")
      const bars = await loadBarsDir(dir)
      expect([...bars.keys()]).toEqual(["AAA"])
      expect(bars.get("AAA")).toEqual([
        { time: DAY1_OPEN, open: 1, high: 2, low: 0.5, close: 1.5, volume: 100 },
        { time: DAY1_OPEN + 5 * MIN, open: 1.5, high: 2, low: 1, close: 1.8, volume: 50 }
      ])
      await writeFile(join(dir, "BAD.csv"), "date,open,high,low,close,volume\n2024-01-02T14:30:00Z,1,0.5,2,1,1\n")
      await expect(loadBarsDir(dir)).rejects.toThrow(/BAD\.csv:2/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
