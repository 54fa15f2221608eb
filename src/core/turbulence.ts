/**
 * FinRL's turbulence index (`FeatureEngineer.calculate_turbulence`): the Mahalanobis distance of
 * today's returns from the previous `window` days' returns, 0 for the first `window` dates and for
 * the first two positive values (FinRL's own warm-up rule).
 */
export class TurbulenceIndex {
  private readonly returns: Array<Float64Array> = []
  private previous: ReadonlyArray<number> | undefined
  private date = 0
  private positives = 0

  constructor(private readonly tickers: number, private readonly window = 252) {}

  next(closes: ReadonlyArray<number>): number {
    const current = new Float64Array(this.tickers)
    const hasReturn = this.previous !== undefined
    for (let i = 0; i < this.tickers; i++) current[i] = hasReturn ? closes[i] / this.previous![i] - 1 : NaN
    this.previous = Array.from(closes)
    let value = 0
    if (this.date >= this.window && this.returns.length >= 2) value = this.distance(current)
    if (value > 0) {
      this.positives++
      if (this.positives <= 2) value = 0
    } else value = 0
    if (hasReturn) {
      this.returns.push(current)
      if (this.returns.length > this.window) this.returns.shift()
    }
    this.date++
    return value
  }

  private distance(current: Float64Array): number {
    const n = this.tickers
    const m = this.returns.length
    const mean = new Float64Array(n)
    for (const r of this.returns) for (let i = 0; i < n; i++) mean[i] += r[i] / m
    const cov = Array.from({ length: n }, () => new Float64Array(n))
    for (const r of this.returns) {
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) cov[i][j] += ((r[i] - mean[i]) * (r[j] - mean[j])) / (m - 1)
    }
    const inv = pseudoInverse(cov)
    const d = Array.from(current, (c, i) => c - mean[i])
    let q = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q += d[i] * inv[i][j] * d[j]
    return q
  }
}

/** Moore–Penrose pseudo-inverse of a symmetric matrix by Jacobi eigen-decomposition (numpy's rcond 1e-15). */
export const pseudoInverse = (matrix: ReadonlyArray<ArrayLike<number>>): Array<Float64Array> => {
  const n = matrix.length
  const a = matrix.map((row) => Float64Array.from(row))
  const v = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)))
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2
    if (off < 1e-30) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q]
          a[k][p] = c * akp - s * akq
          a[k][q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k]
          a[p][k] = c * apk - s * aqk
          a[q][k] = s * apk + c * aqk
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q]
          v[k][p] = c * vkp - s * vkq
          v[k][q] = s * vkp + c * vkq
        }
      }
    }
  }
  const eigen = Array.from({ length: n }, (_, i) => a[i][i])
  const cutoff = 1e-15 * Math.max(0, ...eigen.map(Math.abs))
  const out = Array.from({ length: n }, () => new Float64Array(n))
  for (let k = 0; k < n; k++) {
    if (Math.abs(eigen[k]) <= cutoff) continue
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i][j] += (v[i][k] * v[j][k]) / eigen[k]
  }
  return out
}
