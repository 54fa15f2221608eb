import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { parseChaosArgs } from "../../src/chaos/options.js"

describe("chaos options", () => {
  it("parses its flags (declared with @effect/cli); --quick is a smaller run", async () => {
    const parse = (argv: ReadonlyArray<string>) => Effect.runPromise(Effect.either(parseChaosArgs(argv)))
    const right = async (argv: ReadonlyArray<string>) => {
      const r = await parse(argv)
      if (Either.isLeft(r)) throw new Error(`refused ${argv.join(" ")}: ${r.left}`)
      return r.right
    }
    const left = async (argv: ReadonlyArray<string>) => {
      const r = await parse(argv)
      if (Either.isRight(r)) throw new Error(`accepted ${argv.join(" ")}`)
      return r.left
    }
    expect(await right([])).toMatchObject({ seed: 1, sessions: 3, kills: 3, steps: 40, speed: 600, quick: false, freeze: true, outage: true, faultScale: 1 })
    expect(await right(["--quick", "--seed", "7"])).toMatchObject({ seed: 7, sessions: 2, kills: 2, steps: 16, quick: true })
    expect(await right(["--quick", "--sessions", "5"])).toMatchObject({ sessions: 5, kills: 2, quick: true })
    expect(await right(["--no-outage", "--fault-scale", "5.5"])).toMatchObject({ outage: false, faultScale: 5.5 })
    expect(await right(["--no-freeze", "--keep", "--all-endpoints"])).toMatchObject({ freeze: false, keep: true, allEndpoints: true })
    expect(await left(["--fault-scale", "12"])).toBe("--fault-scale must be a number from 0 to 11, got '12'")
    expect(await left(["--fault-scale", "-1"])).toContain("--fault-scale")
    expect(await left(["--steps", "0"])).toBe("--steps must be a whole number ≥ 1, got '0'")
    expect(await left(["--speed", "0"])).toContain("--speed")
    expect(await left(["--bogus"])).toMatch(/--bogus/)
  })
})
