// An alert's drill-down: the evidence chart of its subject over its window, with the
// threshold and the `for` wait drawn. Station points open the station page focused on the
// alert; other points their readings; site-wide alerts the figures the rule compared.
import { api } from "../api.js";
import { drawChart, loadECharts } from "../echarts-loader.js";
import { dateTime, escapeHtml, number } from "../format.js";
import { t } from "../i18n.js";
import { pointOption } from "../station-charts.js";
import * as stationPage from "./station.js";

const HOUR_MS = 3_600_000;
const MAX_VIEW_MS = 7 * 24 * HOUR_MS; // what the station API serves at once

// Times of the alert, its rule's windows and the span to show around them (ms).
export function focusOf(alert, now = Date.now()) {
  const evidence = alert.transitions?.[0]?.evidence ?? {};
  const windowS = evidence.window_s ?? alert.transitions?.[0]?.window_s ?? 0;
  const forS = evidence.for_s ?? 0;
  const startedAt = Date.parse(alert.started_at);
  const firedAt = alert.fired_at ? Date.parse(alert.fired_at) : null;
  const endAt = alert.resolved_at ? Date.parse(alert.resolved_at) : now;
  const windowStart = startedAt - windowS * 1000;
  const margin = Math.max(HOUR_MS, windowS * 1000);
  const viewEnd = Math.min(now, endAt + HOUR_MS / 2);
  const viewStart = Math.max(windowStart - margin, viewEnd - MAX_VIEW_MS);
  return {
    rule: alert.rule,
    point: alert.point,
    value: alert.value,
    threshold: alert.threshold,
    unit: alert.unit,
    windowS,
    forS,
    startedAt,
    firedAt,
    endAt,
    windowStart,
    viewStart,
    viewEnd,
  };
}

function evidenceTable(alert) {
  const inputs = alert.transitions?.[0]?.evidence?.inputs ?? {};
  const rows = Object.entries(inputs)
    .filter(([, v]) => typeof v !== "object" || v === null)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${typeof v === "number" ? number(v, 3) : escapeHtml(v ?? "–")}</td></tr>`)
    .join("");
  return `<table class="evidence">${rows}</table>`;
}

export function mount(container, { id }) {
  let unmountInner = null;
  let stopped = false;
  container.innerHTML = `<div class="muted">${t("app.loading")}</div><div class="error" id="page-error"></div>`;

  async function load() {
    const alert = await api.alert(id);
    if (stopped) return;
    const focus = focusOf(alert);
    const site = alert.site ? await api.site(alert.site) : null;
    if (stopped) return;
    if (site && alert.point && site.kind === "station") {
      unmountInner = stationPage.mount(container, { site: site.code, focus });
      return;
    }
    container.innerHTML = `
      <div class="site-head"><a href="#/region">← ${t("app.back")}</a>
        <h1>${escapeHtml(alert.rule)}</h1>
        <span class="muted">${escapeHtml(alert.subject)} · ${dateTime(alert.started_at)}</span>
        ${site ? `<a href="#/site/${encodeURIComponent(site.code)}">${t("reg.drill")}</a>` : ""}</div>
      <div class="error" id="page-error"></div>
      <section class="panel span-12"><h2>${t("station.evidence")}</h2>
        ${alert.point ? `<div class="chart" id="chart-evidence"></div>` : evidenceTable(alert)}
      </section>`;
    if (!alert.point) return;
    const [readings, echarts] = await Promise.all([
      api.readings(alert.site, alert.point, new Date(focus.viewStart).toISOString(), new Date(focus.viewEnd).toISOString()),
      loadECharts(),
    ]);
    if (stopped) return;
    const point = {
      code: alert.point,
      measure: alert.point,
      unit: readings.unit,
      flags: [],
      minutes: readings.items.map((r) => [Date.parse(r.ts), r.v]),
    };
    drawChart(echarts, container.querySelector("#chart-evidence"), pointOption(point, focus, alert.threshold));
  }

  load().catch((exc) => {
    const error = container.querySelector("#page-error");
    if (error) error.textContent = t("app.error", { detail: exc.message });
  });
  return () => {
    stopped = true;
    unmountInner?.();
  };
}
