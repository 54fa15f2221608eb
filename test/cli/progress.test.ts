import { Writable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import { SingleBar } from "cli-progress"
import { Effect, Layer } from "effect"
import { vi } from "vitest"
import { makeTerminalProgress } from "../../src/cli/progress.js"
import { withSimClock } from "../../src/layers/SimClock.js"
import { runSession } from "../../src/programs/session.js"
import { Progress, type ProgressService } from "../../src/services/Progress.js"
import { definitionsOf, randomBars, testCard, tradeSettings } from "../support/fixtures.js"
import { simWorld } from "../support/sim-world.js"
import { Policy } from "../../src/services/Policy.js"

/** A stream that says it is (or is not) a terminal and keeps what is written to it. */
const terminal = (isTTY: boolean) => {
  const writes: Array<string> = []
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, callback) {
        writes.push(String(chunk))
        callback()
      }
    }),
    { isTTY, columns: 120 }
  )
  return { stream, text: () => writes.join("") }
}

/** The `value/total` pairs drawn. */
const drawn = (text: string, total: number) => [...new Set([...text.matchAll(new RegExp(`(\\d+)/${total}\\b`, "g"))].map((m) => Number(m[1])))]

describe("the terminal progress bar", () => {
  it.effect("draws nothing when the stream is not a terminal", () =>
    Effect.gen(function* () {
      const out = terminal(false)
      const progress = makeTerminalProgress({ stream: out.stream })
      yield* progress.start("backtest", 10)
      for (let i = 0; i < 10; i++) yield* progress.advance(1, "2026-02-17")
      yield* progress.done
      expect(out.text()).toBe("")
    }))

  it.effect("redraws at most once per interval of wall time, and shows the end at done", () =>
    Effect.gen(function* () {
      const out = terminal(true)
      let wall = 0
      const progress = makeTerminalProgress({ stream: out.stream, now: () => wall, everyMs: 100 })
      const updates = vi.spyOn(SingleBar.prototype, "update")
      yield* progress.start("backtest", 250)
      // no wall time passes: no redraw
      for (let i = 0; i < 249; i++) yield* progress.advance(1, "2026-02-17")
      expect(updates).not.toHaveBeenCalled()
      wall += 100
      yield* progress.advance(1, "2026-02-18")
      expect(updates).toHaveBeenCalledTimes(1)
      yield* progress.done
      updates.mockRestore()
      expect(out.text()).toContain("backtest [")
      expect(out.text()).toContain("2026-02-18")
      expect(drawn(out.text(), 250).sort((a, b) => a - b)).toEqual([0, 250])
    }))

  it.effect("with no known total, counts what is done", () =>
    Effect.gen(function* () {
      const out = terminal(true)
      const progress = makeTerminalProgress({ stream: out.stream, now: () => 0 })
      yield* progress.start("download", undefined)
      yield* progress.advance(3, "AAA 2026-01-01 → 2026-02-01")
      yield* progress.done
      expect(out.text()).toContain("download  3 done  AAA 2026-01-01 → 2026-02-01")
    }))

  it.effect("a backtest reports every bar it replays, the total counted up front", () =>
    Effect.gen(function* () {
      const tickers = ["AAA", "BBB"]
      const indicators = ["close_5_sma"]
      const rules = { hmax: 10, buyCostPct: 0.001, sellCostPct: 0.001 }
      const policy = Layer.succeed(Policy, Policy.of({ card: testCard(tickers, indicators, rules.hmax), modelDir: "test", act: () => Effect.succeed(Float32Array.from([0.5, -0.5])) }))
      const bars = randomBars(tickers, 40, 3)
      const start = bars.get("AAA")![10].time
      const seen: Array<string> = []
      const recorder: ProgressService = {
        start: (label, total) => Effect.sync(() => void seen.push(`start ${label} ${total}`)),
        advance: (n) => Effect.sync(() => void seen.push(`+${n}`)),
        done: Effect.sync(() => void seen.push("done"))
      }
      const world = simWorld({ bars, tickers, definitions: definitionsOf(indicators), rules, policy })
      yield* runSession(tradeSettings("p", rules)).pipe(withSimClock(start), Effect.provide(world.layer), Effect.provide(Layer.succeed(Progress, recorder)))
      // the bars from the start on: 30 of them, each reported once
      expect(seen[0]).toBe("start backtest 30")
      expect(seen.filter((s) => s === "+1")).toHaveLength(30)
      expect(seen[seen.length - 1]).toBe("done")
    }))
})
