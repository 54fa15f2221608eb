import * as http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, MetricBoundaries } from "effect"
import { MetricsServerLive, renderPrometheus } from "../../src/layers/MetricsServer.js"
import { TradingMetrics } from "../../src/programs/metrics.js"

const get = (url: string) =>
  Effect.async<{ status: number; type: string; body: string }>((resume) => {
    http.get(url, (res) => {
      let body = ""
      res.on("data", (c) => (body += c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body })))
    })
  })

describe("metrics through OpenTelemetry's Prometheus exporter", () => {
  it.effect("renders counters and gauges in Prometheus text format, a counter's name kept as declared", () =>
    Effect.gen(function* () {
      const counter = Metric.counter("test_things_total", { description: "things", incremental: true })
      const gauge = Metric.gauge("test_level", { description: "a level" })
      yield* Metric.incrementBy(counter, 3)
      yield* Metric.set(gauge, 42.5)
      const text = yield* renderPrometheus
      expect(text).toContain("# HELP test_things_total things\n# TYPE test_things_total counter\ntest_things_total 3\n")
      expect(text).toContain("# HELP test_level a level\n# TYPE test_level gauge\ntest_level 42.5\n")
      // who the metrics are about, and no scope label on every series
      expect(text).toMatch(/^target_info\{service_name="rl-paper-trader",/m)
      expect(text).not.toContain("otel_scope_name")
    }))

  it.effect("renders histograms as Prometheus does: cumulative buckets with le, +Inf, _sum and _count; the unit the name says", () =>
    Effect.gen(function* () {
      const latency = Metric.histogram("test_latency_ms", MetricBoundaries.fromIterable([1, 5]), "how long")
      for (const v of [0.5, 2, 3, 10]) yield* Metric.update(latency, v)
      const text = yield* renderPrometheus
      expect(text).toContain(
        [
          "# HELP test_latency_ms how long",
          "# UNIT test_latency_ms ms",
          "# TYPE test_latency_ms histogram",
          "test_latency_ms_count 4",
          "test_latency_ms_sum 15.5",
          'test_latency_ms_bucket{le="1"} 1',
          'test_latency_ms_bucket{le="5"} 3',
          'test_latency_ms_bucket{le="+Inf"} 4'
        ].join("\n")
      )
    }))

  it.effect("an Effect tag is a label, escaped; one series per tag value", () =>
    Effect.gen(function* () {
      const orders = Metric.counter("test_orders_total", { description: "orders", incremental: true })
      yield* Metric.increment(Metric.tagged(orders, "ticker", 'A"B'))
      yield* Metric.incrementBy(Metric.tagged(orders, "ticker", "C"), 2)
      const text = yield* renderPrometheus
      expect(text).toContain('# TYPE test_orders_total counter\ntest_orders_total{ticker="A\\"B"} 1\ntest_orders_total{ticker="C"} 2\n')
    }))

  it.effect("every documented rlpt_ metric keeps its name, type and help text", () =>
    Effect.gen(function* () {
      for (const metric of Object.values(TradingMetrics)) yield* Metric.update(metric as Metric.Metric<unknown, number, unknown>, 1)
      const text = yield* renderPrometheus
      const documented: ReadonlyArray<readonly [string, string]> = [
        ["rlpt_decisions_total", "counter"],
        ["rlpt_orders_total", "counter"],
        ["rlpt_fills_total", "counter"],
        ["rlpt_rejections_total", "counter"],
        ["rlpt_actor_failures_total", "counter"],
        ["rlpt_policy_errors_total", "counter"],
        ["rlpt_reconcile_differences_total", "counter"],
        ["rlpt_outages_total", "counter"],
        ["rlpt_broker_down", "gauge"],
        ["rlpt_holds_total", "counter"],
        ["rlpt_decision_latency_ms", "histogram"],
        ["rlpt_first_order_latency_ms", "histogram"],
        ["rlpt_equity", "gauge"],
        ["rlpt_last_decision_timestamp_seconds", "gauge"]
      ]
      const typed = [...text.matchAll(/^# TYPE (rlpt_\S+) (\S+)$/gm)].map((m) => [m[1], m[2]] as const)
      expect([...typed].sort()).toEqual([...documented].sort())
      expect(text).toContain("# HELP rlpt_decisions_total decisions made (policy runs)\n")
      expect(text).toMatch(/^rlpt_decision_latency_ms_bucket\{le="0.25"\} \d+$/m)
    }))

  it.live("serves /metrics, /healthz and /status on loopback while the layer lives; /status says when no session is attached", () =>
    Effect.gen(function* () {
      const port = 20000 + Math.floor(Math.random() * 20000)
      yield* Metric.increment(Metric.counter("test_served_total", { incremental: true }))
      const [metrics, healthz, status, missing] = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(MetricsServerLive(port))
          const base = `http://127.0.0.1:${port}`
          return yield* Effect.all([get(`${base}/metrics`), get(`${base}/healthz`), get(`${base}/status`), get(`${base}/nothing`)])
        })
      )
      expect(metrics.status).toBe(200)
      expect(metrics.type).toBe("text/plain; version=0.0.4; charset=utf-8")
      expect(metrics.body).toMatch(/^test_served_total 1$/m)
      expect(healthz.body).toBe("ok\n")
      expect(status.status).toBe(503)
      expect(JSON.parse(status.body).error).toMatch(/no session yet/)
      expect(missing.status).toBe(404)
    }))
})
