import * as diagnostics from "node:diagnostics_channel"
import { Effect, Redacted, type Scope } from "effect"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorHandle, type EmulatorMiddleware } from "../emulator/index.js"
import { makeAlpacaSettings, type AlpacaSettings, type AlpacaSettingsInput } from "../layers/alpaca/client.js"

/** Settings pointing every Alpaca layer (REST and both streams) at a running local emulator. */
export const alpacaSettingsForEmulator = (
  emulator: Pick<EmulatorHandle, "url">,
  overrides: Partial<AlpacaSettingsInput> = {}
): AlpacaSettings => {
  const ws = emulator.url.replace(/^http/, "ws").replace(/\/+$/, "")
  return makeAlpacaSettings({
    keyId: Redacted.make(EMULATOR_KEY_ID),
    secretKey: Redacted.make(EMULATOR_SECRET_KEY),
    tradingUrl: emulator.url,
    dataUrl: emulator.url,
    dataStreamUrl: `${ws}/v2`,
    tradingStreamUrl: `${ws}/stream`,
    ...overrides
  })
}

/** What a driver of virtual time needs to know about the traffic between a trader and its emulator. */
export interface EmulatorTraffic {
  /** Install in the emulator (`startEmulator({ middleware })`): counts requests and frames, watches the streams. */
  readonly middleware: EmulatorMiddleware
  /** Starts counting the client's requests to `url` (the emulator's address), until the scope closes. */
  readonly listen: (url: string) => Effect.Effect<void, never, Scope.Scope>
  /** REST requests started by the client and not yet completely answered. */
  readonly inFlight: () => number
  /** Changes with every request started or finished and every stream frame sent. */
  readonly activity: () => number
  /** Whether a market-data stream is subscribed to bars and a trading stream listens to trade_updates. */
  readonly streamsReady: () => boolean
  /** Forgets the streams (they were just dropped): not ready until both are back. */
  readonly streamsDropped: () => void
}

const UNDICI_START = "undici:request:create"
const UNDICI_ENDS = ["undici:request:trailers", "undici:request:error"] as const

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null

/**
 * Watches the traffic with a local emulator. Requests are counted on BOTH sides: on the client
 * through undici's diagnostics channels (Node's fetch, which the SDK uses, publishes a request when
 * it is created and when its answer is complete, so the count covers connecting, sending and
 * receiving), and on the server through the emulator's middleware (latency faults hold a request
 * there). Stream frames are counted as the emulator sends them; their delivery to the client is
 * left to the driver's quiet event-loop turns (see `driveVirtualClock`). Install `middleware` when
 * starting the emulator, then `listen(url)` (scoped) once its address is known.
 */
export const makeEmulatorTraffic = () => {
  const client = new Set<object>()
  let origin: string | undefined
  let server = 0
  let activity = 0
  const ready = { marketData: new Set<number>(), trading: new Set<number>() }

  const onStart = (message: unknown) => {
    const request = isRecord(message) ? message.request : undefined
    if (!isRecord(request) || origin === undefined || request.origin !== origin) return
    client.add(request)
    activity++
  }
  const onEnd = (message: unknown) => {
    const request = isRecord(message) ? message.request : undefined
    if (isRecord(request) && client.delete(request)) activity++
  }

  const listen = (url: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        origin = new URL(url).origin
        diagnostics.subscribe(UNDICI_START, onStart)
        for (const name of UNDICI_ENDS) diagnostics.subscribe(name, onEnd)
      }),
      () =>
        Effect.sync(() => {
          diagnostics.unsubscribe(UNDICI_START, onStart)
          for (const name of UNDICI_ENDS) diagnostics.unsubscribe(name, onEnd)
        })
    )

  const middleware: EmulatorMiddleware = {
    http: async (_req, next) => {
      server++
      activity++
      try {
        return await next()
      } finally {
        server--
        activity++
      }
    },
    frame: (ctx, payload, send) => {
      activity++
      if (ctx.kind === "market-data" && Array.isArray(payload)) {
        const subscribed = payload.some((m) => isRecord(m) && m.T === "subscription" && Array.isArray(m.bars) && m.bars.length > 0)
        if (subscribed) ready.marketData.add(ctx.id)
      } else if (ctx.kind === "trading" && isRecord(payload) && payload.stream === "listening") {
        const streams = isRecord(payload.data) ? payload.data.streams : undefined
        if (Array.isArray(streams) && streams.includes("trade_updates")) ready.trading.add(ctx.id)
      }
      send()
    }
  }

  return {
    middleware,
    listen,
    inFlight: () => client.size + server,
    activity: () => activity,
    streamsReady: () => ready.marketData.size > 0 && ready.trading.size > 0,
    streamsDropped: () => {
      ready.marketData.clear()
      ready.trading.clear()
    }
  } satisfies EmulatorTraffic
}
