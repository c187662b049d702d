/* Entry page: the quality score of each published version of a table (Apache ECharts, vendored).
   The scores are embedded in the page as JSON next to each chart; nothing is fetched. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var order = ["completeness", "validity", "accuracy", "consistency", "uniqueness", "timeliness"];
  var palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#558b2f"];
  var animate = !(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  var charts = [];

  document.querySelectorAll("script.quality-trend-data").forEach(function (node) {
    var element = document.getElementById(node.getAttribute("data-chart"));
    if (!element) {
      return;
    }
    var data = JSON.parse(node.textContent);
    var points = data.points;
    var series = [{
      name: "总分", type: "line", symbolSize: 8, lineStyle: { width: 3 },
      data: points.map(function (p) { return p.score; })
    }];
    var selected = { "总分": true };
    order.forEach(function (key) {
      var label = data.labels[key];
      selected[label] = false; // the overall score first; a click on the legend adds a dimension
      series.push({
        name: label, type: "line", symbolSize: 5, connectNulls: false,
        data: points.map(function (p) { return p.dimensions[key]; })
      });
    });
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: animate,
      color: palette,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "未评价" : v.toFixed(1); } },
      legend: { top: 0, type: "scroll", selected: selected },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: points.map(function (p) { return "v" + p.version; })
      },
      yAxis: { type: "value", min: 0, max: 100 },
      series: series
    });
    charts.push(chart);
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { c.resize(); });
    }, 150);
  });
})();
