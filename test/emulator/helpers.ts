import { Alpaca, type AlpacaClientOptions } from "@alpacahq/alpaca-trade-api"
import type { Bar } from "../../src/core/bar.js"
import { emulatorClientOptions, startEmulator, type EmulatorHandle, type EmulatorOptions } from "../../src/emulator/index.js"

export const MIN = 60_000
/** 2024-01-02 09:30 New York (EST, UTC−5). */
export const DAY1_OPEN = Date.UTC(2024, 0, 2, 14, 30)
/** 2024-01-03 09:30 New York. */
export const DAY2_OPEN = Date.UTC(2024, 0, 3, 14, 30)
export const BARS_PER_DAY = 6
export const BAR_MS = 5 * MIN

/**
 * Deterministic 5-minute bars, 09:30–10:00 New York, on two days.
 * AAA bar i (global index over both days): open 100 + i, high open+2, low open−2, close open+1.
 * BBB bar i: open 50 + i, high open+1, low open−1, close open+0.5.
 */
export const syntheticBars = (): Map<string, Bar[]> => {
  const make = (base: number, span: number, closeUp: number): Bar[] => {
    const out: Bar[] = []
    let i = 0
    for (const dayOpen of [DAY1_OPEN, DAY2_OPEN]) {
      for (let k = 0; k < BARS_PER_DAY; k++, i++) {
        const open = base + i
        out.push({ time: dayOpen + k * BAR_MS, open, high: open + span, low: open - span, close: open + closeUp, volume: 1000 + i })
      }
    }
    return out
  }
  return new Map([
    ["AAA", make(100, 2, 1)],
    ["BBB", make(50, 1, 0.5)]
  ])
}

export interface Harness {
  readonly emu: EmulatorHandle
  readonly alpaca: Alpaca
  readonly client: (overrides?: AlpacaClientOptions) => Alpaca
}

/** Starts an emulator on synthetic bars with a frozen real clock (time moves only via advanceTo). */
export const startHarness = async (options: Partial<EmulatorOptions> = {}): Promise<Harness> => {
  const emu = await startEmulator({ bars: syntheticBars(), now: () => 0, ...options })
  const client = (overrides: AlpacaClientOptions = {}): Alpaca =>
    new Alpaca(emulatorClientOptions(emu.url, { retry: false, rateLimit: false, timeoutMs: 5_000, ...overrides }))
  return { emu, alpaca: client(), client }
}

/** Resolves with the first value `take` accepts, or rejects after `ms`. */
export const waitFor = <T>(subscribe: (push: (v: T) => void) => void, accept: (v: T) => boolean, ms = 2_000): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for stream message")), ms)
    subscribe((v) => {
      if (accept(v)) {
        clearTimeout(timer)
        resolve(v)
      }
    })
  })
