/**
 * The report page's own script (plain ES2017, run by the browser after the inlined ECharts): it
 * reads the chart model inlined as JSON (`#report-charts`, built by html.ts) and draws each chart
 * into its container, which gets `data-drawn="1"` on ECharts' `finished` event. Every string it puts
 * into a tooltip (HTML) goes through `esc`.
 */
export const PAGE_SCRIPT = String.raw`(function () {
  "use strict";
  var model = JSON.parse(document.getElementById("report-charts").textContent);
  var charts = [];
  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; }); }
  function finite(x) { return typeof x === "number" && isFinite(x); }
  function pct(x) { return finite(x) ? (x * 100).toFixed(2) + " %" : "n/a"; }
  function money(x) { return finite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : "n/a"; }
  function axisTooltip(format) {
    return {
      trigger: "axis",
      confine: true,
      formatter: function (params) {
        var list = Array.isArray(params) ? params : [params];
        if (list.length === 0) return "";
        var lines = [esc(list[0].axisValueLabel !== undefined ? list[0].axisValueLabel : list[0].name)];
        list.forEach(function (p) {
          var v = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
          if (v === null || v === undefined) return;
          lines.push(p.marker + esc(p.seriesName) + ": " + esc(format(v)));
        });
        return lines.join("<br>");
      }
    };
  }
  var palette = ["#2563eb", "#f59e0b", "#10b981", "#6b7280", "#ef4444", "#8b5cf6", "#14b8a6", "#ec4899"];
  function base(extra) {
    var option = {
      animation: false,
      color: palette,
      textStyle: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" },
      grid: { left: 64, right: 24, top: 40, bottom: 56 },
      legend: { top: 4, type: "scroll" }
    };
    Object.keys(extra).forEach(function (k) { option[k] = extra[k]; });
    return option;
  }
  function empty(option, text) {
    option.graphic = [{ type: "text", left: "center", top: "middle", style: { text: text, fill: "#6b7280", fontSize: 14 } }];
    return option;
  }
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.on("finished", function () { el.setAttribute("data-drawn", "1"); });
    chart.setOption(option);
    charts.push(chart);
  }
  var zoom = [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }];
  function timeAxis() { return { type: "category", data: model.x, boundaryGap: false, axisLabel: { hideOverlap: true } }; }

  // equity against buy & hold and cash, the second journal overlaid, divergences marked
  var equitySeries = model.equity.map(function (s, i) {
    var series = { name: s.name, type: "line", z: i === 0 ? 3 : 2, data: s.values, showSymbol: false, connectNulls: true, sampling: "lttb", lineStyle: { width: i === 0 ? 2 : 1.5, type: s.dashed ? "dashed" : "solid" } };
    if (i === 0 && model.markers.length > 0) {
      series.markPoint = {
        symbol: "pin",
        symbolSize: 26,
        itemStyle: { color: "#ef4444" },
        label: { show: true, position: "top", fontSize: 10, color: "#b91c1c", formatter: function (p) { return p.data.cause; } },
        tooltip: { trigger: "item", formatter: function (p) { return esc(p.data.cause) + " at " + esc(p.data.bar) + "<br>" + esc(p.data.detail); } },
        data: model.markers.map(function (m) { return { coord: [m.x, m.y], cause: m.cause, bar: m.x, detail: m.detail, value: m.cause }; })
      };
    }
    return series;
  });
  var equityOption = base({ tooltip: axisTooltip(money), xAxis: timeAxis(), yAxis: { type: "value", scale: true, axisLabel: { formatter: function (v) { return v.toLocaleString("en-US"); } } }, dataZoom: zoom, series: equitySeries });
  draw("chart-equity", model.x.length === 0 ? empty(equityOption, "no step yet") : equityOption);

  var drawdownOption = base({
    tooltip: axisTooltip(pct),
    xAxis: timeAxis(),
    yAxis: { type: "value", max: 0, axisLabel: { formatter: function (v) { return (v * 100).toFixed(1) + " %"; } } },
    dataZoom: zoom,
    series: [{ name: "drawdown", type: "line", data: model.drawdown, showSymbol: false, connectNulls: true, sampling: "lttb", lineStyle: { width: 1, color: "#ef4444" }, itemStyle: { color: "#ef4444" }, areaStyle: { color: "rgba(239, 68, 68, 0.25)" } }]
  });
  draw("chart-drawdown", model.x.length === 0 ? empty(drawdownOption, "no step yet") : drawdownOption);

  var dailyOption = base({
    tooltip: axisTooltip(pct),
    legend: { show: false },
    xAxis: { type: "category", data: model.daily.x },
    yAxis: { type: "value", axisLabel: { formatter: function (v) { return (v * 100).toFixed(1) + " %"; } } },
    series: [{
      name: "daily return",
      type: "bar",
      data: model.daily.y.map(function (v) { return { value: v, itemStyle: { color: v >= 0 ? "#10b981" : "#ef4444" } }; })
    }]
  });
  draw("chart-daily", model.daily.x.length === 0 ? empty(dailyOption, "no trading day yet") : dailyOption);

  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var monthlyOption = base({
    legend: { show: false },
    grid: { left: 64, right: 24, top: 16, bottom: 64 },
    tooltip: { trigger: "item", formatter: function (p) { return esc(months[p.value[0]] + " " + model.monthly.years[p.value[1]]) + ": " + esc(pct(p.value[2])); } },
    xAxis: { type: "category", data: months, splitArea: { show: true } },
    yAxis: { type: "category", data: model.monthly.years, splitArea: { show: true } },
    visualMap: { min: -model.monthly.bound, max: model.monthly.bound, calculable: false, orient: "horizontal", left: "center", bottom: 4, itemHeight: 120, inRange: { color: ["#ef4444", "#f9fafb", "#10b981"] }, formatter: function (v) { return (v * 100).toFixed(1) + " %"; } },
    series: [{ name: "monthly return", type: "heatmap", data: model.monthly.cells, label: { show: true, fontSize: 11, formatter: function (p) { return pct(p.value[2]); } } }]
  });
  draw("chart-monthly", model.monthly.cells.length === 0 ? empty(monthlyOption, "no month yet") : monthlyOption);

  var positionSeries = model.positions.map(function (s) {
    return { name: s.name, type: "line", stack: "positions", areaStyle: { opacity: 0.35 }, data: s.values, showSymbol: false, connectNulls: true, sampling: "lttb", lineStyle: { width: 1 } };
  });
  positionSeries.push({ name: "cash", type: "line", data: model.cash, showSymbol: false, connectNulls: true, sampling: "lttb", lineStyle: { width: 2, color: "#111827" }, itemStyle: { color: "#111827" } });
  var positionsOption = base({ tooltip: axisTooltip(money), xAxis: timeAxis(), yAxis: { type: "value", axisLabel: { formatter: function (v) { return v.toLocaleString("en-US"); } } }, dataZoom: zoom, series: positionSeries });
  draw("chart-positions", model.x.length === 0 ? empty(positionsOption, "no step yet") : positionsOption);

  var tickerOption = base({
    tooltip: axisTooltip(money),
    xAxis: { type: "category", data: model.tickers.x },
    yAxis: { type: "value", axisLabel: { formatter: function (v) { return v.toLocaleString("en-US"); } } },
    series: [
      { name: "P&L after costs", type: "bar", data: model.tickers.pnl, itemStyle: { color: "#2563eb" } },
      { name: "fees", type: "bar", data: model.tickers.fees, itemStyle: { color: "#f59e0b" } },
      { name: "slippage", type: "bar", data: model.tickers.slippage, itemStyle: { color: "#8b5cf6" } }
    ]
  });
  draw("chart-tickers", model.tickers.x.length === 0 ? empty(tickerOption, "no ticker") : tickerOption);

  var version = document.getElementById("echarts-version");
  if (version) version.textContent = echarts.version;
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
`
