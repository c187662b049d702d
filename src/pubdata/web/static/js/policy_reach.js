/* Policy reach charts (Apache ECharts, vendored): eligible enterprises by district stacked by clause,
   and each clause's amounts in 万元 (known figures and caps). Data is embedded in the page. */
(function () {
  "use strict";
  var dataElement = document.getElementById("reach-data");
  if (!dataElement || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(dataElement.textContent);
  var palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828"];
  var animate = !(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  var charts = [];

  function make(id, option) {
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    option.animation = animate;
    chart.setOption(option);
    charts.push(chart);
  }

  make("chart-districts", {
    color: palette,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 8, right: 16, top: 16, bottom: 40, containLabel: true },
    xAxis: { type: "category", data: data.districts, axisLabel: { interval: 0, rotate: 40, fontSize: 11 } },
    yAxis: { type: "value", minInterval: 1 },
    series: data.clauses.map(function (c) {
      return { name: c.title, type: "bar", stack: "eligible", barMaxWidth: 32, data: c.eligible };
    })
  });

  make("chart-amounts", {
    color: ["#2e7d32", "#ffb300"],
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return v + " 万元"; } },
    legend: { bottom: 0 },
    grid: { left: 8, right: 24, top: 8, bottom: 40, containLabel: true },
    xAxis: { type: "value" },
    yAxis: {
      type: "category",
      data: data.clauses.map(function (c) { return c.title; }),
      axisLabel: { fontSize: 11, width: 150, overflow: "truncate" }
    },
    series: [
      { name: "确定金额", type: "bar", stack: "amount", barMaxWidth: 18, data: data.clauses.map(function (c) { return c.amount_wan; }) },
      { name: "最高限额", type: "bar", stack: "amount", barMaxWidth: 18, data: data.clauses.map(function (c) { return c.up_to_wan; }) }
    ]
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { c.resize(); });
    }, 150);
  });
})();
