// ECharts comes from the npm package the API mounts at /vendor (never copied into the repo).
// Loaded on demand so that the login page works even before `npm ci` has run.
let loading = null;

export function loadECharts() {
  loading ??= import("/vendor/echarts/dist/echarts.esm.min.js");
  return loading;
}

// Draws or updates a chart in `element`, and records on the element how many data points it
// shows and the newest time: readable by people debugging and by the browser tests.
export function drawChart(echarts, element, option, { replace = true } = {}) {
  const chart = echarts.getInstanceByDom(element) ?? echarts.init(element);
  chart.setOption(option, { notMerge: replace, lazyUpdate: false });
  const series = chart.getOption().series ?? [];
  let count = 0;
  let newest = null;
  for (const s of series) {
    for (const item of s.data ?? []) {
      const x = Array.isArray(item) ? item[0] : null;
      count += 1;
      if (typeof x === "number" && (newest === null || x > newest)) newest = x;
    }
  }
  element.dataset.points = String(count);
  element.dataset.newest = newest === null ? "" : new Date(newest).toISOString();
  return chart;
}

export function disposeCharts(echarts, root) {
  root.querySelectorAll(".chart").forEach((el) => echarts.getInstanceByDom(el)?.dispose());
}
