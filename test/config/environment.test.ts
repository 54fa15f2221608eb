import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { checkModelFit, runBacktest, warmupBarsFor } from "../../src/cli/commands.js"
import { ofType, readJournal } from "../../src/domain/Journal.js"
import { loadDeployment } from "../../src/config/deployment.js"
import { loadEnvironment } from "../../src/config/environment.js"
import type { ConfigError } from "../../src/config/errors.js"
import { simulatedFees, simulatedTickerFees } from "../../src/domain/Config.js"
import { demoConfig, demoDeploymentFiles, tmpTree } from "../support/tmp.js"

const INDICATORS = ["macd", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma"]
const TICKERS = ["SYNA", "SYNB", "SYNC"]

/** FinRL's `env_kwargs` as its notebooks build them, saved with PyYAML's `yaml.dump` (keys sorted, block lists). */
const finrlYaml = (over: Record<string, string> = {}) => {
  const fields: Record<string, string> = {
    action_space: "3",
    buy_cost_pct: "\n- 0.001\n- 0.001\n- 0.001",
    hmax: "100",
    initial_amount: "100000",
    num_stock_shares: "\n- 0\n- 0\n- 0",
    print_verbosity: "5",
    reward_scaling: "0.0001",
    risk_indicator_col: "turbulence",
    sell_cost_pct: "\n- 0.001\n- 0.001\n- 0.001",
    state_space: "31",
    stock_dim: "3",
    tech_indicator_list: `\n${INDICATORS.map((i) => `- ${i}`).join("\n")}`,
    turbulence_threshold: "70",
    ...over
  }
  return Object.entries(fields).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v}`).join("\n") + "\n"
}

/** The same dict as Python's `json.dump(env_kwargs, f, indent=4)` writes it. */
const finrlJson = JSON.stringify(
  {
    hmax: 100,
    initial_amount: 1000000,
    num_stock_shares: [0, 5, 0],
    buy_cost_pct: [0.001, 0.002, 0.001],
    sell_cost_pct: [0.001, 0.001, 0.001],
    state_space: 31,
    stock_dim: 3,
    tech_indicator_list: INDICATORS,
    action_space: 3,
    reward_scaling: 0.0001,
    print_verbosity: 10
  },
  null,
  4
)

const load = (name: string, text: string, tickers = TICKERS) =>
  loadEnvironment(path.join(tmpTree({ [name]: text }), name), tickers).pipe(Effect.either, Effect.provide(NodeContext.layer))

const refused = (name: string, text: string, tickers = TICKERS) =>
  Effect.map(load(name, text, tickers), (e) => {
    if (Either.isRight(e)) throw new Error("expected a ConfigError")
    return e.left as ConfigError
  })

describe("FinRL's environment file, as FinRL writes it", () => {
  it.effect("env_kwargs in YAML is accepted unchanged: the same settings as today's form", () =>
    Effect.gen(function* () {
      const result = yield* load("env_kwargs.yaml", finrlYaml())
      if (Either.isLeft(result)) throw new Error(result.left.message)
      expect(result.right).toEqual({
        tech_indicators: INDICATORS,
        hmax: 100,
        initial_amount: 100000,
        buy_cost_pct: 0.001,
        sell_cost_pct: 0.001,
        initial_holdings: {},
        turbulence_threshold: 70,
        state_space: 31
      })
    }))

  it.effect("env_kwargs in JSON: costs that differ stay per ticker, num_stock_shares are the initial holdings", () =>
    Effect.gen(function* () {
      const result = yield* load("env_kwargs.json", finrlJson)
      if (Either.isLeft(result)) throw new Error(result.left.message)
      const env = result.right
      expect(env.buy_cost_pct).toEqual({ SYNA: 0.001, SYNB: 0.002, SYNC: 0.001 })
      expect(env.sell_cost_pct).toBe(0.001)
      expect(env.initial_holdings).toEqual({ SYNB: 5 })
      expect(env.initial_amount).toBe(1000000)
      // the simulated broker books them per ticker; a broker with one rate for all (the emulator) gets the highest
      const sim = { fill_price: "next_open" as const, slippage_bps: 0, fees: "environment" as const }
      expect(simulatedTickerFees(sim, env)).toEqual({ buyPct: { SYNA: 0.001, SYNB: 0.002, SYNC: 0.001 }, sellPct: 0.001 })
      expect(simulatedFees(sim, env)).toEqual({ buyPct: 0.002, sellPct: 0.001 })
    }))

  it.effect("stock_dim, action_space and the lists are checked against the tickers, naming both numbers", () =>
    Effect.gen(function* () {
      const dim = yield* refused("env.yaml", finrlYaml({ stock_dim: "4" }))
      expect(dim.field).toBe("stock_dim")
      expect(dim.line).toBe(20)
      expect(dim.message).toMatch(/env\.yaml:20, field 'stock_dim': is 4, but the deployment trades 3 tickers \(SYNA, SYNB, SYNC\)/)
      const actions = yield* refused("env.yaml", finrlYaml({ action_space: "2" }))
      expect(actions.message).toMatch(/field 'action_space': is 2, but the deployment trades 3 tickers/)
      const costs = yield* refused("env.yaml", finrlYaml({ buy_cost_pct: "[0.001, 0.001]" }))
      expect(costs.message).toMatch(/field 'buy_cost_pct': has 2 values, one per stock is needed: the deployment trades 3 tickers/)
      const shares = yield* refused("env.yaml", finrlYaml({ num_stock_shares: "[1]" }))
      expect(shares.field).toBe("num_stock_shares")
      const negative = yield* refused("env.yaml", finrlYaml({ num_stock_shares: "[0, -1, 0]" }))
      expect(negative.field).toBe("num_stock_shares.1")
    }))

  it.effect("risk_indicator_col other than turbulence is refused, saying only turbulence is supported", () =>
    Effect.gen(function* () {
      const vix = yield* refused("env.yaml", finrlYaml({ risk_indicator_col: "vix" }))
      expect(vix.field).toBe("risk_indicator_col")
      expect(vix.message).toMatch(/'vix' is not supported: only turbulence is/)
    }))

  it.effect("one indicator list, either name; unknown keys still refused", () =>
    Effect.gen(function* () {
      const both = yield* refused("env.yaml", finrlYaml({ tech_indicators: "[macd]" }))
      expect(both.message).toMatch(/tech_indicators or FinRL's tech_indicator_list, not both/)
      const none = yield* refused("env.yaml", finrlYaml({ tech_indicator_list: "" }))
      expect(none.field).toBe("tech_indicators")
      const typo = yield* refused("env.yaml", finrlYaml({ reward_scalng: "1" }))
      expect(typo.message).toMatch(/field 'reward_scalng': unknown key/)
    }))

  it.effect("a JSON syntax error names its line", () =>
    Effect.gen(function* () {
      const bad = yield* refused("env.json", '{\n    "hmax": 100,\n    "initial_amount": 5\n    "buy_cost_pct": 0\n}')
      expect(bad.message).toMatch(/env\.json:4: JSON syntax error: Expected ',' or '}'/)
    }))
})

describe("a deployment with FinRL's environment file", () => {
  const deployment = (env: string) => {
    const dir = tmpTree({ ...demoDeploymentFiles(demoConfig()), "env.yaml": env })
    return loadDeployment(path.join(dir, "deploy.yaml")).pipe(Effect.provide(NodeContext.layer))
  }

  it.effect("loads, and fits the demo model", () =>
    Effect.gen(function* () {
      const d = yield* deployment(finrlYaml())
      const { card, indicators } = yield* checkModelFit(d).pipe(Effect.provide(NodeContext.layer))
      expect(card.observation.size).toBe(31)
      // the warm-up a backtest downloads: 3 × close_60_sma's, or FinRL's 252-bar turbulence window
      expect(warmupBarsFor(indicators, false)).toBe(3 * Math.max(...indicators.map((i) => i.warmupBars)))
      expect(warmupBarsFor(indicators, true)).toBe(253)
    }))

  it.effect("a backtest starts with num_stock_shares and books each ticker's own cost", () =>
    Effect.gen(function* () {
      const env = JSON.stringify({ ...JSON.parse(finrlJson), num_stock_shares: [40, 0, 0], buy_cost_pct: [0.001, 0.01, 0.02], sell_cost_pct: [0.003, 0.001, 0.001] })
      const dir = tmpTree({ ...demoDeploymentFiles(demoConfig("simulation:\n  fees: environment\n").replace("env.yaml", "env.json")), "env.json": env })
      yield* runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt"), { maxSteps: 200 }).pipe(Effect.provide(NodeContext.layer))
      const records = readJournal(fs.readFileSync(path.join(dir, "bt/journal.jsonl"))).records
      expect(ofType(records, "portfolio")[0].positions).toEqual({ SYNA: 40 })
      const fills = ofType(records, "fill")
      const cost = { buy: { SYNA: 0.001, SYNB: 0.01, SYNC: 0.02 }, sell: { SYNA: 0.003, SYNB: 0.001, SYNC: 0.001 } } as const
      expect(new Set(fills.map((f) => `${f.ticker} ${f.side}`)).size).toBeGreaterThan(2)
      for (const f of fills) expect(f.fee).toBeCloseTo(f.price! * f.qty * cost[f.side][f.ticker as "SYNA"], 9)
    }))

  it.effect("a state_space the model does not have names both numbers", () =>
    Effect.gen(function* () {
      const d = yield* deployment(finrlYaml({ state_space: "41" }))
      const e = yield* Effect.flip(checkModelFit(d).pipe(Effect.provide(NodeContext.layer)))
      expect(e._tag).toBe("ConfigError")
      expect(e.message).toMatch(/field 'state_space': is 41, but the model's observation has 31 values/)
    }))
})
