import { Alpaca } from "@alpacahq/alpaca-trade-api"
import { afterEach, describe, expect, it } from "vitest"
import { aggregateBars } from "../../src/core/aggregate.js"
import type { Bar } from "../../src/core/bar.js"
import { SimBook } from "../../src/core/sim-book.js"
import { emulatorClientOptions, startEmulator, type EmulatorHandle } from "../../src/emulator/index.js"
import { decimal } from "../../src/emulator/format.js"
import { DAY1_OPEN, MIN } from "./helpers.js"

const S = 1_000
const FIVE = 5 * MIN
/** Minute i of 09:30–10:00 New York opens at 100 + i and closes at 100.5 + i: every minute's open differs from the last close. */
const minutes: ReadonlyArray<Bar> = Array.from({ length: 30 }, (_, i) => ({
  time: DAY1_OPEN + i * MIN,
  open: 100 + i,
  high: 101 + i,
  low: 99 + i,
  close: 100.5 + i,
  volume: 1000
}))
const costs = { slippageBps: 10, buyCostPct: 0.001, sellCostPct: 0.002 }
/** E1, E2: the closes of the 09:30 and 09:35 five-minute bars, when a backtest decides and submits. */
const E1 = DAY1_OPEN + FIVE
const E2 = DAY1_OPEN + 2 * FIVE

interface Outcome {
  readonly buy: { readonly price: string; readonly at: number }
  readonly sell: { readonly price: string; readonly at: number }
  readonly cash: string
}

/** A backtest's book over 5-minute bars aggregated from the minutes: buy 10 at E1, sell 4 at E2. */
const simulate = (barMs: number | undefined): Outcome => {
  const fives = aggregateBars(minutes, FIVE)
  const book = new SimBook({ initialCash: 10_000, fillPrice: "next_open", ...costs, barMs })
  const fills: Array<{ price: string; at: number }> = []
  const deliver = (i: number) => {
    book.onBar("AAA", fives[i])
    for (const u of book.takeUpdates()) if (u._tag === "Fill") fills.push({ price: decimal(u.fill.price), at: u.fill.time })
  }
  deliver(0)
  expect(book.submit({ ticker: "AAA", side: "buy", qty: 10, type: "market", timeInForce: "day", clientOrderId: "b" }, E1).ok).toBe(true)
  deliver(1)
  expect(book.submit({ ticker: "AAA", side: "sell", qty: 4, type: "market", timeInForce: "day", clientOrderId: "s" }, E2).ok).toBe(true)
  deliver(2)
  expect(fills).toHaveLength(2)
  return { buy: fills[0], sell: fills[1], cash: decimal(book.account().cash) }
}

let emu: EmulatorHandle | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

/** The emulator over the same minute bars: the same two orders, each arriving `delay` after its decision bar's close. */
const emulate = async (delay: number): Promise<Outcome> => {
  await emu?.close()
  emu = await startEmulator({ bars: new Map([["AAA", minutes]]), now: () => 0, speed: 0, initialCash: 10_000, ...costs })
  const alpaca = new Alpaca(emulatorClientOptions(emu.url, { retry: false, rateLimit: false, timeoutMs: 5_000 }))
  await emu.advanceTo(E1 + delay)
  const buy = await alpaca.trading.orders.market({ symbol: "AAA", qty: 10, side: "buy" })
  await emu.advanceTo(E2 + delay)
  const sell = await alpaca.trading.orders.market({ symbol: "AAA", qty: 4, side: "sell" })
  const b = await alpaca.trading.orders.getOrderByOrderID({ orderId: buy.id! })
  const s = await alpaca.trading.orders.getOrderByOrderID({ orderId: sell.id! })
  expect([b.status, s.status]).toEqual(["filled", "filled"])
  const account = await alpaca.trading.account.getAccount()
  return {
    buy: { price: b.filledAvgPrice!, at: b.filledAt!.getTime() },
    sell: { price: s.filledAvgPrice!, at: s.filledAt!.getTime() },
    cash: account.cash!
  }
}

describe("one fill model: the simulator and the emulator fill the same order on the same bars alike", { timeout: 10_000 }, () => {
  it("the simulator fills an order at the close E at the next 5-minute bar's open, its first minute's open", () => {
    const sim = simulate(FIVE)
    expect(sim.buy).toEqual({ price: decimal(105 * 1.001), at: E1 }) // minute 5 opens at 105
    expect(sim.sell).toEqual({ price: decimal(110 * 0.999), at: E2 }) // minute 10 opens at 110
    expect(sim.cash).toBe(decimal(10_000 - 105 * 1.001 * 10 * 1.001 + 110 * 0.999 * 4 * 0.998))
    expect(simulate(undefined)).toEqual(sim) // the default (bars delivered as they close) agrees
  })

  it("orders arriving 3 s and 59 s after E fill in the emulator at the same price and book the same cash", async () => {
    const sim = simulate(FIVE)
    for (const delay of [3 * S, 59 * S]) {
      const paper = await emulate(delay)
      expect(paper.buy).toEqual({ price: sim.buy.price, at: E1 + delay })
      expect(paper.sell).toEqual({ price: sim.sell.price, at: E2 + delay })
      expect(paper.cash).toBe(sim.cash)
    }
  })

  it("an order arriving 61 s after E fills in the emulator at the next minute's open", async () => {
    const paper = await emulate(61 * S)
    expect(paper.buy).toEqual({ price: decimal(106 * 1.001), at: E1 + 61 * S })
    expect(paper.sell).toEqual({ price: decimal(111 * 0.999), at: E2 + 61 * S })
  })

  it("an order arriving exactly at E fills at E at the open of the minute starting at E, as in the simulator", async () => {
    const sim = simulate(FIVE)
    const paper = await emulate(0)
    expect(paper).toEqual(sim)
  })
})
