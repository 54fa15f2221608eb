import * as http from "node:http"
import { Data, Effect, Layer, Metric, MetricState, Option, Runtime } from "effect"

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

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/** Renders Effect's counters, gauges and histograms in Prometheus' text format. */
export const renderPrometheus = Effect.map(Metric.snapshot, (pairs) => {
  const lines: Array<string> = []
  for (const pair of [...pairs].sort((a, b) => a.metricKey.name.localeCompare(b.metricKey.name))) {
    const state = pair.metricState
    const kind = MetricState.isCounterState(state) ? "counter" : MetricState.isGaugeState(state) ? "gauge" : MetricState.isHistogramState(state) ? "histogram" : undefined
    if (kind === undefined) continue
    const name = pair.metricKey.name
    const tags = pair.metricKey.tags.map((t) => `${t.key}="${escape(t.value)}"`)
    const labelled = (suffix: string, extra: Array<string> = []) => {
      const all = [...tags, ...extra]
      return `${name}${suffix}${all.length === 0 ? "" : `{${all.join(",")}}`}`
    }
    const help = Option.getOrUndefined(pair.metricKey.description)
    if (help !== undefined) lines.push(`# HELP ${name} ${help}`)
    lines.push(`# TYPE ${name} ${kind}`)
    if (MetricState.isHistogramState(state)) {
      // Effect's buckets are already cumulative (observations ≤ each boundary), as Prometheus' are
      for (const [boundary, count] of state.buckets) lines.push(`${labelled("_bucket", [`le="${Number.isFinite(boundary) ? boundary : "+Inf"}"`])} ${count}`)
      if (!state.buckets.some(([boundary]) => !Number.isFinite(boundary))) lines.push(`${labelled("_bucket", ['le="+Inf"'])} ${state.count}`)
      lines.push(`${labelled("_sum")} ${state.sum}`)
      lines.push(`${labelled("_count")} ${state.count}`)
      continue
    }
    const value = MetricState.isCounterState(state) ? state.count : (state as MetricState.MetricState.Gauge<number>).value
    lines.push(`${labelled("")} ${Number(value)}`)
  }
  return lines.join("\n") + "\n"
})

/** Serves `/metrics` (Prometheus text) and `/healthz` on 127.0.0.1:port while the layer lives. */
export const MetricsServerLive = (port: number): Layer.Layer<never, MetricsServerError> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<never>()
      const server = http.createServer((req, res) => {
        if (req.url === "/healthz") {
          res.writeHead(200, { "content-type": "text/plain" }).end("ok\n")
          return
        }
        if (req.url !== "/metrics") {
          res.writeHead(404).end()
          return
        }
        Runtime.runPromise(runtime)(renderPrometheus).then(
          (body) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body),
          () => res.writeHead(500).end()
        )
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
      yield* Effect.logInfo("metrics served").pipe(Effect.annotateLogs({ url: `http://127.0.0.1:${port}/metrics` }))
    })
  )
