import * as http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, MetricBoundaries } from "effect"
import { MetricsServerLive, renderPrometheus } from "../../src/layers/MetricsServer.js"

const get = (url: string) =>
  Effect.async<{ status: number; body: string }>((resume) => {
    http.get(url, (res) => {
      let body = ""
      res.on("data", (c) => (body += c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
    })
  })

describe("metrics", () => {
  it.effect("renders counters and gauges in Prometheus text format", () =>
    Effect.gen(function* () {
      const counter = Metric.counter("test_things_total", { description: "things", incremental: true })
      const gauge = Metric.gauge("test_level")
      yield* Metric.incrementBy(counter, 3)
      yield* Metric.set(gauge, 42.5)
      const text = yield* renderPrometheus
      expect(text).toContain("# HELP test_things_total things\n# TYPE test_things_total counter\ntest_things_total 3\n")
      expect(text).toContain("# TYPE test_level gauge\ntest_level 42.5\n")
    }))

  it.effect("renders histograms as Prometheus does: cumulative buckets with le, +Inf, _sum and _count", () =>
    Effect.gen(function* () {
      const latency = Metric.histogram("test_latency_ms", MetricBoundaries.fromIterable([1, 5]), "how long")
      for (const v of [0.5, 2, 3, 10]) yield* Metric.update(latency, v)
      const text = yield* renderPrometheus
      expect(text).toContain(
        [
          "# HELP test_latency_ms how long",
          "# TYPE test_latency_ms histogram",
          'test_latency_ms_bucket{le="1"} 1',
          'test_latency_ms_bucket{le="5"} 3',
          'test_latency_ms_bucket{le="+Inf"} 4',
          "test_latency_ms_sum 15.5",
          "test_latency_ms_count 4"
        ].join("\n")
      )
    }))

  it.live("serves /metrics and /healthz on loopback while the layer lives", () =>
    Effect.gen(function* () {
      const port = 20000 + Math.floor(Math.random() * 20000)
      yield* Metric.increment(Metric.counter("test_served_total", { incremental: true }))
      const served = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(MetricsServerLive(port))
          return [yield* get(`http://127.0.0.1:${port}/metrics`), yield* get(`http://127.0.0.1:${port}/healthz`)] as const
        })
      )
      expect(served[0].status).toBe(200)
      expect(served[0].body).toMatch(/^test_served_total 1$/m)
      expect(served[1].body).toBe("ok\n")
    }))
})
