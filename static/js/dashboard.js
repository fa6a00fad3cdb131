/* The organiser's dashboard: draws each chart from the json_script data
   (campaign/dashboard_charts.py says what each holds). Without JavaScript the
   page shows the same numbers as tables. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || !window.Chart) { return; }
  var specs = JSON.parse(source.textContent);
  specs.forEach(function (spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas) { return; }
    // Without this script the table is open and the empty canvas hidden; with
    // it the chart shows and its table folds away under "The numbers".
    var section = canvas.closest(".dashboard-chart");
    section.classList.add("has-chart");
    section.querySelector("details").open = false;
    var valueAxis = spec.horizontal ? "x" : "y";
    var categoryAxis = spec.horizontal ? "y" : "x";
    var scales = {};
    scales[categoryAxis] = { stacked: spec.stacked };
    scales[valueAxis] = { stacked: spec.stacked, beginAtZero: true };
    Object.keys(spec.axes).forEach(function (id) {
      scales[id] = {
        position: "right", beginAtZero: true,
        grid: { drawOnChartArea: false },
        title: { display: true, text: spec.axes[id] }
      };
    });
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        scales: scales
      }
    });
  });
}());
