/**
 * tools/export's recipes, one by one: a policy built the way its library builds it (fixed seeds,
 * test/support/python/lookalikes.py) is exported by the recipe's own command line, registered, and
 * backtested on the demo bars; every journaled action equals torch's forward pass, with the
 * library's own semantics, on the journaled observation. Needs Debian's python3-torch.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runBacktest } from "../../src/cli/commands.js"
import { register } from "../../src/cli/register.js"
import { ofType, readJournal } from "../../src/domain/Journal.js"
import { readModelCard } from "../../src/layers/OnnxPolicy.js"
import { type BuiltPolicy, buildPolicies, demoObservationStats, mismatches, PYTHON_SUPPORT, python, requireTorch, runPython, SB3_STUB, startTorch } from "../support/python.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const TICKERS = ["SYNA", "SYNB", "SYNC"]
const INDICATORS = ["macd", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma"]
const STEPS = 40

/** FinRL's env_kwargs: StockTradingEnv's 31 values for SB3; the numpy env's 36 (FinRL's paper trader) for ElegantRL. */
const envKwargs = (layout: "df" | "np") =>
  JSON.stringify({
    hmax: 100,
    initial_amount: 100000,
    num_stock_shares: [0, 0, 0],
    buy_cost_pct: [0.001, 0.001, 0.001],
    sell_cost_pct: [0.001, 0.001, 0.001],
    state_space: layout === "df" ? 31 : 36,
    stock_dim: 3,
    tech_indicator_list: INDICATORS,
    action_space: 3,
    reward_scaling: 1e-4,
    ...(layout === "np" ? { turbulence_threshold: 30 } : {})
  })

const RECIPES = [
  { algo: "ppo", layout: "df" },
  { algo: "a2c", layout: "df" },
  { algo: "sac", layout: "df" },
  { algo: "td3", layout: "df" },
  { algo: "ddpg", layout: "df" },
  { algo: "elegantrl", layout: "np" },
  { algo: "elegantrl-net", layout: "np" }
] as const

let root: string
let built: Record<string, BuiltPolicy>
let torch: Awaited<ReturnType<typeof startTorch>> | undefined

beforeAll(async () => {
  requireTorch()
  root = tmpTree({ "env_df.json": envKwargs("df"), "env_np.json": envKwargs("np") })
  built = buildPolicies(path.join(root, "policies"), { algos: RECIPES.map((r) => r.algo), observation: 31, npObservation: 36, actions: 3, export: true })
  torch = await startTorch()
}, 60_000)
afterAll(() => torch?.close())

const quiet = <A, E>(effect: Effect.Effect<A, E, never>) => Effect.runPromise(effect.pipe(Logger.withMinimumLogLevel(LogLevel.None)))

describe("tools/export recipes: export → register → backtest, actions equal torch's", () => {
  for (const recipe of RECIPES) {
    it(`${recipe.algo}`, async () => {
      const policy = built[recipe.algo]
      const registry = path.join(root, "registry")
      const registration = await quiet(
        register({
          onnx: policy.onnx!,
          env: path.join(root, `env_${recipe.layout}.json`),
          tickers: TICKERS,
          name: recipe.algo,
          version: "1",
          normalization: policy.normalization,
          registry
        }).pipe(Effect.provide(NodeContext.layer))
      )
      const shown = registration.lines.join("\n")
      expect(shown).toMatch(/input {2}'input' float32\[batch, (31|36)\], dynamic batch \(batch\)/)
      expect(shown).toMatch(/action 'action' float32\[batch, 3\]: the graph's only output/)
      expect(shown).toMatch(recipe.layout === "df" ? /observation finrl-stock-trading-df, 31 values/ : /observation finrl-stock-trading-np, 36 values/)
      const card = await quiet(readModelCard(registration.dir))
      if (recipe.layout === "df") {
        // the recipe's JSON carries VecNormalize's statistics to the card unchanged
        expect(card.normalization).toEqual({ ...demoObservationStats(), clip_obs: 5, epsilon: 1e-8 })
      } else {
        expect(card.normalization).toBeUndefined()
      }

      const deploy = path.join(root, `${recipe.algo}.yaml`)
      fs.writeFileSync(
        deploy,
        [`tickers: [${TICKERS.join(", ")}]`, "interval: 5m", `model: ${registration.dir}`, `environment: ${registration.dir}/environment.json`, "data:", `  bars: ${PROJECT}/data/demo`, ""].join("\n")
      )
      const out = path.join(root, `bt-${recipe.algo}`)
      const report = await quiet(runBacktest(deploy, out, { maxSteps: STEPS }).pipe(Effect.provide(NodeContext.layer)))
      expect(report.steps).toBe(STEPS)
      const decisions = ofType(readJournal(fs.readFileSync(path.join(out, "journal.jsonl"))).records, "decision").filter((d) => d.action.length > 0)
      expect(decisions.length).toBeGreaterThanOrEqual(STEPS - 5)

      const journaled = decisions.map((d) => d.action)
      const expected = await torch!.act({ ...policy, observations: decisions.map((d) => d.observation) })
      expect(mismatches(journaled, expected)).toEqual([])
      // a comparison that could not fail would prove nothing: the actions vary, are not all saturated, and trade
      expect(new Set(journaled.map((a) => a.join())).size).toBeGreaterThan(1)
      expect(journaled.flat().some((a) => a !== null && Math.abs(a) < 0.99)).toBe(true)
      expect(decisions.some((d) => d.orders.length > 0)).toBe(true)
    }, 30_000)
  }
})

describe("tools/export recipes refuse what they cannot export, in one line", () => {
  it("a policy of another algorithm, an actor.pth of another ElegantRL version, no stable_baselines3", () => {
    const tools = path.join(PROJECT, "tools/export")
    const ppo = built.ppo.model!
    const probe = python(
      [
        "-c",
        [
          "import sys, torch",
          `sys.path[:0] = [${JSON.stringify(tools)}, ${JSON.stringify(PYTHON_SUPPORT)}, ${JSON.stringify(SB3_STUB)}]`,
          "import stable_baselines3 as sb3, sb3_export",
          `policy = sb3.PPO.load(${JSON.stringify(ppo)}).policy`,
          "for algo in ('sac', 'td3'):",
          "    try:",
          "        sb3_export.action_module(policy, algo); print('exported')",
          "    except ValueError as e:",
          "        print(e)",
          `state = torch.load(${JSON.stringify(built.elegantrl.actor!)})`,
          "state['a_std_log'] = state.pop('action_std_log')",
          `torch.save(state, ${JSON.stringify(path.join(root, "old_actor.pth"))})`
        ].join("\n")
      ]
    )
    expect(probe.stdout.trim().split("\n")).toEqual([
      "sac: the actor has no 'latent_pi': pass model.policy of an SB3 SAC",
      "td3: the actor is not a TD3/DDPG actor (a 'mu' network ending in Tanh): pass model.policy of an SB3 TD3"
    ])
    const old = runPython([path.join(tools, "elegantrl_export.py"), "--actor", path.join(root, "old_actor.pth"), "--out", path.join(root, "old.onnx")])
    expect(old.status).toBe(2)
    expect(old.stderr).toMatch(/^error: the state_dict has keys FinRL's ActorPPO has not \(a_std_log\): export the actor module itself \(export_elegantrl_actor\)\n$/)
    expect(fs.existsSync(path.join(root, "old.onnx"))).toBe(false)
    const noSb3 = runPython([path.join(tools, "sb3_export.py"), "--algo", "ppo", "--model", ppo, "--out", path.join(root, "none.onnx")], { env: { PYTHONPATH: "" } })
    expect(noSb3.status).toBe(2)
    expect(noSb3.stderr).toMatch(/^error: stable_baselines3 is not installed in this Python: run this where the model was trained/)
  }, 30_000)
})
