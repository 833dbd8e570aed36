// One enterprise, live: the operator's page and the regulator's drill-down.
import { renderAlerts } from "../alerts-table.js";
import { api, streamUrl } from "../api.js";
import {
  budgetGaugeOption,
  consumptionOption,
  consumptionSeriesUpdate,
  intensityOption,
  powerOption,
} from "../charts.js";
import { disposeCharts, drawChart, loadECharts } from "../echarts-loader.js";
import { escapeHtml, number, share, time } from "../format.js";
import { indicatorName, industryName, measureName, t } from "../i18n.js";
import { applyReadings, consumptionByMeasure, createLiveModel, powerPoints } from "../live-model.js";
import { DEFAULT_TIME_ZONE, siteDay } from "../site-time.js";
import { balancePanel, mountBalance } from "./site-balance.js";
import { historyPanel, mountHistory } from "./site-history.js";

const HOURS = 24;
const BUCKET = "5m";
const REFRESH_MS = 60_000;
const INTENSITY_DAYS = 3;
const RECONNECT_MS = 5_000;

function layout(site, back) {
  return `
    <div class="site-head">
      ${back ? `<a href="${back}">← ${t("app.back")}</a>` : ""}
      <h1 id="site-name">${escapeHtml(site)}</h1>
      <span class="muted" id="site-meta"></span>
      <span class="badge live" id="live-status" data-state="connecting">…</span>
      <span class="muted" id="updated"></span>
    </div>
    <div class="error" id="page-error"></div>
    <div class="grid">
      <section class="panel span-3 kpi">
        <h2>${t("site.today")}</h2>
        <div class="label">${t("site.today.tce")}</div>
        <div class="value" id="today-tce">–</div>
      </section>
      <section class="panel span-3 kpi">
        <h2>${t("site.today")}</h2>
        <div class="label">${t("site.today.tco2")}</div>
        <div class="value" id="today-tco2">–</div>
      </section>
      <section class="panel span-6">
        <h2>${t("site.byMeasure")}</h2>
        <div id="today-by-measure"></div>
      </section>
      <section class="panel span-8">
        <h2>${t("site.power")} · ${t("site.window", { hours: HOURS })}</h2>
        <div class="chart" id="chart-power"></div>
      </section>
      <section class="panel span-4">
        <h2>${t("site.budget")}</h2>
        <div class="chart small" id="chart-budget"></div>
        <div class="budget-text" id="budget-text"></div>
      </section>
      <section class="panel span-6">
        <h2>${t("site.consumption")} · ${t("site.window", { hours: HOURS })}</h2>
        <div class="chart" id="chart-consumption"></div>
      </section>
      <section class="panel span-6">
        <h2>${t("site.intensity")}</h2>
        <div id="intensity"></div>
      </section>
      <section class="panel span-12">
        <h2>${t("site.alerts")}</h2>
        <div id="alerts"></div>
      </section>
      ${balancePanel()}
      ${historyPanel()}
    </div>`;
}

function byMeasureTable(today) {
  if (!today.by_measure.length) return `<div class="empty">${t("site.noConsumption")}</div>`;
  const rows = today.by_measure
    .map(
      (m) => `<tr data-measure="${escapeHtml(m.measure)}">
        <td>${escapeHtml(measureName(m.measure))}</td>
        <td class="num">${number(m.quantity, 1)}</td><td>${escapeHtml(m.unit)}</td>
        <td class="num">${number(m.tce, 3)}</td><td class="num">${number(m.tco2, 3)}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>${t("col.measure")}</th><th class="num">${t("col.quantity")}</th>
    <th>${t("col.unit")}</th><th class="num">${t("col.tce")}</th><th class="num">${t("col.tco2")}</th>
    </tr></thead><tbody>${rows}</tbody></table>`;
}

// What the projection rests on (docs/computation.md, "Budget"): the span the data cover,
// or why there is no projection.
function budgetBasis(budget, energy, timeZone) {
  const yearMs = Date.parse(budget.period_end) - Date.parse(budget.period_start);
  if (!budget.data_since) return [t("site.budget.noData")];
  if (energy.projection === null || energy.projection === undefined) {
    return [
      t("site.budget.tooShort", {
        hours: number((budget.covered * yearMs) / 3_600_000, 1),
        min: number((budget.min_covered * yearMs) / 3_600_000, 0),
      }),
    ];
  }
  return [
    t("site.budget.projection", {
      value: number(energy.projection, 0),
      share: share(energy.projected_share),
    }),
    t("site.budget.since", {
      date: siteDay(Date.parse(budget.data_since), timeZone),
      days: number((budget.covered * yearMs) / 86_400_000, 1),
    }),
    energy.pace === null || energy.pace === undefined
      ? ""
      : t("site.budget.pace", { pace: number(energy.pace, 2) }),
  ];
}

export function mount(container, { site, back }) {
  container.innerHTML = layout(site, back);
  const $ = (id) => container.querySelector(`#${id}`);
  let echarts = null;
  let model = null;
  let alerts = new Map();
  let source = null;
  let stopped = false;
  // The site's time zone (GET /sites/{site}): charts and texts keep the site's time.
  let timeZone = DEFAULT_TIME_ZONE;
  const panels = []; // balance and history, once the site's time zone is known
  const timers = [];

  const showError = (exc) => {
    $("page-error").textContent = t("app.error", { detail: exc.message });
  };

  function drawAlerts() {
    const open = [...alerts.values()].filter((a) => a.state !== "resolved");
    renderAlerts($("alerts"), open, {
      onAcked: (alert) => {
        alerts.set(alert.id, alert);
        drawAlerts();
      },
    });
  }

  function drawLiveCharts({ replace }) {
    const power = powerPoints(model);
    const powerEl = $("chart-power");
    if (power.length) drawChart(echarts, powerEl, powerOption(power, { timeZone }), { replace });
    else powerEl.innerHTML = `<div class="empty">${t("site.noPower")}</div>`;
    const consumption = consumptionByMeasure(model);
    const consEl = $("chart-consumption");
    if (!consumption.length) {
      consEl.innerHTML = `<div class="empty">${t("site.noConsumption")}</div>`;
      return;
    }
    const option = replace
      ? consumptionOption(consumption, { timeZone })
      : consumptionSeriesUpdate(consumption);
    const chart = drawChart(echarts, consEl, option, { replace });
    if (replace) {
      chart.on("legendselectchanged", (event) => {
        const picked = consumption.find((m) => event.name.startsWith(measureName(m.measure)));
        if (picked) chart.setOption({ yAxis: { name: picked.unit } });
      });
    }
  }

  async function loadLive() {
    const live = await api.live(site, HOURS, BUCKET);
    if (stopped) return;
    model = createLiveModel(live, HOURS);
    $("today-tce").textContent = number(live.today.tce, 2);
    $("today-tco2").textContent = number(live.today.tco2, 2);
    $("today-by-measure").innerHTML = byMeasureTable(live.today);
    alerts = new Map(live.alerts.map((a) => [a.id, a]));
    drawAlerts();
    disposeCharts(echarts, $("chart-power").parentElement);
    disposeCharts(echarts, $("chart-consumption").parentElement);
    drawLiveCharts({ replace: true });
    $("updated").textContent = t("live.updated", { time: time(live.now, timeZone) });
  }

  async function loadSite() {
    const info = await api.site(site);
    if (stopped) return;
    if (info.kind === "station") {
      location.replace(`#/station/${encodeURIComponent(info.code)}`);
      return;
    }
    $("site-name").textContent = info.name;
    timeZone = info.timezone || DEFAULT_TIME_ZONE;
    $("site-meta").textContent = [info.code, industryName(info.industry), info.division_code]
      .filter(Boolean)
      .join(" · ");
  }

  async function loadBudget() {
    const budget = await api.budget(site);
    if (stopped) return;
    const energy = budget.energy;
    if (!energy?.budget) {
      $("chart-budget").innerHTML = `<div class="empty">${t("site.budget.none")}</div>`;
      return;
    }
    drawChart(echarts, $("chart-budget"), budgetGaugeOption(energy));
    $("chart-budget").dataset.shareUsed = String(energy.share_used);
    $("budget-text").innerHTML = [
      `${number(energy.ytd, 0)} / ${number(energy.budget, 0)} tce`,
      ...budgetBasis(budget, energy, timeZone),
    ]
      .filter(Boolean)
      .map((line) => `<div>${escapeHtml(line)}</div>`)
      .join("");
  }

  async function loadIntensity() {
    const end = new Date();
    const start = new Date(end.getTime() - INTENSITY_DAYS * 86_400_000);
    const answer = await api.intensity(site, start.toISOString(), end.toISOString(), 24);
    if (stopped) return;
    const holder = $("intensity");
    disposeCharts(echarts, holder);
    if (!answer.indicators.length) {
      holder.innerHTML = `<div class="empty">${t("site.intensity.none")}</div>`;
      return;
    }
    holder.innerHTML = answer.indicators
      .map(
        (ind, i) => `<div class="muted">${escapeHtml(indicatorName(ind))} (${escapeHtml(ind.unit)})</div>
          <div class="chart" id="chart-intensity-${i}" data-indicator="${escapeHtml(ind.indicator)}"></div>`,
      )
      .join("");
    answer.indicators.forEach((ind, i) => {
      drawChart(echarts, $(`chart-intensity-${i}`), intensityOption(ind, { timeZone }));
    });
  }

  function setLiveState(state) {
    const badge = $("live-status");
    badge.dataset.state = state;
    badge.textContent = state === "open" ? t("live.connected") : t("live.disconnected");
  }

  async function connect() {
    if (stopped) return;
    let url;
    try {
      url = await streamUrl(site);
    } catch {
      setLiveState("closed");
      timers.push(setTimeout(connect, RECONNECT_MS));
      return;
    }
    if (stopped) return;
    source = new EventSource(url);
    source.addEventListener("hello", () => setLiveState("open"));
    source.addEventListener("readings", (event) => {
      if (!model) return;
      const data = JSON.parse(event.data);
      const changed = applyReadings(model, data.readings);
      if (changed.size) {
        drawLiveCharts({ replace: false });
        $("updated").textContent = t("live.updated", { time: time(model.newest, timeZone) });
      }
    });
    source.addEventListener("alert", (event) => {
      const alert = JSON.parse(event.data);
      alerts.set(alert.id, alert);
      drawAlerts();
    });
    source.addEventListener("error", () => {
      setLiveState("closed");
      // The browser retries by itself (with the same ticket, refused once it has expired);
      // a stream the server refused is opened again with a new ticket.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        timers.push(setTimeout(connect, RECONNECT_MS));
      }
    });
  }

  (async () => {
    try {
      echarts = await loadECharts();
      await loadSite();
      await loadLive();
      await Promise.all([connect(), loadBudget(), loadIntensity()]);
      const panel = { site, timeZone, echarts, onError: showError };
      panels.push(mountBalance($("balance-panel"), panel), mountHistory($("history-panel"), panel));
    } catch (exc) {
      showError(exc);
    }
    timers.push(
      setInterval(() => {
        Promise.all([loadLive(), loadBudget(), loadIntensity()]).catch(showError);
        panels.forEach((p) => p.reload()); // today's figures grow; a past period stays as it was
      }, REFRESH_MS),
    );
  })();

  const onResize = () => {
    if (!echarts) return;
    container.querySelectorAll(".chart").forEach((el) => echarts.getInstanceByDom(el)?.resize());
  };
  window.addEventListener("resize", onResize);

  return () => {
    stopped = true;
    source?.close();
    timers.forEach((id) => {
      clearTimeout(id);
      clearInterval(id);
    });
    window.removeEventListener("resize", onResize);
    if (echarts) disposeCharts(echarts, container);
  };
}
