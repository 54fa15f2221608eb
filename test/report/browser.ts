import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { type Browser, chromium } from "playwright-core"
import { expect } from "vitest"
import { CHART_IDS } from "../../src/report/html.js"

/** Debian's chromium: `.ci/run` installs it when missing. */
export const CHROMIUM = "/usr/bin/chromium"

/** Launches Debian's chromium headless; a clear error when it is not installed (never a silent skip). */
export const launchChromium = async (): Promise<Browser> => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the report's browser test drives Debian's chromium, which .ci/run installs (apt-get install chromium)`)
  }
  return chromium.launch({ executablePath: CHROMIUM })
}

export interface ChartCheck {
  readonly id: string
  readonly drawn: string | null
  /** Canvases (or an svg) with at least one painted pixel. */
  readonly painted: boolean
}

export interface PageCheck {
  readonly url: string
  /** Every request the page made, the file itself included. */
  readonly requests: ReadonlyArray<string>
  /** Console errors and warnings, and uncaught page errors. */
  readonly problems: ReadonlyArray<string>
  readonly charts: ReadonlyArray<ChartCheck>
  /** Divergence markers on the equity chart. */
  readonly markers: number
  readonly text: string
  /** Whatever a script injected through the data set (must stay undefined). */
  readonly injected: unknown
}

const ids = JSON.stringify(CHART_IDS)

// the page-side code is text: the tests are type-checked without the DOM's types
const WAIT_DRAWN = `new Promise((resolve) => {
  const ids = ${ids}
  const done = () => ids.every((id) => document.getElementById(id) !== null && document.getElementById(id).getAttribute("data-drawn") === "1")
  if (done()) return resolve(true)
  const observer = new MutationObserver(() => { if (done()) { observer.disconnect(); resolve(true) } })
  observer.observe(document.body, { attributes: true, subtree: true, attributeFilter: ["data-drawn"] })
})`

const CHARTS = `${ids}.map((id) => {
  const el = document.getElementById(id)
  if (el === null) return { id, drawn: null, painted: false }
  const painted = [...el.querySelectorAll("canvas")].some((c) => {
    if (c.width === 0 || c.height === 0) return false
    const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true
    return false
  }) || [...el.querySelectorAll("svg")].some((s) => s.childElementCount > 0)
  return { id, drawn: el.getAttribute("data-drawn"), painted }
})`

const MARKERS = `(() => {
  const series = echarts.getInstanceByDom(document.getElementById("chart-equity")).getOption().series[0]
  return series.markPoint && series.markPoint.data ? series.markPoint.data.length : 0
})()`

/** Opens a report file in a fresh page, waits until every chart has drawn, checks it, and saves a full-page screenshot. */
export const inspectReport = async (browser: Browser, file: string, screenshot: string): Promise<PageCheck> => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } })
  try {
    const requests: Array<string> = []
    const problems: Array<string> = []
    page.on("request", (r) => requests.push(r.url()))
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
    const url = pathToFileURL(file).href
    await page.goto(url, { waitUntil: "load" })
    await page.evaluate(WAIT_DRAWN)
    const charts = (await page.evaluate(CHARTS)) as ReadonlyArray<ChartCheck>
    const markers = (await page.evaluate(MARKERS)) as number
    const text = (await page.evaluate("document.body.innerText")) as string
    const injected = await page.evaluate("window.__injected")
    fs.mkdirSync(path.dirname(screenshot), { recursive: true })
    await page.screenshot({ path: screenshot, fullPage: true })
    return { url, requests, problems, charts, markers, text, injected }
  } finally {
    await page.close()
  }
}

/** What every report page must do: load alone, draw every chart, and ask the network for nothing. */
export const expectSelfContained = (page: PageCheck) => {
  expect(page.problems).toEqual([])
  // the only request is the file itself
  expect(page.requests).toEqual([page.url])
  expect(page.charts.map((c) => c.id)).toEqual([...CHART_IDS])
  for (const chart of page.charts) {
    expect(chart.drawn, `${chart.id} signalled it drew`).toBe("1")
    expect(chart.painted, `${chart.id} has a painted canvas`).toBe(true)
  }
}
