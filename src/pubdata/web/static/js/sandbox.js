/* Sandbox result chart (Apache ECharts, vendored): one bar per released group; hidden groups shown empty. */
(function () {
  "use strict";
  var element = document.getElementById("sandbox-chart");
  var dataElement = document.getElementById("sandbox-data");
  if (!element || !dataElement || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(dataElement.textContent);
  var measure = data.measures[data.measures.length - 1];
  var labels = data.groups.map(function (g) {
    return data.group_by.map(function (k) { return String(g[k]); }).join(" · ");
  });
  var values = data.groups.map(function (g) { return g.suppressed ? null : g[measure]; });
  var chart = echarts.init(element, null, { renderer: "canvas" });
  chart.setOption({
    tooltip: { trigger: "axis" },
    grid: { left: 60, right: 20, top: 20, bottom: 80 },
    xAxis: { type: "category", data: labels, axisLabel: { rotate: labels.length > 6 ? 30 : 0 } },
    yAxis: { type: "value" },
    series: [{ type: "bar", name: measure, data: values, itemStyle: { color: "#1565c0" } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
