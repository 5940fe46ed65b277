// The analytics pages' charts, drawn with the pages' chart library (Chart.js, from
// package.json) from the figures the page carries as JSON; the tables beside them hold
// the same figures, so without the library nothing is lost.
const RED = "#c8102e";
const GOLD = "#d4a017";
const GREY = "#8a8a8a";
const BLUE = "#1f6fb2";

function figures(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function draw(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas || !window.Chart) return;
  canvas.hidden = false;
  new window.Chart(canvas, {
    ...config,
    options: { animation: false, maintainAspectRatio: false, ...config.options },
  });
  canvas.dataset.drawn = "true";
}

const yuan = (minor) => minor / 100;

const charts = figures("analytics-charts");
if (charts) {
  draw("attribution-chart", {
    type: "bar",
    data: {
      labels: charts.attribution.map((t) => t.factor),
      datasets: [
        {
          label: "Share of the change of GMV",
          data: charts.attribution.map((t) => yuan(t.minor)),
          backgroundColor: charts.attribution.map((t) => (t.minor < 0 ? GREY : RED)),
        },
      ],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
  draw("days-chart", {
    type: "bar",
    data: {
      labels: charts.days.map((d) => d.day.slice(5)),
      datasets: [
        { label: "Private domain", data: charts.days.map((d) => d.private), backgroundColor: RED },
        { label: "Public domain", data: charts.days.map((d) => d.public), backgroundColor: GOLD },
        { label: "Shelf visitors", data: charts.days.map((d) => d.shelf), backgroundColor: GREY },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true } } },
  });
  draw("repurchase-chart", {
    type: "line",
    data: {
      labels: charts.repurchase.map((m) => m.month),
      datasets: [
        { label: "Repurchase rate", data: charts.repurchase.map((m) => m.rate), borderColor: RED },
        {
          label: "Private share of repeat orders",
          data: charts.repurchase.map((m) => m.private_share),
          borderColor: BLUE,
        },
      ],
    },
    options: { scales: { y: { min: 0, max: 1 } } },
  });
  draw("claims-chart", {
    type: "scatter",
    data: {
      datasets: [
        {
          label: "Buyers per minute watched",
          data: charts.anchors
            .filter((a) => a.conversion !== null)
            .map((a) => ({ x: a.trust, y: a.conversion })),
          backgroundColor: RED,
        },
      ],
    },
    options: { scales: { x: { title: { display: true, text: "Anchor's trust score" } } } },
  });
  draw("tiers-chart", {
    type: "doughnut",
    data: {
      labels: charts.tiers.map((t) => t.tier.replaceAll("_", " ")),
      datasets: [
        {
          data: charts.tiers.map((t) => yuan(t.gmv_minor)),
          backgroundColor: [RED, GOLD, BLUE, GREY, "#5a9e6f"],
        },
      ],
    },
  });
}

const minutes = figures("session-minutes");
if (minutes) {
  draw("minutes-chart", {
    type: "line",
    data: {
      labels: minutes.map((m) => m.minute),
      datasets: [
        { label: "Viewers online", data: minutes.map((m) => m.viewers), borderColor: RED, yAxisID: "y" },
        {
          label: "Paid orders",
          data: minutes.map((m) => m.orders),
          borderColor: BLUE,
          backgroundColor: BLUE,
          type: "bar",
          yAxisID: "orders",
        },
      ],
    },
    options: {
      scales: {
        y: { position: "left", beginAtZero: true },
        orders: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
      },
    },
  });
}
