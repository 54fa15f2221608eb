import { Redacted } from "effect"
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY, type EmulatorHandle } from "../../emulator/index.js"
import { makeAlpacaSettings, type AlpacaSettings, type AlpacaSettingsInput } from "./client.js"

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
