import { Alpaca, type AlpacaClientOptions } from "@alpacahq/alpaca-trade-api"
import { WebSocket } from "ws"
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

export interface RawStreamClient {
  readonly ws: WebSocket
  readonly messages: unknown[]
  /** The first recorded (or next) message `pred` accepts, taken off the record; rejects after 2 s. */
  readonly next: (pred: (m: any) => boolean) => Promise<any>
  /** Resolves with the close code once the socket closes. */
  readonly closed: Promise<number>
}

/** A raw JSON websocket client that records every decoded message; `cleanups` gets its terminate. */
export const rawStreamClient = async (url: string, cleanups: Array<() => void>): Promise<RawStreamClient> => {
  const ws = new WebSocket(url)
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)))
  const messages: unknown[] = []
  const waiters: Array<{ pred: (m: any) => boolean; resolve: (m: unknown) => void }> = []
  ws.on("message", (data: Buffer) => {
    const parsed = JSON.parse(data.toString("utf8")) as unknown
    const items = Array.isArray(parsed) ? parsed : [parsed]
    for (const m of items) {
      messages.push(m)
      const i = waiters.findIndex((w) => w.pred(m))
      if (i >= 0) waiters.splice(i, 1)[0].resolve(m)
    }
  })
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("error", reject)
  })
  cleanups.push(() => ws.terminate())
  const next = (pred: (m: any) => boolean): Promise<any> => {
    const found = messages.find(pred)
    if (found !== undefined) {
      messages.splice(messages.indexOf(found), 1)
      return Promise.resolve(found)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out")), 2_000)
      waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer)
          messages.splice(messages.indexOf(m), 1)
          resolve(m)
        }
      })
    })
  }
  return { ws, messages, next, closed }
}
