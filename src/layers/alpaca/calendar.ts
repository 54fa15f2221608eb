/**
 * Alpaca's market calendar (`GET /v2/calendar`: New York `open`/`close` per trading date, early on
 * half days), cached per calendar month. Shared by the market clock and daily bars.
 */
import type { Alpaca } from "@alpacahq/alpaca-trade-api"
import { Cache, Duration, Effect, Exit } from "effect"
import type { AlpacaRateLimiterService, AlpacaSettings } from "./client.js"
import { array, decodeAnswer, malformed, record, text } from "./decode.js"
import { retryHealable, tradingOp, type AlpacaError } from "./errors.js"
import { nyDate, nyWallToEpoch } from "../../core/nytime.js"
import { alpacaCall } from "./rest.js"

/** One trading session, epoch ms. */
export interface CalendarSession {
  /** New York trading date, `YYYY-MM-DD`. */
  readonly date: string
  readonly open: number
  readonly close: number
}

export interface SessionCalendar {
  /** The session containing `time` (open ≤ time < close), else the next one; `undefined` past the calendar's end. */
  readonly sessionAt: (time: number) => Effect.Effect<CalendarSession | undefined, AlpacaError>
  /** The session on New York `date`, if it is a trading day. */
  readonly sessionOn: (date: string) => Effect.Effect<CalendarSession | undefined, AlpacaError>
}

/** Months searched after the one of `time` before concluding the calendar has no more sessions (Alpaca publishes years ahead). */
const MONTHS_AHEAD = 12

const monthOf = (date: string): string => date.slice(0, 7)

const addMonths = (month: string, n: number): string => {
  const [y, m] = month.split("-").map(Number)
  const d = new Date(Date.UTC(y, m - 1 + n, 1))
  return d.toISOString().slice(0, 7)
}

const lastDayOf = (month: string): string => {
  const [y, m] = month.split("-").map(Number)
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
}

/** Decodes `/v2/calendar` days as the SDK parsed them (`date` a Date at UTC midnight, `open`/`close` `HH:MM`). */
export const decodeCalendar = (value: unknown): ReadonlyArray<CalendarSession> =>
  array(value, "calendar").map((item, i) => {
    const day = record(item, `calendar[${i}]`)
    const rawDate = day.date
    const date =
      rawDate instanceof Date && !Number.isNaN(rawDate.getTime())
        ? rawDate.toISOString().slice(0, 10)
        : typeof rawDate === "string" && /^\d{4}-\d{2}-\d{2}$/.test(rawDate)
          ? rawDate
          : malformed(`calendar[${i}].date`, "is not a YYYY-MM-DD date")
    const at = (key: "open" | "close"): number => {
      const wall = text(day[key], `calendar[${i}].${key}`)
      const epoch = nyWallToEpoch(date, wall)
      return epoch ?? malformed(`calendar[${i}].${key}`, `is ${JSON.stringify(wall)}, expected HH:MM`)
    }
    const open = at("open")
    const close = at("close")
    if (close <= open) return malformed(`calendar[${i}].close`, "is not after open")
    return { date, open, close }
  })

export const makeSessionCalendar = (
  client: Alpaca,
  limiter: AlpacaRateLimiterService,
  settings: Pick<AlpacaSettings, "backoff" | "maxRetries">
): Effect.Effect<SessionCalendar> =>
  Effect.gen(function* () {
    const months = yield* Cache.makeWith({
      capacity: 1_000,
      lookup: (month: string) =>
        retryHealable(
          alpacaCall(limiter, tradingOp("calendar"), (init) =>
            client.trading.calendar.legacyCalendar(
              { start: new Date(`${month}-01T00:00:00Z`), end: new Date(`${lastDayOf(month)}T00:00:00Z`) },
              init
            )
          ),
          settings
        ).pipe(
          Effect.flatMap((raw) => decodeAnswer("calendar", () => decodeCalendar(raw))),
          Effect.map((sessions) => [...sessions].sort((a, b) => a.open - b.open))
        ),
      // Failures are not kept; the calendar is re-read twice a day (unscheduled closures).
      timeToLive: (exit) => (Exit.isSuccess(exit) ? Duration.hours(12) : Duration.zero)
    })

    const sessionAt = (time: number): Effect.Effect<CalendarSession | undefined, AlpacaError> =>
      Effect.gen(function* () {
        const first = monthOf(nyDate(time))
        for (let i = 0; i <= MONTHS_AHEAD; i++) {
          const sessions = yield* months.get(addMonths(first, i))
          const found = sessions.find((s) => s.close > time)
          if (found !== undefined) return found
        }
        return undefined
      })

    const sessionOn = (date: string): Effect.Effect<CalendarSession | undefined, AlpacaError> =>
      Effect.map(months.get(monthOf(date)), (sessions) => sessions.find((s) => s.date === date))

    return { sessionAt, sessionOn }
  })
