import { describe, expect, it } from "vitest"
import { Rng } from "../../src/core/rng.js"

const take = (r: Rng, n: number, f: (r: Rng) => number) => Array.from({ length: n }, () => f(r))

describe("Rng (xoshiro128**)", () => {
  it("matches the xoshiro128** reference (C, uint32 arithmetic) from state [1, 2, 3, 4]", () => {
    const r = Rng.fromState({ s: [1, 2, 3, 4], spare: null })
    // out0 = rotl(2*5, 7)*9 = 11520; s1 becomes 0 so out1 = 0; the rest from the C reference
    expect(take(r, 6, (x) => x.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492])
  })

  it("same seed → same sequence; different seed or stream → different sequence", () => {
    const a = take(new Rng(123), 1000, (r) => r.nextUint32())
    expect(take(new Rng(123), 1000, (r) => r.nextUint32())).toEqual(a)
    expect(take(new Rng(124), 1000, (r) => r.nextUint32())).not.toEqual(a)
    expect(take(new Rng(123, 1), 1000, (r) => r.nextUint32())).not.toEqual(a)
    // high bits of large seeds matter
    expect(take(new Rng(2 ** 40 + 5), 10, (r) => r.nextUint32())).not.toEqual(take(new Rng(5), 10, (r) => r.nextUint32()))
    // outputs are uint32 and not degenerate
    expect(a.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true)
    expect(new Set(a).size).toBe(1000)
  })

  it("uniform() is in [0, 1) with mean ≈ 0.5", () => {
    const xs = take(new Rng(7), 100_000, (r) => r.uniform())
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005)
  })

  it("normal(): 100k draws have mean ≈ 0, std ≈ 1, and ~68.3% within 1σ", () => {
    const xs = take(new Rng(99), 100_000, (r) => r.normal())
    const n = xs.length
    const mean = xs.reduce((s, x) => s + x, 0) / n
    const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1))
    const within1 = xs.filter((x) => Math.abs(x) < 1).length / n
    expect(Math.abs(mean)).toBeLessThan(0.01) // SE ≈ 0.0032
    expect(Math.abs(std - 1)).toBeLessThan(0.01) // SE ≈ 0.0022
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.006)
    expect(xs.every(Number.isFinite)).toBe(true)
  })

  it("int(n) stays in range, hits every value roughly uniformly, rejects bad n", () => {
    const r = new Rng(5)
    const counts = new Array(7).fill(0)
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500)
    expect(take(r, 100, (x) => x.int(1)).every((v) => v === 0)).toBe(true)
    const big = take(r, 1000, (x) => x.int(2 ** 32))
    expect(big.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)).toBe(true)
    expect(() => r.int(0)).toThrow(RangeError)
    expect(() => r.int(2.5)).toThrow(RangeError)
  })

  it("getState/setState/clone reproduce the stream, including the cached normal spare", () => {
    const r = new Rng(42)
    r.normal() // leaves a spare cached
    const snap = r.getState()
    expect(snap.spare).not.toBeNull()
    const c = r.clone()
    const expected = take(r, 11, (x) => x.normal())
    expect(take(c, 11, (x) => x.normal())).toEqual(expected)
    expect(take(Rng.fromState(JSON.parse(JSON.stringify(snap))), 11, (x) => x.normal())).toEqual(expected)
    expect(() => Rng.fromState({ s: [0, 0, 0, 0], spare: null })).toThrow(RangeError)
  })

  it("shuffle is a seeded permutation", () => {
    const base = Array.from({ length: 50 }, (_, i) => i)
    const a = new Rng(1).shuffle(base.slice())
    expect(new Rng(1).shuffle(base.slice())).toEqual(a)
    expect(a.slice().sort((x, y) => x - y)).toEqual(base)
    expect(a).not.toEqual(base)
  })
})
