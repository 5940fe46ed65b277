// The seller's trust page: the score's history as a line chart, drawn with the pages'
// chart library (Chart.js, from package.json). Without it the table below stays alone.
const data = document.getElementById("score-history");
const canvas = document.getElementById("score-chart");

if (data && canvas && window.Chart) {
  const days = JSON.parse(data.textContent);
  canvas.hidden = false;
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: days.map((d) => d.day),
      datasets: [
        {
          label: "Shop experience score",
          data: days.map((d) => d.score),
          borderColor: "#c8102e",
          backgroundColor: "rgba(200, 16, 46, 0.12)",
          fill: true,
          tension: 0.25,
        },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { min: 3, max: 5 } },
      plugins: { legend: { display: false } },
    },
  });
  canvas.dataset.drawn = "true";
}
