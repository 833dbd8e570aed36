// A monitoring station: a stack (SO2, NOx, particulates measured and corrected to the limit's
// reference O2, hourly validity, limit lines, O2, flow, temperature, flagged minutes as bands)
// or a greenhouse-gas station (CO2, CH4, CO with their diurnal profile and flags). Opened from
// the regulator's station list, or by an alert's drill-down with `focus` (its subject, window,
// threshold and `for` wait).
import { api } from "../api.js";
import { disposeCharts, drawChart, loadECharts } from "../echarts-loader.js";
import { dateTime, escapeHtml, number } from "../format.js";
import { measureName, t } from "../i18n.js";
import { diurnalOption, pointOption, pollutantOption } from "../station-charts.js";

const DEFAULT_HOURS = 24;
const REFRESH_MS = 60_000;
// Stack conditions, then the gases of an ambient station, in the order a reader expects.
const ORDER = ["o2", "flue_gas_flow", "flue_gas_temperature", "co2_ambient", "ch4_ambient", "co_ambient"];

function layout(site, back) {
  return `
    <div class="site-head">
      ${back ? `<a href="${back}">← ${t("app.back")}</a>` : ""}
      <h1 id="station-name">${escapeHtml(site)}</h1>
      <span class="muted" id="station-meta"></span>
      <span class="muted" id="updated"></span>
    </div>
    <div class="error" id="page-error"></div>
    <div class="panel span-12" id="focus" hidden></div>
    <div class="grid" id="station-charts"></div>`;
}

function chartPanel(id, title, span = 6) {
  return `<section class="panel span-${span}"><h2>${title}</h2><div class="chart" id="${id}"></div></section>`;
}

function hourlyTable(pollutant) {
  const rows = pollutant.hourly
    .slice(-24)
    .map(
      (h) => `<tr data-hour="${h.hour}" data-valid="${h.mean === null ? "no" : "yes"}">
        <td>${dateTime(h.hour)}</td><td class="num">${h.valid_minutes}</td>
        <td class="num">${h.mean !== null ? number(h.mean, 1) : h.complete ? t("station.noMean") : "…"}</td>
        <td class="num">${number(h.emission_kg, 2)}</td></tr>`,
    )
    .join("");
  return `<table class="hourly" data-measure="${escapeHtml(pollutant.measure)}"><thead><tr>
      <th>${t("station.hour")}</th><th class="num">${t("station.validMinutes")}</th>
      <th class="num">${t("station.hourlyMean")}</th><th class="num">${t("station.emissionKg")}</th>
    </tr></thead><tbody>${rows}</tbody></table>`;
}

function duration(seconds) {
  return seconds < 60
    ? t("station.seconds", { n: seconds })
    : t("station.minutes", { n: Math.round(seconds / 60) });
}

function focusText(focus) {
  return `<h2>${t("station.alert")} · ${escapeHtml(focus.rule)}</h2>
    <div>${escapeHtml(t("station.alertLine", {
      subject: focus.point ?? "",
      value: number(focus.value, 2),
      threshold: number(focus.threshold, 2),
      unit: focus.unit ?? "",
    }))}</div>
    <div class="muted">${escapeHtml(t("station.alertWindows", {
      window: duration(focus.windowS),
      forS: duration(focus.forS),
      fired: dateTime(focus.firedAt ?? focus.startedAt),
    }))}</div>`;
}

export function mount(container, { site, back = "#/region", focus = null }) {
  container.innerHTML = layout(site, back);
  const $ = (id) => container.querySelector(`#${id}`);
  let stopped = false;
  let echarts = null;
  const timers = [];
  const showError = (exc) => {
    $("page-error").textContent = t("app.error", { detail: exc.message });
  };

  function range() {
    if (focus) return [new Date(focus.viewStart), new Date(focus.viewEnd)];
    const end = new Date();
    return [new Date(end.getTime() - DEFAULT_HOURS * 3_600_000), end];
  }

  function render(series) {
    const charts = $("station-charts");
    if (echarts) disposeCharts(echarts, charts);
    const byCode = Object.fromEntries(series.points.map((p) => [p.code, p]));
    const panels = [];
    const draws = [];
    // An alert's subject first, across the page.
    const pollutants = [...series.pollutants].sort(
      (a, b) => (focus && b.point === focus.point) - (focus && a.point === focus.point),
    );
    pollutants.forEach((p) => {
      const id = `chart-${p.measure}`;
      const mine = focus && (focus.point === p.point || focus.point === p.judged_point);
      panels.push(`<section class="panel span-${mine ? 12 : 6}" data-pollutant="${escapeHtml(p.measure)}">
        <h2>${escapeHtml(measureName(p.measure))} · ${escapeHtml(t(`station.basis.${p.basis}`))}</h2>
        <div class="chart" id="${id}"></div>
        <details><summary>${t("station.hours")}</summary>${hourlyTable(p)}</details></section>`);
      draws.push([id, pollutantOption(p, byCode[p.point], mine ? focus : null)]);
    });
    const judged = new Set(series.pollutants.flatMap((p) => [p.point, p.judged_point]));
    series.points
      .filter((p) => !judged.has(p.code))
      .sort((a, b) => ORDER.indexOf(a.measure) - ORDER.indexOf(b.measure))
      .forEach((p) => {
        const id = `chart-point-${p.code}`;
        const mine = focus && focus.point === p.code;
        panels.push(chartPanel(id, `${escapeHtml(measureName(p.measure))} (${escapeHtml(p.code)})`, mine ? 12 : 6));
        draws.push([id, pointOption(p, mine ? focus : null, mine ? focus.threshold : null)]);
      });
    const gases = series.points
      .filter((p) => p.diurnal)
      .sort((a, b) => ORDER.indexOf(a.measure) - ORDER.indexOf(b.measure));
    if (gases.length) {
      panels.push(chartPanel("chart-diurnal", t("station.diurnal"), 12));
      draws.push(["chart-diurnal", diurnalOption(gases)]);
    }
    if (!panels.length) panels.push(`<div class="empty">${t("station.noData")}</div>`);
    charts.innerHTML = panels.join("");
    for (const [id, option] of draws) drawChart(echarts, $(id), option);
  }

  async function load() {
    const [start, end] = range();
    const [series] = await Promise.all([
      api.station(site, start.toISOString(), end.toISOString()),
      echarts ? null : loadECharts().then((m) => (echarts = m)),
    ]);
    if (stopped) return;
    $("station-name").textContent = series.name;
    $("station-meta").textContent = [
      series.site,
      t(`station.kind.${series.station_kind ?? "other"}`),
    ].join(" · ");
    render(series);
    $("updated").textContent = t("live.updated", { time: dateTime(end) });
  }

  if (focus) {
    $("focus").hidden = false;
    $("focus").innerHTML = focusText(focus);
  }
  load().catch(showError);
  if (!focus) timers.push(setInterval(() => load().catch(showError), REFRESH_MS));
  return () => {
    stopped = true;
    timers.forEach(clearInterval);
    if (echarts) disposeCharts(echarts, container);
  };
}
