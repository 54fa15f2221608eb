import * as http from "node:http"
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { Data, Effect, Layer, Runtime, type Scope } from "effect"
import { StatusBoard } from "../services/StatusBoard.js"

/** The metrics port cannot be served: in use, not allowed, or not a port. */
export class MetricsServerError extends Data.TaggedError("MetricsServerError")<{ readonly port: number; readonly detail: string }> {
  override get message() {
    return `cannot serve metrics on 127.0.0.1:${this.port} (--metrics-port): ${this.detail}`
  }
}

const listenProblem = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === "EADDRINUSE"
    ? "the port is already in use (another process, or another session's metrics)"
    : code === "EACCES"
      ? "permission denied (ports below 1024 need privileges)"
      : code === "ERR_SOCKET_BAD_PORT"
        ? "not a port: it must be a whole number from 1 to 65535"
        : `${code === undefined ? "" : `${code}: `}${(e as Error).message ?? String(e)}`
}

/** Who the metrics are about: `target_info{service_name="rl-paper-trader"}`. */
const resource = OtelResource.layer({ serviceName: "rl-paper-trader" })

/**
 * The bridge names every unit "1" (OpenMetrics' `# UNIT`, which Prometheus ignores): say the unit
 * a name ends with instead, or none.
 */
const withNamedUnits = (metrics: ResourceMetrics): ResourceMetrics => ({
  ...metrics,
  scopeMetrics: metrics.scopeMetrics.map((scope) => ({
    ...scope,
    metrics: scope.metrics.map((m) => ({ ...m, descriptor: { ...m.descriptor, unit: /_ms$/.test(m.descriptor.name) ? "ms" : /_seconds$/.test(m.descriptor.name) ? "seconds" : "" } }))
  }))
})

/** Series keep the labels they always had: no `otel_scope_name` on each. */
const serializer = new PrometheusSerializer(undefined, false, undefined, false, true)

/**
 * Effect's metrics (counters, gauges, histograms, with their tags) read through OpenTelemetry:
 * @effect/opentelemetry's producer on the Prometheus exporter's reader, in Prometheus' text format.
 */
export const makePrometheusReader: Effect.Effect<Effect.Effect<string>, never, Scope.Scope> = Effect.gen(function* () {
  const reader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true })
  const producer = yield* OtelMetrics.makeProducer.pipe(Effect.provide(resource))
  yield* OtelMetrics.registerProducer(producer, () => reader)
  return Effect.promise(() => reader.collect()).pipe(Effect.map(({ resourceMetrics }) => serializer.serialize(withNamedUnits(resourceMetrics))))
})

/** Every Effect metric of the process, in Prometheus' text format, as `/metrics` serves it. */
export const renderPrometheus: Effect.Effect<string> = Effect.scoped(Effect.flatten(makePrometheusReader))

const send = (res: http.ServerResponse, status: number, type: string, body: string) => res.writeHead(status, { "content-type": type }).end(body)

/**
 * Serves `/metrics` (Prometheus text), `/healthz` and `/status` (the session's live status as JSON,
 * from the StatusBoard; 503 until a session is attached) on 127.0.0.1:port while the layer lives.
 */
export const MetricsServerLive = (port: number): Layer.Layer<never, MetricsServerError> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<never>()
      const board = yield* StatusBoard
      const metrics = yield* makePrometheusReader
      const answer = <A>(res: http.ServerResponse, effect: Effect.Effect<A>, reply: (a: A) => void) =>
        Runtime.runPromise(runtime)(effect).then(reply, () => res.writeHead(500).end())
      const server = http.createServer((req, res) => {
        const path = (req.url ?? "").split("?")[0]
        if (path === "/healthz") return send(res, 200, "text/plain", "ok\n")
        if (path === "/metrics") return answer(res, metrics, (body) => send(res, 200, "text/plain; version=0.0.4; charset=utf-8", body))
        if (path === "/status") {
          return answer(res, board.report, (report) =>
            report === undefined
              ? send(res, 503, "application/json", JSON.stringify({ error: "no session yet: it is starting (reading the journal, the broker, the warm-up bars)" }) + "\n")
              : send(res, 200, "application/json", JSON.stringify(report, null, 2) + "\n")
          )
        }
        res.writeHead(404).end()
      })
      yield* Effect.acquireRelease(
        Effect.async<void, MetricsServerError>((resume) => {
          const failed = (e: unknown) => resume(Effect.fail(new MetricsServerError({ port, detail: listenProblem(e) })))
          server.once("error", failed)
          // a bad port throws here rather than emitting "error"
          try {
            server.listen(port, "127.0.0.1", () => resume(Effect.void))
          } catch (e) {
            failed(e)
          }
        }),
        () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      yield* Effect.logInfo("metrics served").pipe(Effect.annotateLogs({ url: `http://127.0.0.1:${port}/metrics`, status: `http://127.0.0.1:${port}/status` }))
    })
  )
