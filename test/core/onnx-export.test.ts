import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { forward, initParams, paramCount, type MlpSpec } from "../../src/core/mlp.js"
import { BATCH_DIM, ONNX_IR_VERSION, ONNX_OPSET, mlpToOnnx } from "../../src/core/onnx-export.js"
import { decodeModelProto } from "../../src/core/onnx-proto.js"
import { Rng } from "../../src/core/rng.js"

const spec: MlpSpec = { inputSize: 31, hidden: [32, 32], outputSize: 3, activation: "tanh", outputActivation: "tanh" }

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "onnx-export-test-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Export, write to disk, load with onnxruntime, run `batch` rows, return [ortOut, tsOut, session]. */
const roundTrip = async (s: MlpSpec, seed: number, batch: number, file: string) => {
  const rng = new Rng(seed)
  const params = initParams(s, rng)
  // non-zero biases so the bias path is exercised too
  for (let k = 0; k < params.length; k++) if (params[k] === 0) params[k] = 0.3 * rng.normal()
  const bytes = mlpToOnnx(s, params, { inputName: "obs", outputName: "action", producer: "test", docString: "doc" })
  const path = join(dir, file)
  await writeFile(path, bytes)
  const session = await ort.InferenceSession.create(path, { executionProviders: ["cpu"] })
  const x = new Float32Array(batch * s.inputSize)
  for (let k = 0; k < x.length; k++) x[k] = 2 * rng.normal()
  const res = await session.run({ obs: new ort.Tensor("float32", x, [batch, s.inputSize]) })
  const y = res.action
  const expected = new Float32Array(batch * s.outputSize)
  const row = new Float32Array(s.outputSize)
  for (let b = 0; b < batch; b++) {
    forward(s, params, x.subarray(b * s.inputSize, (b + 1) * s.inputSize), row)
    expected.set(row, b * s.outputSize)
  }
  return { session, y, expected, params, bytes }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]))
  return m
}

describe("mlpToOnnx", () => {
  it("loads in onnxruntime and matches forward within 1e-5 (31→32→32→3, tanh out)", async () => {
    const { session, y, expected } = await roundTrip(spec, 42, 5, "a.onnx")
    try {
      expect(session.inputNames).toEqual(["obs"])
      expect(session.outputNames).toEqual(["action"])
      expect(session.inputMetadata).toEqual([{ name: "obs", isTensor: true, type: "float32", shape: [BATCH_DIM, 31] }])
      expect(session.outputMetadata).toEqual([{ name: "action", isTensor: true, type: "float32", shape: [BATCH_DIM, 3] }])
      expect(y.type).toBe("float32")
      expect(y.dims).toEqual([5, 3])
      const ya = y.data as Float32Array
      // sanity: outputs are not all identical / saturated, so the comparison means something
      expect(new Set(Array.from(ya)).size).toBeGreaterThan(10)
      expect(maxAbsDiff(ya, expected)).toBeLessThan(1e-5)
    } finally {
      await session.release()
    }
  })

  it("identity output, no hidden layers, and a batch size different from export-time", async () => {
    for (const [s, batch] of [
      [{ inputSize: 7, hidden: [5], outputSize: 4, activation: "tanh", outputActivation: "identity" }, 9],
      [{ inputSize: 6, hidden: [], outputSize: 2, activation: "tanh", outputActivation: "identity" }, 1],
      [{ inputSize: 3, hidden: [8, 8, 8], outputSize: 1, activation: "tanh", outputActivation: "tanh" }, 17]
    ] as const) {
      const { session, y, expected } = await roundTrip(s, 7, batch, `b${s.hidden.length}.onnx`)
      try {
        expect(y.dims).toEqual([batch, s.outputSize])
        expect(maxAbsDiff(y.data as Float32Array, expected)).toBeLessThan(1e-5)
      } finally {
        await session.release()
      }
    }
  })

  it("detects a wrong layout: perturbing one weight changes the runtime output", async () => {
    const { params, session } = await roundTrip(spec, 3, 1, "c.onnx")
    await session.release()
    const x = new Float32Array(spec.inputSize).fill(0.5)
    const before = forward(spec, params, x)
    params[1] += 0.5 // W_0[0][1]
    const bytes = mlpToOnnx(spec, params, { inputName: "obs", outputName: "action" })
    const s2 = await ort.InferenceSession.create(bytes)
    try {
      const r = await s2.run({ obs: new ort.Tensor("float32", x, [1, spec.inputSize]) })
      const after = forward(spec, params, x)
      expect(maxAbsDiff(before, after)).toBeGreaterThan(1e-4)
      expect(maxAbsDiff(r.action.data as Float32Array, after)).toBeLessThan(1e-5)
    } finally {
      await s2.release()
    }
  })

  it("writes the documented ModelProto header and initializers", () => {
    const rng = new Rng(1)
    const params = initParams(spec, rng)
    const bytes = mlpToOnnx(spec, params, { inputName: "obs", outputName: "action", producer: "p", docString: "d" })
    const m = decodeModelProto(bytes) as any
    expect(m.ir_version).toBe(ONNX_IR_VERSION)
    expect(m.opset_import).toEqual([{ domain: "", version: ONNX_OPSET }])
    expect(m.producer_name).toBe("p")
    expect(m.doc_string).toBe("d")
    expect(JSON.parse(m.metadata_props.find((e: any) => e.key === "mlp_spec").value)).toEqual({ ...spec, hidden: [32, 32] })
    expect(m.graph.node.map((n: any) => n.op_type)).toEqual(["Gemm", "Tanh", "Gemm", "Tanh", "Gemm", "Tanh"])
    const inits = m.graph.initializer as any[]
    expect(inits.map((t) => t.dims)).toEqual([[32, 31], [32], [32, 32], [32], [3, 32], [3]])
    let total = 0
    for (const t of inits) {
      expect(t.data_type).toBe(1)
      const raw = t.raw_data as Uint8Array
      const f = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
      expect(Array.from(f)).toEqual(Array.from(params.subarray(total, total + f.length)))
      total += f.length
    }
    expect(total).toBe(paramCount(spec))
  })

  it("rejects bad inputs", () => {
    const params = new Float32Array(paramCount(spec))
    expect(() => mlpToOnnx(spec, params.subarray(1), { inputName: "a", outputName: "b" })).toThrow(/params/)
    expect(() => mlpToOnnx(spec, params, { inputName: "a", outputName: "a" })).toThrow(/differ/)
    expect(() => mlpToOnnx(spec, params, { inputName: "mlp.l0.weight", outputName: "b" })).toThrow(/reserved/)
    const bad = params.slice()
    bad[3] = NaN
    expect(() => mlpToOnnx(spec, bad, { inputName: "a", outputName: "b" })).toThrow(/finite/)
  })
})
