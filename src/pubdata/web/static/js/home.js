/* Home page charts (Apache ECharts, vendored). Data is embedded in the page as JSON; nothing is fetched. */
(function () {
  "use strict";
  var dataElement = document.getElementById("stats-data");
  if (!dataElement || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(dataElement.textContent);
  var palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#558b2f", "#4527a0"];
  var openColors = { unconditional: "#2e7d32", conditional: "#ef6c00", closed: "#9e9e9e" };
  var charts = [];
  var animate = !(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  var narrow = function (id) {
    var element = document.getElementById(id);
    return element ? element.clientWidth < 480 : false;
  };

  function goTo(param, value) {
    window.location.href = "/dataset?" + encodeURIComponent(param) + "=" + encodeURIComponent(value);
  }

  function make(id, option, param, rows) {
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    option.animation = animate;
    chart.setOption(option);
    chart.on("click", function (event) {
      var row = rows[event.dataIndex];
      if (row) {
        goTo(param, row.value);
      }
    });
    charts.push(chart);
  }

  var byCategory = data.by_category.slice().sort(function (a, b) { return b.count - a.count; });
  make("chart-category", {
    color: palette,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    xAxis: {
      type: "category",
      data: byCategory.map(function (r) { return r.label; }),
      axisLabel: { interval: 0, rotate: 40, fontSize: 11 }
    },
    yAxis: { type: "value", minInterval: 1 },
    series: [{
      name: "数据目录", type: "bar", barMaxWidth: 32,
      data: byCategory.map(function (r) { return r.count; }),
      itemStyle: { borderRadius: [4, 4, 0, 0] }
    }]
  }, "category", byCategory);

  // Largest at the top of a horizontal bar chart means reversing the order.
  var byDepartment = data.by_organisation.slice().reverse();
  make("chart-department", {
    color: ["#00838f"],
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: {
      type: "category",
      data: byDepartment.map(function (r) { return r.label; }),
      axisLabel: {
        fontSize: 11, width: 140, overflow: "truncate"
      }
    },
    series: [{
      name: "数据目录", type: "bar", barMaxWidth: 18,
      data: byDepartment.map(function (r) { return r.count; }),
      itemStyle: { borderRadius: [0, 4, 4, 0] }
    }]
  }, "organisation", byDepartment);

  var byOpenType = data.by_open_type;
  make("chart-open-type", {
    tooltip: { trigger: "item", formatter: "{b}：{c} 条（{d}%）" },
    legend: { bottom: 0, icon: "circle" },
    series: [{
      name: "开放类型", type: "pie", radius: ["38%", "68%"], center: ["50%", "45%"],
      // On a phone the outside labels would not fit: the legend and the list below say it instead.
      label: { show: !narrow("chart-open-type"), formatter: "{b}\n{d}%" },
      data: byOpenType.map(function (r) {
        return { name: r.label, value: r.count, itemStyle: { color: openColors[r.value] || "#1565c0" } };
      })
    }]
  }, "open_type", byOpenType);

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { c.resize(); });
    }, 150);
  });
})();
