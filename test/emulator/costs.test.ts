import { describe, expect, it } from "vitest"
import { Effect, Either } from "effect"
import { tradingCostFlags } from "../../src/cli/emulator.js"
import { startEmulator, tradingCostProblem } from "../../src/emulator/index.js"
import { syntheticBars } from "./helpers.js"

const parse = (flags: Record<string, string>) => Effect.runSync(Effect.either(tradingCostFlags(new Map(Object.entries(flags)))))

describe("emulator slippage and fee options", () => {
  it("reads --slippage-bps, --buy-cost-pct and --sell-cost-pct, defaulting to 0 as Alpaca", () => {
    expect(parse({})).toEqual(Either.right({ slippageBps: 0, buyCostPct: 0, sellCostPct: 0 }))
    expect(parse({ "slippage-bps": "2.5", "buy-cost-pct": "0.001", "sell-cost-pct": "1" })).toEqual(
      Either.right({ slippageBps: 2.5, buyCostPct: 0.001, sellCostPct: 1 })
    )
  })

  it("a bad value is a UsageError naming the flag", () => {
    const cases: ReadonlyArray<[Record<string, string>, string]> = [
      [{ "slippage-bps": "-1" }, "--slippage-bps"],
      [{ "slippage-bps": "10000" }, "--slippage-bps"],
      [{ "slippage-bps": "abc" }, "--slippage-bps"],
      [{ "buy-cost-pct": "1.5" }, "--buy-cost-pct"],
      [{ "buy-cost-pct": "" }, "--buy-cost-pct"],
      [{ "sell-cost-pct": "-0.1" }, "--sell-cost-pct"],
      [{ "sell-cost-pct": "Infinity" }, "--sell-cost-pct"]
    ]
    for (const [flags, name] of cases) {
      const result = parse(flags)
      if (Either.isRight(result)) throw new Error(`accepted ${JSON.stringify(flags)}`)
      expect(result.left._tag).toBe("UsageError")
      expect(result.left.message).toContain(name)
    }
  })

  it("startEmulator refuses out-of-range options", async () => {
    expect(tradingCostProblem({})).toBeUndefined()
    expect(tradingCostProblem({ slippageBps: 5, buyCostPct: 0.001, sellCostPct: 0.001 })).toBeUndefined()
    expect(tradingCostProblem({ buyCostPct: -0.01 })).toMatch(/buyCostPct/)
    expect(tradingCostProblem({ sellCostPct: 2 })).toMatch(/sellCostPct/)
    expect(tradingCostProblem({ slippageBps: NaN })).toMatch(/slippageBps/)
    await expect(startEmulator({ bars: syntheticBars(), now: () => 0, buyCostPct: 1.5 })).rejects.toThrow(/buyCostPct/)
  })
})
