// The operator page's history: daily tce by energy type over a range of the site's days,
// picked with two date inputs (GET /sites/{site}/consumption, granularity day, by measure).
import { api } from "../api.js";
import { historyOption } from "../charts.js";
import { disposeCharts, drawChart } from "../echarts-loader.js";
import { t } from "../i18n.js";
import { addDays, daysBetween, siteDay, siteMidnight } from "../site-time.js";

const DEFAULT_DAYS = 7;
const MAX_DAYS = 366;

export function historyPanel() {
  return `
    <section class="panel span-12" id="history-panel">
      <h2>${t("site.history")}</h2>
      <div class="toolbar">
        <label>${t("site.history.from")} <input type="date" id="history-from"></label>
        <label>${t("site.history.to")} <input type="date" id="history-to"></label>
        <span class="error" id="history-error"></span>
      </div>
      <div class="chart" id="chart-history"></div>
    </section>`;
}

// Daily tce per measure, from the API's items {t: day, key: measure, tce}.
export function historySeries(items) {
  const byMeasure = new Map();
  for (const item of items) {
    let entry = byMeasure.get(item.key);
    if (!entry) {
      entry = { measure: item.key, tce: new Map() };
      byMeasure.set(item.key, entry);
    }
    const day = String(item.t).slice(0, 10);
    entry.tce.set(day, (entry.tce.get(day) ?? 0) + item.tce);
  }
  return [...byMeasure.values()];
}

export function mountHistory(container, { site, timeZone, echarts, onError }) {
  const $ = (id) => container.querySelector(`#${id}`);
  const from = $("history-from");
  const to = $("history-to");
  const chartEl = $("chart-history");
  const today = siteDay(Date.now(), timeZone);
  to.value = today;
  from.value = addDays(today, -(DEFAULT_DAYS - 1));
  let request = 0;

  async function load() {
    const first = from.value;
    const last = to.value;
    const span = first && last ? daysBetween(first, last) : -1;
    $("history-error").textContent = span < 0 || span >= MAX_DAYS ? t("site.history.invalid") : "";
    if (span < 0 || span >= MAX_DAYS) return;
    const mine = ++request;
    const answer = await api.consumption(site, {
      start: new Date(siteMidnight(first, timeZone)).toISOString(),
      end: new Date(siteMidnight(addDays(last, 1), timeZone)).toISOString(),
      granularity: "day",
      group: "measure",
      limit: 100_000,
    });
    if (mine !== request || !container.isConnected) return; // a newer range, or the page left
    const days = Array.from({ length: span + 1 }, (_, i) => addDays(first, i));
    const series = historySeries(answer.items);
    disposeCharts(echarts, container);
    if (!series.length) {
      chartEl.innerHTML = `<div class="empty">${t("site.history.none")}</div>`;
    } else {
      drawChart(echarts, chartEl, historyOption(days, series));
    }
    // What is drawn, for people debugging and for the browser tests.
    chartEl.dataset.first = first;
    chartEl.dataset.last = last;
    chartEl.dataset.days = String(days.length);
  }

  const reload = () => load().catch(onError);
  from.addEventListener("change", reload);
  to.addEventListener("change", reload);
  reload();
  return { reload };
}
