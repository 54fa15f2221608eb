import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { mlpToOnnx } from "../../src/core/onnx-export.js"
import { chooseActionOutput, inspectOnnx, observationInput, type GraphInfo, type ObservedOutput } from "../../src/core/onnx-inspect.js"
import { probeOnnx } from "../../src/layers/OnnxProbe.js"
import { sb3LikeGraph } from "../support/onnx-graphs.js"

const graphOf = (bytes: Uint8Array): GraphInfo => {
  const g = inspectOnnx(bytes)
  if (typeof g === "string") throw new Error(g)
  return g
}

describe("inspectOnnx", () => {
  it("reads a Stable-Baselines3-like export: one input, three outputs with torch's numeric names", () => {
    const g = graphOf(sb3LikeGraph({ observation: 31, actions: 3 }))
    expect(g.inputs).toEqual([{ name: "input", elemType: 1, dims: ["batch_size", 31] }])
    expect(g.outputs.map((o) => [o.name, o.dims])).toEqual([["53", ["batch_size", 3]], ["54", ["batch_size", 1]], ["55", ["batch_size"]]])
    expect(g.producer).toBe("pytorch")
  })

  it("leaves out initializers listed as inputs, and reads the project's own export", () => {
    const spec = { inputSize: 4, hidden: [3], outputSize: 2, activation: "tanh" as const, outputActivation: "tanh" as const }
    const g = graphOf(mlpToOnnx(spec, new Float32Array(4 * 3 + 3 + 3 * 2 + 2).fill(0.1), { inputName: "obs", outputName: "action" }))
    expect(g.inputs.map((i) => i.name)).toEqual(["obs"])
    expect(g.outputs.map((o) => o.name)).toEqual(["action"])
  })

  it("refuses bytes that are not ONNX", () => {
    expect(inspectOnnx(new Uint8Array([1, 2, 3, 4, 5]))).toMatch(/not an ONNX model/)
  })
})

describe("observationInput", () => {
  it("takes float32[batch, size] with a dynamic or fixed-1 batch, and names what does not fit", () => {
    expect(observationInput(graphOf(sb3LikeGraph({ observation: 31, actions: 3 })), 31)).toMatchObject({ name: "input" })
    expect(observationInput(graphOf(sb3LikeGraph({ observation: 31, actions: 3, batch: 1 })), 31)).toMatchObject({ name: "input" })
    expect(observationInput(graphOf(sb3LikeGraph({ observation: 31, actions: 3 })), 36)).toBe("input 'input' takes 31 values per observation, the environment's layout has 36")
    expect(observationInput(graphOf(sb3LikeGraph({ observation: 31, actions: 3, batch: 8 })), 31)).toMatch(/fixed batch of 8/)
  })
})

describe("chooseActionOutput", () => {
  const sb3 = (n: number): ReadonlyArray<ObservedOutput> => [
    { name: "53", type: "float32", dims: [1, n] },
    { name: "54", type: "float32", dims: [1, 1] },
    { name: "55", type: "float32", dims: [1] }
  ]

  it("picks the actions of SB3's three outputs and says why", () => {
    const choice = chooseActionOutput(sb3(3), 3)
    expect(choice).toEqual({ name: "53", reason: expect.stringContaining("the only output shaped [batch, 3]") })
  })

  it("with one stock the values have the action's shape too: the first (SB3's order) wins, and it says so", () => {
    const choice = chooseActionOutput(sb3(1), 1)
    expect(typeof choice === "object" && choice.name).toBe("53")
    expect(typeof choice === "object" && choice.reason).toMatch(/first of 2 outputs .*Stable-Baselines3 exports the actions first.*--output/)
  })

  it("--output picks by name, checked; nothing fitting names every output", () => {
    expect(chooseActionOutput(sb3(3), 3, "53")).toEqual({ name: "53", reason: "as asked (--output)" })
    expect(chooseActionOutput(sb3(3), 3, "54")).toMatch(/'54' float32\[1, 1\] is not an action for 3 tickers/)
    expect(chooseActionOutput(sb3(3), 3, "99")).toMatch(/no output '99'.*'53', '54', '55'/)
    expect(chooseActionOutput(sb3(3), 4)).toMatch(/no output is an action for 4 tickers.*'53' float32\[1, 3\]/)
  })
})

describe("probeOnnx", () => {
  it("runs the graph once with onnxruntime and gives every output's real shape, stated or not", async () => {
    const outputs = await Effect.runPromise(probeOnnx(sb3LikeGraph({ observation: 7, actions: 2, withoutOutputShapes: true }), { name: "input", size: 7 }))
    expect(outputs).toEqual([
      { name: "53", type: "float32", dims: [1, 2] },
      { name: "54", type: "float32", dims: [1, 1] },
      { name: "55", type: "float32", dims: [1] }
    ])
    expect(chooseActionOutput(outputs, 2)).toMatchObject({ name: "53" })
  })

  it("fails with onnxruntime's reason for a graph it cannot run", async () => {
    const error = await Effect.runPromise(Effect.flip(probeOnnx(sb3LikeGraph({ observation: 7, actions: 2 }), { name: "obs", size: 7 })))
    expect(error).toMatch(/onnxruntime cannot run it/)
  })
})
