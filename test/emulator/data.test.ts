import { ApiError, TimeFrameUnit, ValidationError, timeFrame } from "@alpacahq/alpaca-trade-api"
import { afterEach, describe, expect, it } from "vitest"
import { BAR_MS, DAY1_OPEN, DAY2_OPEN, MIN, startHarness, type Harness } from "./helpers.js"

let h: Harness | undefined
afterEach(async () => {
  await h?.emu.close()
  h = undefined
})

/** Raw multi-bar maps keep `t` as the wire string at runtime; normalize to epoch ms. */
const times = (bars: ReadonlyArray<{ t: unknown }> | undefined): number[] =>
  (bars ?? []).map((b) => new Date(b.t as string | Date).getTime())

const barTimes = (dayOpen: number, from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => dayOpen + (from + i) * BAR_MS)

describe("emulator market data API via the official SDK", { timeout: 5_000 }, () => {
  it("paginates multi-symbol bars with limit spanning symbols, and tokens survive market moves", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + 30 * MIN) // all six day-1 bars of both symbols published
    const base = { symbols: "BBB,AAA", timeframe: "5Min", start: new Date(DAY1_OPEN), limit: 4, feed: "iex" as const }

    const p1 = await alpaca.marketData.stocks.stockBars(base)
    expect(Object.keys(p1.bars)).toEqual(["AAA"])
    expect(times(p1.bars.AAA)).toEqual(barTimes(DAY1_OPEN, 0, 4))
    expect(p1.nextPageToken).toEqual(expect.any(String))

    const p2 = await alpaca.marketData.stocks.stockBars({ ...base, pageToken: p1.nextPageToken! })
    expect(times(p2.bars.AAA)).toEqual(barTimes(DAY1_OPEN, 4, 6))
    expect(times(p2.bars.BBB)).toEqual(barTimes(DAY1_OPEN, 0, 2))
    expect(p2.bars.BBB[0]).toMatchObject({ o: 50, h: 51, l: 49, c: 50.5, v: 1000 })

    // The market moves on: two bars of day 2 get published. Old tokens still point at the same place.
    await emu.advanceTo(DAY2_OPEN + 2 * BAR_MS)
    const p2again = await alpaca.marketData.stocks.stockBars({ ...base, pageToken: p1.nextPageToken! })
    expect(times(p2again.bars.AAA)).toEqual([...barTimes(DAY1_OPEN, 4, 6), ...barTimes(DAY2_OPEN, 0, 2)])
    expect(p2again.bars.BBB).toBeUndefined()
    const p3 = await alpaca.marketData.stocks.stockBars({ ...base, pageToken: p2.nextPageToken! })
    expect(times(p3.bars.BBB)).toEqual(barTimes(DAY1_OPEN, 2, 6))
    const p4 = await alpaca.marketData.stocks.stockBars({ ...base, pageToken: p3.nextPageToken! })
    expect(times(p4.bars.BBB)).toEqual(barTimes(DAY2_OPEN, 0, 2))
    expect(p4.nextPageToken).toBeNull()

    // The SDK's own pagination helpers walk the same pages.
    const all = await alpaca.marketData.getStockBars({
      symbols: ["AAA", "BBB"],
      timeframe: timeFrame(5, TimeFrameUnit.Minute),
      start: new Date(DAY1_OPEN),
      limit: 3
    })
    expect(all.AAA.map((b) => b.timestamp.getTime())).toEqual([...barTimes(DAY1_OPEN, 0, 6), ...barTimes(DAY2_OPEN, 0, 2)])
    expect(all.BBB).toHaveLength(8)
    expect(all.AAA[7]).toMatchObject({ open: 107, high: 109, low: 105, close: 108, volume: 1007 })

    // Descending order within a symbol, still paged across symbols.
    const desc = await alpaca.marketData.stocks.stockBars({ ...base, sort: "desc", limit: 7 })
    expect(times(desc.bars.AAA)).toEqual([...barTimes(DAY1_OPEN, 0, 6), ...barTimes(DAY2_OPEN, 0, 2)].reverse().slice(0, 7))
    const desc2 = await alpaca.marketData.stocks.stockBars({ ...base, sort: "desc", limit: 7, pageToken: desc.nextPageToken! })
    expect(times(desc2.bars.AAA)).toEqual([DAY1_OPEN])
    expect(times(desc2.bars.BBB)).toHaveLength(6)
  })

  it("never serves a bar before its end, for native, aggregated and latest bars", async () => {
    h = await startHarness()
    const { alpaca, emu } = h
    const far = new Date(DAY2_OPEN + 24 * 60 * MIN)
    const query = (timeframe: string) =>
      alpaca.marketData.stocks.stockBars({ symbols: "AAA", timeframe, start: new Date(DAY1_OPEN - 10 * 60 * MIN), end: far })

    // At the open nothing has ended yet.
    expect((await query("5Min")).bars).toEqual({})
    expect((await alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA,BBB" })).bars).toEqual({})

    await emu.advanceTo(DAY1_OPEN + 9 * MIN) // bar 0 ended at 09:35; bar 1 runs until 09:40
    expect(times((await query("5Min")).bars.AAA)).toEqual([DAY1_OPEN])
    const single = await alpaca.marketData.stocks.stockBarSingle({ symbol: "AAA", timeframe: "5Min", start: new Date(DAY1_OPEN), end: far })
    expect(single.bars.map((b) => b.t.getTime())).toEqual([DAY1_OPEN])
    expect(single.nextPageToken).toBeNull()
    const latest = await alpaca.marketData.stocks.stockLatestBars({ symbols: "AAA,BBB" })
    expect(latest.bars.AAA.t.getTime()).toBe(DAY1_OPEN)
    expect(latest.bars.BBB.c).toBe(50.5)
    const latestOne = await alpaca.marketData.stocks.stockLatestBarSingle({ symbol: "AAA" })
    expect(latestOne.bar.o).toBe(100)
    expect((await query("15Min")).bars).toEqual({}) // 09:30–09:45 bucket not over
    expect((await query("1Day")).bars).toEqual({})

    await emu.advanceTo(DAY1_OPEN + 15 * MIN)
    const agg = (await query("15Min")).bars.AAA
    expect(agg).toHaveLength(1)
    expect(agg[0]).toMatchObject({ o: 100, h: 104, l: 98, c: 103, v: 1000 + 1001 + 1002 })
    expect(new Date(agg[0].t as unknown as string).getTime()).toBe(DAY1_OPEN)

    await emu.advanceTo(DAY1_OPEN + 30 * MIN) // first session closed
    const daily = (await query("1Day")).bars.AAA
    expect(daily).toHaveLength(1)
    expect(daily[0]).toMatchObject({ o: 100, h: 107, l: 98, c: 106 })
    expect(daily[0].t as unknown as string).toBe("2024-01-02T05:00:00Z") // midnight New York
  })

  it("rejects unsupported timeframes with 422 and returns empty bars for unknown symbols", async () => {
    h = await startHarness({ plan: "algo_trader_plus" }) // the paid plan: basic refuses recent SIP bars (strict.test.ts)
    const { alpaca, emu } = h
    await emu.advanceTo(DAY1_OPEN + 30 * MIN)
    for (const tf of ["1Min", "7Min", "1Week", "banana"]) {
      const err = await alpaca.marketData.stocks
        .stockBars({ symbols: "AAA", timeframe: tf, start: new Date(DAY1_OPEN) })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ValidationError)
      expect((err as ApiError).status).toBe(422)
      expect((err as ApiError).message.length).toBeGreaterThan(0)
    }
    const none = await alpaca.marketData.stocks.stockBars({ symbols: "ZZZ", timeframe: "5Min", start: new Date(DAY1_OPEN) })
    expect(none.bars).toEqual({})
    expect(none.nextPageToken).toBeNull()
    const sip = await alpaca.marketData.stocks.stockBars({ symbols: "AAA", timeframe: "10Min", start: new Date(DAY1_OPEN), feed: "sip" })
    expect(times(sip.bars.AAA)).toEqual([DAY1_OPEN, DAY1_OPEN + 10 * MIN, DAY1_OPEN + 20 * MIN])
  })
})
