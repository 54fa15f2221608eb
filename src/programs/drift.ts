import { Effect, Metric } from "effect"
import { type DriftSettings, DriftMonitor, type FeatureDrift } from "../core/drift.js"
import { formatUtc } from "../core/nytime.js"
import type { ModelCard } from "../domain/Model.js"
import { Journal, type JournalError } from "../services/Journal.js"

/** The drift alarms' metrics, as Effect metrics (tagged by feature where they are per feature). */
export const DriftMetrics = {
  psi: Metric.gauge("rlpt_feature_psi", { description: "rolling population stability index of an observation feature against its training bins (set once the window is full)" }),
  outOfRange: Metric.counter("rlpt_feature_out_of_range_total", { description: "observations with a feature outside its training range", incremental: true }),
  active: Metric.gauge("rlpt_drift_active", { description: "1 while a drift episode lasts (some feature outside its training statistics), else 0" })
}

export interface DriftWatch {
  /** Checks one raw observation (before normalisation), decided on the bar at `barTime`, at `time` (epoch ms). */
  readonly check: (observation: ArrayLike<number>, barTime: number, time: number) => Effect.Effect<void, JournalError>
  /** Whether the card has training statistics (without them every check does nothing). */
  readonly enabled: boolean
}

const describe = (features: ReadonlyArray<FeatureDrift>): string =>
  features.map((f) => `${f.feature} ${f.reason === "out_of_range" ? `= ${f.value ?? "not finite"} outside [${f.min}, ${f.max}]` : `PSI ${f.psi?.toFixed(2)}`}`).join("; ")

/**
 * Watches a session's observations for drift from the card's `observation_stats`: feeds a
 * {@link DriftMonitor}, journals `drift` once when an episode starts (naming the features) and
 * `drift_end` when it is over, logs a warning at the start and for features that join a running
 * episode, and keeps the metrics. `names` are the observation's feature names
 * (`observationFeatureNames`); a card without statistics gives a watch that does nothing.
 */
export const makeDriftWatch = (card: ModelCard, names: ReadonlyArray<string>, options: Partial<DriftSettings> = {}) =>
  Effect.gen(function* () {
    const journal = yield* Journal
    const stats = card.observation_stats
    if (stats === undefined) return { enabled: false, check: () => Effect.void } satisfies DriftWatch
    const monitor = new DriftMonitor(stats, options)
    const nameOf = (i: number) => names[i] ?? stats.features[i].name
    const named = (f: FeatureDrift): FeatureDrift => ({ ...f, feature: nameOf(f.index) })
    const psiGauges = stats.features.map((_, i) => DriftMetrics.psi.pipe(Metric.tagged("feature", nameOf(i))))
    const rangeCounters = stats.features.map((_, i) => DriftMetrics.outOfRange.pipe(Metric.tagged("feature", nameOf(i))))
    let since: string | undefined

    const check = (observation: ArrayLike<number>, barTime: number, time: number) =>
      Effect.gen(function* () {
        const result = monitor.observe(observation)
        for (let i = 0; i < result.psi.length; i++) {
          const psi = result.psi[i]
          if (psi !== undefined) yield* Metric.set(psiGauges[i], psi)
        }
        for (const i of result.outOfRange) yield* Metric.increment(rangeCounters[i])
        yield* Metric.set(DriftMetrics.active, result.active ? 1 : 0)
        const event = result.event
        if (event === undefined) return
        const fields = { bar_time: formatUtc(barTime) }
        switch (event.type) {
          case "start": {
            const features = event.features.map(named)
            since = formatUtc(time)
            yield* journal.append({ type: "drift", time: since, bar_time: formatUtc(barTime), features })
            yield* Effect.logWarning(`drift: observations left the training distribution: ${describe(features)}`).pipe(Effect.annotateLogs(fields))
            break
          }
          case "joined":
            yield* Effect.logWarning(`drift: more features left the training distribution: ${describe(event.features.map(named))}`).pipe(Effect.annotateLogs(fields))
            break
          case "end":
            yield* journal.append({ type: "drift_end", time: formatUtc(time), bar_time: formatUtc(barTime), since: since ?? formatUtc(time) })
            yield* Effect.logInfo(`drift over: every feature back within its training statistics for ${monitor.settings.recovery} observations`).pipe(
              Effect.annotateLogs({ ...fields, observations: event.observations })
            )
            since = undefined
            break
        }
      })
    return { enabled: true, check } satisfies DriftWatch
  })
