import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { loadDeployment } from "../../src/config/deployment.js"
import { simulatedFees } from "../../src/domain/Config.js"
import { demoConfig, demoDeploymentFiles, PROJECT, tmpTree } from "../support/tmp.js"

const load = (files: Record<string, string>, file = "deploy.yaml") => {
  const dir = tmpTree(files)
  return loadDeployment(path.join(dir, file)).pipe(Effect.either, Effect.provide(NodeContext.layer))
}

const failure = (files: Record<string, string>) =>
  Effect.map(load(files), (e) => {
    if (Either.isRight(e)) throw new Error("expected a ConfigError")
    return e.left
  })

describe("loadDeployment", () => {
  it.effect("loads a valid config and resolves paths relative to it", () =>
    Effect.gen(function* () {
      const result = yield* load(demoDeploymentFiles(demoConfig("journal: j\n")))
      if (Either.isLeft(result)) throw new Error(result.left.message)
      const d = result.right
      expect(d.config.tickers).toEqual(["SYNA", "SYNB", "SYNC"])
      expect(d.environment.hmax).toBe(100)
      expect(d.journalDir).toBe(path.join(path.dirname(d.configFile), "j"))
      expect(d.deploymentId).toBe("deploy")
      expect(d.config.simulation.fill_price).toBe("next_open")
      expect(d.config.simulation.fees).toBe("none") // as Alpaca: no commission
      expect(simulatedFees(d.config.simulation, d.environment)).toEqual({ buyPct: 0, sellPct: 0 })
    }))

  it.effect("simulation.fees: environment books the environment's costs; anything else names the field", () =>
    Effect.gen(function* () {
      const result = yield* load(demoDeploymentFiles(demoConfig("simulation:\n  fees: environment\n"), "tech_indicators: [macd]\nhmax: 1\ninitial_amount: 1\nbuy_cost_pct: 0.001\nsell_cost_pct: 0.002\n"))
      if (Either.isLeft(result)) throw new Error(result.left.message)
      expect(result.right.config.simulation).toEqual({ fill_price: "next_open", slippage_bps: 0, fees: "environment" })
      expect(simulatedFees(result.right.config.simulation, result.right.environment)).toEqual({ buyPct: 0.001, sellPct: 0.002 })
      const bad = yield* failure(demoDeploymentFiles(demoConfig("simulation:\n  fees: finrl\n")))
      expect(bad.field).toBe("simulation.fees")
    }))

  it.effect("rejects an unknown key, naming field and line", () =>
    Effect.gen(function* () {
      const e = yield* failure(demoDeploymentFiles(demoConfig("risk:\n  max_postion_value: 5\n")))
      expect(e._tag).toBe("ConfigError")
      expect(e.field).toBe("risk.max_postion_value")
      expect(e.line).toBe(8)
      expect(e.message).toContain("unknown key")
      expect(e.message).toContain("deploy.yaml:8")
    }))

  it.effect("rejects a bad interval and a missing required key", () =>
    Effect.gen(function* () {
      const bad = yield* failure(demoDeploymentFiles(demoConfig().replace("interval: 5m", "interval: 7m")))
      expect(bad.field).toBe("interval")
      expect(bad.line).toBe(2)
      const missing = yield* failure(demoDeploymentFiles(demoConfig().replace("interval: 5m\n", "")))
      expect(missing.field).toBe("interval")
      expect(missing.message).toContain("is required")
    }))

  it.effect("reports YAML syntax errors with their line", () =>
    Effect.gen(function* () {
      const e = yield* failure(demoDeploymentFiles("tickers: [SYNA\ninterval: 5m\n"))
      expect(e.message).toMatch(/YAML syntax error/)
      expect(e.line).toBeGreaterThanOrEqual(1)
    }))

  it.effect("names missing files and folders", () =>
    Effect.gen(function* () {
      const noEnv = yield* failure({ "deploy.yaml": demoConfig() })
      expect(noEnv.field).toBe("environment")
      expect(noEnv.message).toContain("file not found")
      const noModel = yield* failure(demoDeploymentFiles(demoConfig().replace(/model: .*/, "model: nowhere")))
      expect(noModel.field).toBe("model")
      const noConfig = yield* failure({})
      expect(noConfig.message).toContain("file not found")
    }))

  it.effect("checks the environment config with FinRL's key names", () =>
    Effect.gen(function* () {
      const e = yield* failure(demoDeploymentFiles(demoConfig(), "tech_indicators: [macd]\nhmax: -1\ninitial_amount: 1\nbuy_cost_pct: 0\nsell_cost_pct: 0\n"))
      expect(e.file).toMatch(/env\.yaml$/)
      expect(e.field).toBe("hmax")
      const typo = yield* failure(demoDeploymentFiles(demoConfig(), "tech_indicator: [macd]\nhmax: 1\ninitial_amount: 1\nbuy_cost_pct: 0\nsell_cost_pct: 0\n"))
      expect(typo.field === "tech_indicator" || typo.field === "tech_indicators").toBe(true)
    }))

  it.effect("rejects duplicate tickers and malformed ones", () =>
    Effect.gen(function* () {
      const dup = yield* failure(demoDeploymentFiles(demoConfig().replace("[SYNA, SYNB, SYNC]", "[SYNA, SYNA]")))
      expect(dup.message).toContain("duplicate ticker SYNA")
      const lower = yield* failure(demoDeploymentFiles(demoConfig().replace("[SYNA, SYNB, SYNC]", "[syna]")))
      expect(lower.field).toBe("tickers.0")
    }))

  it.effect("the bundled configs are valid", () =>
    Effect.gen(function* () {
      for (const name of ["demo", "emulator", "paper"]) {
        const result = yield* loadDeployment(path.join(PROJECT, "config", `${name}.yaml`)).pipe(Effect.either, Effect.provide(NodeContext.layer))
        if (Either.isLeft(result)) throw new Error(`${name}.yaml: ${result.left.message}`)
        expect(result.right.config.tickers).toEqual(["SYNA", "SYNB", "SYNC"])
        // the demo agent was trained with FinRL's costs, and its backtests book them; the others charge as Alpaca does
        expect(result.right.config.simulation.fees).toBe(name === "demo" ? "environment" : "none")
      }
    }))
})
