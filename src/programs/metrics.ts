import { Metric, MetricBoundaries } from "effect"

/** Milliseconds of real time, from a fraction of one up to seconds. */
const latencyBoundaries = MetricBoundaries.fromIterable([0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000])

/** What a session counts, as Effect metrics: any metrics layer (Prometheus endpoint, OTel) can read them. */
export const TradingMetrics = {
  decisions: Metric.counter("rlpt_decisions_total", { description: "decisions made (policy runs)", incremental: true }),
  orders: Metric.counter("rlpt_orders_total", { description: "orders accepted by the broker", incremental: true }),
  fills: Metric.counter("rlpt_fills_total", { description: "fills and partial fills", incremental: true }),
  rejections: Metric.counter("rlpt_rejections_total", { description: "orders the broker refused", incremental: true }),
  actorFailures: Metric.counter("rlpt_actor_failures_total", { description: "ticker actor failures (each restarted with backoff)", incremental: true }),
  policyErrors: Metric.counter("rlpt_policy_errors_total", { description: "steps refused because the policy's action was not finite", incremental: true }),
  reconciliations: Metric.counter("rlpt_reconcile_differences_total", { description: "differences between the ledger and the broker, the broker's adopted", incremental: true }),
  outages: Metric.counter("rlpt_outages_total", { description: "outages of the broker or the market data (each counted once, however long)", incremental: true }),
  brokerDown: Metric.gauge("rlpt_broker_down", { description: "1 while the broker is not answering (the session holds), else 0" }),
  holds: Metric.counter("rlpt_holds_total", { description: "ticker-steps held for a missing or late bar", incremental: true }),
  decisionLatency: Metric.histogram(
    "rlpt_decision_latency_ms",
    latencyBoundaries,
    "real ms from a step's bars being complete (the last one arrived, or the grace ran out) to its decision journaled"
  ),
  firstOrderLatency: Metric.histogram("rlpt_first_order_latency_ms", latencyBoundaries, "real ms from a step's bars being complete to its first order handed to the broker"),
  equity: Metric.gauge("rlpt_equity", { description: "account equity after the last step" }),
  lastDecision: Metric.gauge("rlpt_last_decision_timestamp_seconds", { description: "market time of the last decision" })
}
