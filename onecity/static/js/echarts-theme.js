/* The one ECharts theme of OneCity ("onecity"), and a helper to draw charts from server data.
 *
 * Load after ECharts:
 *   <script src="{% static 'vendor/echarts.min.js' %}" defer></script>
 *   <script src="{% static 'js/echarts-theme.js' %}" defer></script>
 * Then either call OneCityCharts.init(element, option), or declare the chart in HTML:
 *   {{ option|json_script:"cases-by-day" }}
 *   <div class="chart" data-echarts="cases-by-day" role="img" aria-label="…"></div>
 * Charts resize with the window and are (re)drawn for content swapped in by htmx.
 */
(function () {
  "use strict";
  if (!window.echarts) return;

  var font = '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", system-ui, sans-serif';
  var text = "#1b2230", muted = "#5f6980", grid = "#e3e7ef", axis = "#aeb7c6";
  var axisCommon = {
    axisLine: { show: true, lineStyle: { color: axis } },
    axisTick: { show: false },
    axisLabel: { color: muted },
    splitLine: { show: true, lineStyle: { color: grid, type: "dashed" } },
    splitArea: { show: false }
  };

  window.echarts.registerTheme("onecity", {
    color: ["#1f4e9c", "#2f9e77", "#e0a12b", "#c2410c", "#6b5bd2", "#3fa7d6", "#8a93a6", "#b83280"],
    backgroundColor: "transparent",
    textStyle: { fontFamily: font, color: text },
    title: { left: 0, textStyle: { color: text, fontSize: 15, fontWeight: 600 }, subtextStyle: { color: muted } },
    legend: { textStyle: { color: muted }, icon: "roundRect", itemWidth: 12, itemHeight: 8 },
    tooltip: {
      backgroundColor: "rgba(255,255,255,0.97)", borderColor: "#d6dce6", borderWidth: 1,
      textStyle: { color: text, fontSize: 13 }, extraCssText: "box-shadow:0 4px 16px rgba(20,40,80,.12);border-radius:8px;"
    },
    grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
    categoryAxis: Object.assign({}, axisCommon, { splitLine: { show: false } }),
    valueAxis: Object.assign({}, axisCommon, { axisLine: { show: false } }),
    timeAxis: Object.assign({}, axisCommon, { splitLine: { show: false } }),
    line: { symbol: "circle", symbolSize: 6, smooth: false, lineStyle: { width: 2 } },
    bar: { itemStyle: { borderRadius: [3, 3, 0, 0] }, barMaxWidth: 36 },
    pie: { itemStyle: { borderColor: "#fff", borderWidth: 2 } },
    gauge: { axisLine: { lineStyle: { color: [[1, "#dce6f6"]] } } }
  });

  var charts = [];
  function init(el, option) {
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, "onecity", { renderer: "svg" });
    chart.setOption(option, true);
    if (charts.indexOf(chart) < 0) charts.push(chart);
    return chart;
  }
  function drawDeclared(root) {
    root.querySelectorAll("[data-echarts]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-echarts"));
      if (source) init(el, JSON.parse(source.textContent));
    });
  }
  var pending;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      charts = charts.filter(function (c) { return !c.isDisposed(); });
      charts.forEach(function (c) { c.resize(); });
    }, 120);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawDeclared(document); });
  } else {
    drawDeclared(document);
  }
  document.addEventListener("htmx:load", function (event) { drawDeclared(event.target); });

  window.OneCityCharts = { theme: "onecity", init: init, drawDeclared: drawDeclared };
})();
