/** The emulator's own state as its REST API answers it: every order and position, for the verifier. */
import { EMULATOR_KEY_ID, EMULATOR_SECRET_KEY } from "../emulator/constants.js"
import { sleep } from "./harness.js"
import type { EmulatorOrder, EmulatorPosition } from "./verifier.js"

/** REST against the emulator with the keys, retrying what the injected faults break. */
const emulatorGet = async (url: string): Promise<unknown> => {
  let last = ""
  for (let attempt = 0; attempt < 25; attempt++) {
    try {
      const res = await fetch(url, {
        headers: { "APCA-API-KEY-ID": EMULATOR_KEY_ID, "APCA-API-SECRET-KEY": EMULATOR_SECRET_KEY },
        signal: AbortSignal.timeout(4000)
      })
      const text = await res.text()
      if (res.ok) return JSON.parse(text)
      last = `${res.status} ${text.slice(0, 200)}`
      if (res.status !== 429 && res.status < 500) break
    } catch (e) {
      last = (e as Error).message
    }
    await sleep(50 + 20 * attempt)
  }
  throw new Error(`GET ${url}: ${last}`)
}

/** Every order the emulator holds (`GET /v2/orders?status=all`, page by page). */
export const fetchAllOrders = async (base: string): Promise<Array<EmulatorOrder>> => {
  const byId = new Map<string, EmulatorOrder>()
  let after: string | undefined
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ status: "all", limit: "500", direction: "asc" })
    if (after !== undefined) q.set("after", after)
    const orders = (await emulatorGet(`${base}/v2/orders?${q}`)) as Array<EmulatorOrder>
    let added = 0
    for (const o of orders) {
      const key = o.id ?? o.client_order_id
      if (!byId.has(key)) {
        byId.set(key, o)
        added++
      }
    }
    if (orders.length < 500 || added === 0) break
    // `after` is exclusive: step back a millisecond so orders sharing the last timestamp are not skipped
    after = new Date(Date.parse(String(orders[orders.length - 1].created_at)) - 1).toISOString()
  }
  return [...byId.values()]
}

/** Every open position (`GET /v2/positions`). */
export const fetchPositions = async (base: string): Promise<Array<EmulatorPosition>> => (await emulatorGet(`${base}/v2/positions`)) as Array<EmulatorPosition>
