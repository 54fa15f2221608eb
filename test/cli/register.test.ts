import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as ort from "onnxruntime-node"
import { runBacktest } from "../../src/cli/commands.js"
import { register, type RegisterOptions } from "../../src/cli/register.js"
import { readJournal, ofType } from "../../src/domain/Journal.js"
import { readModelCard } from "../../src/layers/OnnxPolicy.js"
import { sb3LikeGraph } from "../support/onnx-graphs.js"
import { PROJECT, tmpTree } from "../support/tmp.js"

const INDICATORS = ["macd", "boll_ub", "boll_lb", "rsi_30", "cci_30", "dx_30", "close_30_sma", "close_60_sma"]
const TICKERS = ["SYNA", "SYNB", "SYNC"]

/** FinRL's env_kwargs for three stocks and eight indicators (state_space 1 + 2·3 + 3·8 = 31). */
const envKwargs = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    hmax: 100,
    initial_amount: 100000,
    num_stock_shares: [0, 0, 0],
    buy_cost_pct: [0.001, 0.001, 0.001],
    sell_cost_pct: [0.001, 0.001, 0.001],
    state_space: 31,
    stock_dim: 3,
    tech_indicator_list: INDICATORS,
    action_space: 3,
    reward_scaling: 1e-4,
    ...over
  })

const setup = (files: Record<string, string | Uint8Array> = {}) =>
  tmpTree({ "policy.onnx": sb3LikeGraph({ observation: 31, actions: 3 }), "env_kwargs.json": envKwargs(), ...files })

const options = (dir: string, over: Partial<RegisterOptions> = {}): RegisterOptions => ({
  onnx: path.join(dir, "policy.onnx"),
  env: path.join(dir, "env_kwargs.json"),
  tickers: TICKERS,
  name: "ppo",
  version: "1",
  registry: path.join(dir, "registry"),
  ...over
})

const run = (o: RegisterOptions) => register(o).pipe(Effect.either, Effect.provide(NodeContext.layer))

const refused = (o: RegisterOptions) =>
  Effect.map(run(o), (r) => {
    if (Either.isRight(r)) throw new Error("expected a refusal")
    return r.left
  })

describe("register", () => {
  it.effect("registers an SB3 export: picks the action output, says which, and the folder loads as a model", () =>
    Effect.gen(function* () {
      const dir = setup()
      const result = yield* run(options(dir))
      if (Either.isLeft(result)) throw new Error(result.left.message)
      const out = result.right.lines.join("\n")
      expect(out).toMatch(/input  'input' float32\[batch_size, 31\], dynamic batch \(batch_size\)/)
      expect(out).toMatch(/action '53' float32\[batch, 3\]: the only output shaped \[batch, 3\]/)
      expect(out).toMatch(/other outputs \(not used\): '54' float32\[1, 1\], '55' float32\[1\]/)
      expect(out).toMatch(/observation finrl-stock-trading-df, 31 values/)
      const registered = path.join(dir, "registry/ppo/1")
      expect(fs.readdirSync(registered).sort()).toEqual(["environment.json", "model.onnx", "model.yaml"])
      expect(fs.readdirSync(path.join(dir, "registry/ppo"))).toEqual(["1"]) // no staging folder left
      const yaml = fs.readFileSync(path.join(registered, "model.yaml"), "utf8")
      expect(yaml).toMatch(/output: "53"/)
      const card = yield* readModelCard(registered)
      expect(card).toMatchObject({ name: "ppo", version: "1", tickers: TICKERS, tech_indicators: INDICATORS, observation: { layout: "finrl-stock-trading-df", size: 31 }, action: { size: 3, hmax: 100 } })
      expect(card.onnx).toMatchObject({ file: "model.onnx", input: "input", output: "53" })
      expect(card.onnx.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(fs.readFileSync(path.join(registered, "model.onnx"))).toEqual(fs.readFileSync(path.join(dir, "policy.onnx")))
    }))

  it.effect("a numeric output name works unquoted in model.yaml too", () =>
    Effect.gen(function* () {
      const dir = setup()
      yield* Effect.orDie(run(options(dir)))
      const file = path.join(dir, "registry/ppo/1/model.yaml")
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('output: "53"', "output: 53"))
      expect((yield* readModelCard(path.join(dir, "registry/ppo/1"))).onnx.output).toBe("53")
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("output: 53", "output: 53.5"))
      const bad = yield* Effect.flip(readModelCard(path.join(dir, "registry/ppo/1")))
      expect(bad.message).toMatch(/quote it/)
    }))

  it.effect("one stock: the action and the values have the same shape; the first is taken and it says so", () =>
    Effect.gen(function* () {
      const dir = setup({
        "policy.onnx": sb3LikeGraph({ observation: 1 + 2 + 8, actions: 1, batch: 1, withoutOutputShapes: true }),
        "env_kwargs.json": envKwargs({ num_stock_shares: [0], buy_cost_pct: [0.001], sell_cost_pct: [0.001], state_space: 11, stock_dim: 1, action_space: 1 })
      })
      const result = yield* run(options(dir, { tickers: ["SYNA"] }))
      if (Either.isLeft(result)) throw new Error(result.left.message)
      const out = result.right.lines.join("\n")
      expect(out).toMatch(/fixed batch of 1/)
      expect(out).toMatch(/action '53' .*the first of 2 outputs shaped \[batch, 1\]: Stable-Baselines3 exports the actions first/)
    }))

  it.effect("reads VecNormalize statistics in SB3's names or model.yaml's, sized to the observation", () =>
    Effect.gen(function* () {
      const stats = (n: number) => ({ mean: Array.from({ length: n }, (_, i) => i), var: Array.from({ length: n }, () => 4) })
      const dir = setup({
        "vecnormalize.json": JSON.stringify({ obs_rms: { ...stats(31), count: 1000 }, clip_obs: 5, epsilon: 1e-8, norm_obs: true, norm_reward: true, clip_reward: 10, gamma: 0.99 }),
        "plain.yaml": `mean: [${stats(31).mean.join(", ")}]\nvar: [${stats(31).var.join(", ")}]\n`,
        "short.yaml": `obs_rms:\n  mean: [1, 2]\n  var: [1, 1]\n`,
        "off.yaml": `obs_rms:\n  mean: [${stats(31).mean.join(", ")}]\n  var: [${stats(31).var.join(", ")}]\nnorm_obs: false\n`
      })
      const result = yield* run(options(dir, { normalization: path.join(dir, "vecnormalize.json") }))
      if (Either.isLeft(result)) throw new Error(result.left.message)
      const card = yield* readModelCard(path.join(dir, "registry/ppo/1"))
      expect(card.normalization).toEqual({ ...stats(31), clip_obs: 5, epsilon: 1e-8 })
      yield* Effect.orDie(run(options(dir, { version: "2", normalization: path.join(dir, "plain.yaml") })))
      expect((yield* readModelCard(path.join(dir, "registry/ppo/2"))).normalization).toEqual({ ...stats(31), clip_obs: 10, epsilon: 1e-8 })
      const short = yield* refused(options(dir, { version: "3", normalization: path.join(dir, "short.yaml") }))
      expect(short.message).toMatch(/short\.yaml:2, field 'obs_rms\.mean': has 2 values, the observation has 31/)
      const off = yield* refused(options(dir, { version: "3", normalization: path.join(dir, "off.yaml") }))
      expect(off.message).toMatch(/field 'norm_obs': is false/)
    }))

  it.effect("checks the sizes: state_space, the graph's input, the tickers; each refusal names both numbers", () =>
    Effect.gen(function* () {
      const dir = setup({ "wide.onnx": sb3LikeGraph({ observation: 40, actions: 3 }), "noss.json": envKwargs({ state_space: undefined }) })
      const state = yield* refused(options(dir, { env: path.join(dir, "noss.json"), onnx: path.join(dir, "wide.onnx") }))
      expect(state.message).toMatch(/the graph's input takes 40 values, but with 3 tickers and 8 indicators FinRL's layouts take 31 \(finrl-stock-trading-df\) or 36 \(finrl-stock-trading-np\)/)
      const input = yield* refused(options(dir, { onnx: path.join(dir, "wide.onnx") }))
      expect(input.message).toMatch(/input 'input' takes 40 values per observation, the environment's layout has 31/)
      const tickers = yield* refused(options(dir, { tickers: ["SYNA", "SYNB"] }))
      expect(tickers.message).toMatch(/field 'stock_dim': is 3, but the deployment trades 2 tickers/)
      const layout = yield* refused(options(dir, { layout: "finrl-stock-trading-np" }))
      expect(layout.message).toMatch(/field 'state_space': is 31, but finrl-stock-trading-np with 3 tickers and 8 indicators has 36/)
      const vix = yield* refused(options(dir, { env: path.join(setup({ "e.json": envKwargs({ risk_indicator_col: "vix" }) }), "e.json") }))
      expect(vix.message).toMatch(/risk_indicator_col.*only turbulence/)
    }))

  it.effect("refuses what is not a model, an output that is not an action, and an existing version", () =>
    Effect.gen(function* () {
      const dir = setup({ "junk.onnx": new Uint8Array([0xff, 0xff, 0xff, 0x01]) })
      const junk = yield* refused(options(dir, { onnx: path.join(dir, "junk.onnx") }))
      expect(junk._tag).toBe("ConfigError")
      expect(junk.message).toMatch(/junk\.onnx: not an ONNX model/)
      const output = yield* refused(options(dir, { output: "54" }))
      expect(output.message).toMatch(/output '54' float32\[1, 1\] is not an action for 3 tickers/)
      yield* Effect.orDie(run(options(dir)))
      const again = yield* refused(options(dir))
      expect(again.message).toMatch(/registry\/ppo\/1: already exists: a registered model is never overwritten/)
      const missing = yield* refused(options(dir, { version: "9", onnx: path.join(dir, "nowhere.onnx") }))
      expect(missing.message).toMatch(/nowhere\.onnx: file not found/)
    }))

  it.effect("a registered SB3 policy with FinRL's env file backtests on the demo bars", () =>
    Effect.gen(function* () {
      const dir = setup()
      yield* Effect.orDie(run(options(dir)))
      fs.writeFileSync(
        path.join(dir, "deploy.yaml"),
        `tickers: [SYNA, SYNB, SYNC]\ninterval: 5m\nmodel: registry/ppo/1\nenvironment: registry/ppo/1/environment.json\ndata:\n  bars: ${PROJECT}/data/demo\n`
      )
      const report = yield* runBacktest(path.join(dir, "deploy.yaml"), path.join(dir, "bt"), { maxSteps: 20 }).pipe(Effect.provide(NodeContext.layer))
      expect(report.steps).toBe(20)
      const decisions = ofType(readJournal(fs.readFileSync(path.join(dir, "bt/journal.jsonl"))).records, "decision")
      expect(decisions).toHaveLength(20)
      // what the backtest journaled is what onnxruntime computes from the journaled observation
      const session = yield* Effect.promise(() => ort.InferenceSession.create(fs.readFileSync(path.join(dir, "registry/ppo/1/model.onnx"))))
      for (const d of decisions) {
        const out = yield* Effect.promise(() => session.run({ input: new ort.Tensor("float32", Float32Array.from(d.observation), [1, 31]) }))
        expect(d.action).toEqual(Array.from(out["53"].data as Float32Array))
      }
    }))
})
