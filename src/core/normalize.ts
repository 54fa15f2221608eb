export interface ObservationNormalization {
  readonly mean: ReadonlyArray<number>
  readonly var: ReadonlyArray<number>
  readonly clip_obs: number
  readonly epsilon: number
}

/** Stable-Baselines3 VecNormalize: clip((obs − mean) / sqrt(var + epsilon), −clip, clip). */
export const normalizeObservation = (obs: Float64Array, n: ObservationNormalization): Float64Array => {
  const out = new Float64Array(obs.length)
  for (let i = 0; i < obs.length; i++) {
    const z = (obs[i] - n.mean[i]) / Math.sqrt(n.var[i] + n.epsilon)
    out[i] = Math.min(n.clip_obs, Math.max(-n.clip_obs, z))
  }
  return out
}
