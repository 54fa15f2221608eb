import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** A fresh temporary folder holding the given files (path → content). */
export const tmpTree = (files: Record<string, string | Uint8Array>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rlpt-"))
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
  return dir
}

export const PROJECT = path.resolve(import.meta.dirname, "../..")

/** A minimal valid deployment around the bundled demo model and bars, as files for tmpTree. */
export const demoDeploymentFiles = (config: string, env?: string): Record<string, string> => ({
  "deploy.yaml": config,
  "env.yaml":
    env ??
    "tech_indicators: [macd, boll_ub, boll_lb, rsi_30, cci_30, dx_30, close_30_sma, close_60_sma]\nhmax: 100\ninitial_amount: 100000\nbuy_cost_pct: 0.001\nsell_cost_pct: 0.001\n"
})

export const demoConfig = (extra = "") =>
  `tickers: [SYNA, SYNB, SYNC]\ninterval: 5m\nmodel: ${PROJECT}/model_registry/demo/1\nenvironment: env.yaml\ndata:\n  bars: ${PROJECT}/data/demo\n${extra}`
