import { describe, expect, it } from "vitest"
import { pyFloorDiv } from "../../src/core/pyfloat.js"

// [a, b, a // b] — the right-hand values printed by CPython 3.11 (`repr(a // b)`).

/** Cases where Math.floor(a / b) is one more than Python (the quotient rounds up to an integer). */
const floorDiffers: ReadonlyArray<readonly [number, number, number]> = [
  [1.0, 0.1, 9.0],
  [2.0, 0.2, 9.0],
  [0.5, 0.1, 4.0],
  [100.0, 0.1, 999.0],
  [-1.0, -0.1, 9.0],
  [699.3, 0.06, 11654.0],
  [-191.0, -0.2, 954.0],
  [528.0, -0.6, -881.0],
  [481.0, 0.04, 12024.0],
  [665.6, 3.2, 207.0],
  [175.0, 0.008, 21874.0],
  [151.47, -0.03, -5050.0],
  [-534.0, -8.9, 59.0],
  [748.4, 0.08, 9354.0],
  [468.0, -15.6, -31.0],
  [-880.0, -0.4, 2199.0],
  [999.0, 1.35, 739.0],
  [-38.0, -0.38, 99.0],
  // cash // (price · (1 + 0.001)), as FinRL sizes a buy
  [31991.96, 319.6 * 1.001, 99.0],
  [19189.17, 1.8 * 1.001, 10649.0],
  [18118.1, 1.81 * 1.001, 9999.0]
]

/** Cases where (a − fmod(a, b)) / b is not integral and must be snapped to the nearest integer. */
const snapped: ReadonlyArray<readonly [number, number, number]> = [
  [73.3, 2.545, 28.0], // (a − mod) / b = 27.999999999999996
  [-64.75, 0.62, -105.0], // −105.00000000000001
  [-62.0, 1.9924, -32.0], // −31.999999999999996
  [-6.003, -1.6, 3.0], // 3.0000000000000004
  [-74.72, 1.2, -63.0] // −62.99999999999999
]

/** Ordinary cases, all signs. */
const ordinary: ReadonlyArray<readonly [number, number, number]> = [
  [0.7, 0.1, 6.0],
  [0.3, 0.1, 2.0],
  [4.35, 0.05, 86.0],
  [-0.7, 0.1, -7.0],
  [5.0, 2.0, 2.0],
  [-5.0, 2.0, -3.0],
  [5.0, -2.0, -3.0],
  [-5.0, -2.0, 2.0],
  [7.5, 2.5, 3.0],
  [-7.5, 2.5, -3.0],
  [1.0, -0.1, -10.0],
  [-1.0, 0.1, -10.0],
  [3.0, 0.3, 10.0],
  [1e6, 3.0, 333333.0],
  [-1e6, 3.0, -333334.0],
  [2 ** 60, 3.0, 384307168202282300],
  [1e-300, 1e10, 0],
  [-1e-300, 1e10, -1.0],
  [1.0, Infinity, 0],
  [-1.0, Infinity, -1.0],
  [1.0, -Infinity, -1.0]
]

describe("pyFloorDiv", () => {
  it.each(floorDiffers)("%s // %s == %s (where Math.floor(a / b) is off by one)", (a, b, q) => {
    expect(Math.floor(a / b)).toBe(q + 1)
    expect(pyFloorDiv(a, b)).toBe(q)
  })

  it.each(snapped)("%s // %s == %s (quotient snapped to the nearest integer)", (a, b, q) => {
    expect(pyFloorDiv(a, b)).toBe(q)
  })

  it.each(ordinary)("%s // %s == %s", (a, b, q) => {
    expect(pyFloorDiv(a, b)).toBe(q)
  })

  it("returns zero with the sign of the true quotient (CPython copysign(0, a / b))", () => {
    expect(Object.is(pyFloorDiv(0, 1), 0)).toBe(true)
    expect(Object.is(pyFloorDiv(-0, 1), -0)).toBe(true)
    expect(Object.is(pyFloorDiv(0, -1), -0)).toBe(true)
    expect(Object.is(pyFloorDiv(-0, -1), 0)).toBe(true)
    expect(Object.is(pyFloorDiv(3, 7), 0)).toBe(true)
    expect(Object.is(pyFloorDiv(-3, -7), 0)).toBe(true)
    expect(Object.is(pyFloorDiv(1e-300, 1e10), 0)).toBe(true)
  })

  it("is NaN for an infinite or NaN dividend, as in Python", () => {
    expect(pyFloorDiv(Infinity, 1)).toBeNaN()
    expect(pyFloorDiv(NaN, 1)).toBeNaN()
    expect(pyFloorDiv(1, NaN)).toBeNaN()
  })

  it("throws on division by zero (ZeroDivisionError in Python)", () => {
    expect(() => pyFloorDiv(1, 0)).toThrow(RangeError)
    expect(() => pyFloorDiv(0, 0)).toThrow(RangeError)
    expect(() => pyFloorDiv(-5, -0)).toThrow(RangeError)
  })
})
