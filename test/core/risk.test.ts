import { describe, expect, it } from "vitest"
import type { PlannedOrder } from "../../src/core/actions.js"
import { applyRiskLimits } from "../../src/core/risk.js"

const buy = (index: number, qty: number): PlannedOrder => ({ index, side: "buy", qty })
const sell = (index: number, qty: number): PlannedOrder => ({ index, side: "sell", qty })

describe("applyRiskLimits", () => {
  it("with no limits passes every order through unchanged", () => {
    const orders = [sell(1, 7), buy(0, 1000), buy(2, 3)]
    const r = applyRiskLimits(orders, { prices: [10, 20, 30], holdings: [0, 7, 0] }, {})
    expect(r.orders).toEqual(orders)
    expect(r.adjustments).toEqual([])
  })

  it("max_order_value cuts buys and sells to whole shares within the value", () => {
    const r = applyRiskLimits([sell(0, 10), buy(1, 10), buy(2, 2)], { prices: [30, 7, 40], holdings: [10, 0, 0] }, { maxOrderValue: 100 })
    expect(r.orders).toEqual([sell(0, 3), buy(1, 10), buy(2, 2)])
    expect(r.adjustments).toEqual([{ index: 0, side: "sell", requested: 10, allowed: 3, rule: "max_order_value" }])
  })

  it("max_order_value: floors 99.99 shares to 99; drops an order that cannot afford one share", () => {
    const r = applyRiskLimits([buy(0, 500), buy(1, 5)], { prices: [1.0001, 250], holdings: [0, 0] }, { maxOrderValue: 100 })
    expect(r.orders).toEqual([buy(0, 99)])
    expect(r.adjustments).toEqual([
      { index: 0, side: "buy", requested: 500, allowed: 99, rule: "max_order_value" },
      { index: 1, side: "buy", requested: 5, allowed: 0, rule: "max_order_value" }
    ])
  })

  it("max_position_value limits a buy to the room left in that ticker's position", () => {
    // 200 / 25 − 4 held = 4 more shares
    const r = applyRiskLimits([buy(0, 10)], { prices: [25], holdings: [4] }, { maxPositionValue: 200 })
    expect(r.orders).toEqual([buy(0, 4)])
    expect(r.adjustments).toEqual([{ index: 0, side: "buy", requested: 10, allowed: 4, rule: "max_position_value" }])
  })

  it("max_position_value drops a buy when the position is already over the limit, but never limits a sell", () => {
    const r = applyRiskLimits([sell(0, 5), buy(1, 3)], { prices: [25, 10], holdings: [100, 30] }, { maxPositionValue: 200 })
    expect(r.orders).toEqual([sell(0, 5)])
    expect(r.adjustments).toEqual([{ index: 1, side: "buy", requested: 3, allowed: 0, rule: "max_position_value" }])
  })

  it("max_position_value is per ticker: other positions do not use the room", () => {
    const r = applyRiskLimits([buy(0, 10), buy(1, 10)], { prices: [10, 10], holdings: [0, 15] }, { maxPositionValue: 200 })
    expect(r.orders).toEqual([buy(0, 10), buy(1, 5)])
    expect(r.adjustments).toEqual([{ index: 1, side: "buy", requested: 10, allowed: 5, rule: "max_position_value" }])
  })

  it("max_gross_exposure counts the step's earlier sells and buys", () => {
    // gross 20·50 = 1000; the sell frees 400 → 600; room (1200 − 600) / 10 = 60; then gross 1200 → no room
    const r = applyRiskLimits([sell(1, 20), buy(0, 100), buy(1, 10)], { prices: [10, 20], holdings: [0, 50] }, { maxGrossExposure: 1200 })
    expect(r.orders).toEqual([sell(1, 20), buy(0, 60)])
    expect(r.adjustments).toEqual([
      { index: 0, side: "buy", requested: 100, allowed: 60, rule: "max_gross_exposure" },
      { index: 1, side: "buy", requested: 10, allowed: 0, rule: "max_gross_exposure" }
    ])
  })

  it("max_gross_exposure counts short (negative) holdings by absolute value", () => {
    // |−10|·10 + 5·20 = 200; room (500 − 200) / 30 = 10
    const r = applyRiskLimits([buy(2, 50)], { prices: [10, 20, 30], holdings: [-10, 5, 0] }, { maxGrossExposure: 500 })
    expect(r.orders).toEqual([buy(2, 10)])
  })

  it("max_gross_exposure never limits a sell, even over the limit", () => {
    const r = applyRiskLimits([sell(0, 3)], { prices: [100], holdings: [50] }, { maxGrossExposure: 10 })
    expect(r.orders).toEqual([sell(0, 3)])
    expect(r.adjustments).toEqual([])
  })

  it("applies order value, then position value, then gross exposure, reporting each cut", () => {
    // 50 → 40 (400 / 10) → 25 (300 / 10 − 5) → 20 ((1000 − (5·10 + 60·12.5)) / 10)
    const r = applyRiskLimits(
      [buy(0, 50)],
      { prices: [10, 12.5], holdings: [5, 60] },
      { maxOrderValue: 400, maxPositionValue: 300, maxGrossExposure: 1000 }
    )
    expect(r.orders).toEqual([buy(0, 20)])
    expect(r.adjustments).toEqual([
      { index: 0, side: "buy", requested: 50, allowed: 40, rule: "max_order_value" },
      { index: 0, side: "buy", requested: 40, allowed: 25, rule: "max_position_value" },
      { index: 0, side: "buy", requested: 25, allowed: 20, rule: "max_gross_exposure" }
    ])
  })

  it("max_orders_per_step keeps the first orders (sells come first) and reports the dropped ones", () => {
    const r = applyRiskLimits([sell(0, 1), sell(1, 2), buy(2, 3), buy(3, 4)], { prices: [1, 1, 1, 1], holdings: [1, 2, 0, 0] }, { maxOrdersPerStep: 2 })
    expect(r.orders).toEqual([sell(0, 1), sell(1, 2)])
    expect(r.adjustments).toEqual([
      { index: 2, side: "buy", requested: 3, allowed: 0, rule: "max_orders_per_step" },
      { index: 3, side: "buy", requested: 4, allowed: 0, rule: "max_orders_per_step" }
    ])
  })

  it("max_orders_per_step: an order cut to zero does not take a slot; the dropped order's requested qty is after earlier cuts", () => {
    const r = applyRiskLimits(
      [buy(0, 5), buy(1, 8), buy(2, 9)],
      { prices: [1000, 10, 10], holdings: [0, 0, 0] },
      { maxOrderValue: 50, maxOrdersPerStep: 1 }
    )
    expect(r.orders).toEqual([buy(1, 5)])
    expect(r.adjustments).toEqual([
      { index: 0, side: "buy", requested: 5, allowed: 0, rule: "max_order_value" },
      { index: 1, side: "buy", requested: 8, allowed: 5, rule: "max_order_value" },
      { index: 2, side: "buy", requested: 9, allowed: 5, rule: "max_order_value" },
      { index: 2, side: "buy", requested: 5, allowed: 0, rule: "max_orders_per_step" }
    ])
  })

  it("max_orders_per_step 0 keeps nothing", () => {
    const r = applyRiskLimits([sell(0, 1)], { prices: [1], holdings: [1] }, { maxOrdersPerStep: 0 })
    expect(r.orders).toEqual([])
    expect(r.adjustments).toEqual([{ index: 0, side: "sell", requested: 1, allowed: 0, rule: "max_orders_per_step" }])
  })

  it("orders within every limit are not reported", () => {
    const r = applyRiskLimits(
      [sell(0, 2), buy(1, 3)],
      { prices: [10, 10], holdings: [2, 0] },
      { maxOrderValue: 30, maxPositionValue: 30, maxGrossExposure: 30, maxOrdersPerStep: 2 }
    )
    expect(r.orders).toEqual([sell(0, 2), buy(1, 3)])
    expect(r.adjustments).toEqual([])
  })

  it("does not mutate its inputs", () => {
    const orders = [buy(0, 10)]
    const holdings = [4]
    applyRiskLimits(orders, { prices: [25], holdings }, { maxPositionValue: 200 })
    expect(orders).toEqual([buy(0, 10)])
    expect(holdings).toEqual([4])
  })
})
