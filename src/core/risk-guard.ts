export interface GuardLimits {
  /** Largest loss in one session day, in account currency, before the kill switch trips. */
  readonly dailyLossLimit?: number | undefined
  /** Rejections in a row that open the circuit breaker. */
  readonly maxConsecutiveRejections?: number | undefined
  /** Steps the breaker stays open before orders are tried again. */
  readonly breakerCooldownSteps?: number | undefined
}

export type GuardEvent =
  | { readonly kind: "kill_switch"; readonly loss: number; readonly limit: number; readonly dayStartEquity: number }
  | { readonly kind: "circuit_open"; readonly rejections: number; readonly untilStep: number }
  | { readonly kind: "circuit_closed" }

/** What the guard allows now: everything, only reducing positions, or nothing. */
export type GuardMode = "normal" | "no_new_positions" | "halted"

/**
 * The stateful part of risk: a daily loss limit that trips a kill switch for the rest of the day
 * (no new positions; the caller cancels open orders), and a circuit breaker that stops all orders
 * for a cool-down after repeated rejections. Pure: the caller feeds it steps and outcomes.
 */
export class RiskGuard {
  private day: number | undefined
  private dayStartEquity = 0
  private killed = false
  private rejections = 0
  private openUntil: number | undefined
  private step = 0

  constructor(private readonly limits: GuardLimits) {}

  /** A new step on session day `day` with the account's equity; returns what tripped or healed. */
  onStep(step: number, day: number, equity: number): ReadonlyArray<GuardEvent> {
    const events: Array<GuardEvent> = []
    this.step = step
    if (day !== this.day) {
      this.day = day
      this.dayStartEquity = equity
      this.killed = false
    }
    const limit = this.limits.dailyLossLimit
    if (!this.killed && limit !== undefined && this.dayStartEquity - equity >= limit) {
      this.killed = true
      events.push({ kind: "kill_switch", loss: this.dayStartEquity - equity, limit, dayStartEquity: this.dayStartEquity })
    }
    if (this.openUntil !== undefined && step >= this.openUntil) {
      this.openUntil = undefined
      this.rejections = 0
      events.push({ kind: "circuit_closed" })
    }
    return events
  }

  onRejection(): ReadonlyArray<GuardEvent> {
    this.rejections++
    const max = this.limits.maxConsecutiveRejections
    if (max !== undefined && this.openUntil === undefined && this.rejections >= max) {
      this.openUntil = this.step + (this.limits.breakerCooldownSteps ?? 12)
      return [{ kind: "circuit_open", rejections: this.rejections, untilStep: this.openUntil }]
    }
    return []
  }

  onAccepted(): void {
    this.rejections = 0
  }

  get mode(): GuardMode {
    return this.openUntil !== undefined ? "halted" : this.killed ? "no_new_positions" : "normal"
  }
}
