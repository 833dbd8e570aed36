// ECharts option builders: data in, option object out (no DOM here).
import { indicatorName, measureName, t } from "./i18n.js";
import { dateTime } from "./format.js";
import { DEFAULT_TIME_ZONE, axisLabel } from "./site-time.js";

const PALETTE = ["#1f6feb", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2", "#65a30d"];

// ECharts draws time axes in the browser's time zone; the labels and the tooltip are written
// in the site's instead, as every time in the page's text is (8 h apart in a UTC browser).
function timeAxis(timeZone) {
  return {
    type: "time",
    axisLabel: { hideOverlap: true, formatter: (ms) => axisLabel(ms, timeZone) },
    axisPointer: { label: { formatter: ({ value }) => dateTime(value, timeZone) } },
  };
}

function axisTooltip(timeZone) {
  return {
    trigger: "axis",
    formatter: (items) => {
      const list = Array.isArray(items) ? items : [items];
      if (!list.length) return "";
      const head = dateTime(list[0].value[0], timeZone);
      const rows = list.map((i) => `${i.marker}${i.seriesName}: ${formatValue(i.value[1])}`);
      return [head, ...rows].join("<br>");
    },
  };
}

function formatValue(v) {
  return v === null || v === undefined ? "–" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 3 });
}

function baseOption(timeZone = DEFAULT_TIME_ZONE) {
  return {
    color: PALETTE,
    animation: false,
    grid: { left: 56, right: 24, top: 40, bottom: 32 },
    tooltip: axisTooltip(timeZone),
    legend: { top: 4, type: "scroll" },
  };
}

export function powerOption(points, { timeZone = DEFAULT_TIME_ZONE } = {}) {
  return {
    ...baseOption(timeZone),
    xAxis: timeAxis(timeZone),
    yAxis: { type: "value", name: "kW", scale: true },
    series: points.map((p) => ({
      id: p.code,
      name: p.name ? `${p.name} (${p.code})` : p.code,
      type: "line",
      showSymbol: false,
      data: p.series,
    })),
  };
}

// One energy type at a time (legend in single-select mode): their units differ.
export function consumptionOption(byMeasure, { timeZone = DEFAULT_TIME_ZONE } = {}) {
  const selected = {};
  byMeasure.forEach((m, i) => {
    selected[seriesName(m)] = i === 0;
  });
  return {
    ...baseOption(timeZone),
    legend: { top: 4, type: "scroll", selectedMode: "single", selected },
    xAxis: timeAxis(timeZone),
    yAxis: { type: "value", name: byMeasure[0]?.unit ?? "" },
    series: byMeasure.map((m) => ({
      id: m.measure,
      name: seriesName(m),
      type: "bar",
      barMaxWidth: 10,
      data: m.data,
    })),
  };
}

function seriesName(m) {
  return `${measureName(m.measure)} (${m.unit})`;
}

export function consumptionSeriesUpdate(byMeasure) {
  return { series: byMeasure.map((m) => ({ id: m.measure, data: m.data })) };
}

// Rolling intensity with the benchmark (level 1) and the limit (level 3) as horizontal lines.
export function intensityOption(indicator, { timeZone = DEFAULT_TIME_ZONE } = {}) {
  const lines = [];
  const levels = indicator.levels;
  if (levels?.level1 !== null && levels?.level1 !== undefined) {
    lines.push({
      name: t("site.benchmark"),
      yAxis: levels.level1,
      lineStyle: { color: "#059669", type: "dashed" },
      label: { formatter: `${t("site.benchmark")} {c}`, position: "insideEndTop" },
    });
  }
  if (levels?.level3 !== null && levels?.level3 !== undefined) {
    lines.push({
      name: t("site.limit"),
      yAxis: levels.level3,
      lineStyle: { color: "#dc2626", type: "solid" },
      label: { formatter: `${t("site.limit")} {c}`, position: "insideEndTop" },
    });
  }
  const values = indicator.series.map(([, v]) => v).filter((v) => v !== null);
  const bounds = [...values, ...lines.map((l) => l.yAxis)];
  const label = indicatorName(indicator);
  return {
    ...baseOption(timeZone),
    legend: { show: false },
    xAxis: timeAxis(timeZone),
    yAxis: {
      type: "value",
      name: indicator.unit,
      min: bounds.length ? Math.floor(Math.min(...bounds) * 0.9) : null,
      max: bounds.length ? Math.ceil(Math.max(...bounds) * 1.05) : null,
    },
    series: [
      {
        name: label,
        type: "line",
        showSymbol: false,
        connectNulls: false,
        data: indicator.series.map(([ts, v]) => [Date.parse(ts), v]),
        markLine: { symbol: "none", silent: true, data: lines },
      },
    ],
  };
}

export function budgetGaugeOption(energy) {
  const used = energy.share_used ?? 0;
  const projected = energy.projected_share;
  return {
    animation: false,
    series: [
      {
        type: "gauge",
        min: 0,
        max: 120,
        splitNumber: 6,
        radius: "95%",
        center: ["50%", "58%"],
        axisLine: {
          lineStyle: {
            width: 14,
            color: [
              [0.75, "#059669"],
              [0.8333, "#d97706"],
              [1, "#dc2626"],
            ],
          },
        },
        pointer: { width: 5 },
        axisLabel: { distance: 18, formatter: "{value}%" },
        detail: {
          valueAnimation: false,
          formatter: (v) => `${t("site.budget.used")} ${v.toFixed(1)}%`,
          fontSize: 18,
          offsetCenter: [0, "62%"],
        },
        title: { show: false },
        data: [{ value: Math.round(used * 1000) / 10, name: t("site.budget.used") }],
      },
      ...(projected === null || projected === undefined
        ? []
        : [
            {
              type: "gauge",
              min: 0,
              max: 120,
              radius: "95%",
              center: ["50%", "58%"],
              axisLine: { show: false },
              axisTick: { show: false },
              splitLine: { show: false },
              axisLabel: { show: false },
              pointer: { width: 3, length: "75%", itemStyle: { color: "#9333ea" } },
              detail: { show: false },
              title: { show: false },
              data: [{ value: Math.round(projected * 1000) / 10 }],
            },
          ]),
    ],
  };
}

// Daily tce per energy type over a range of the site's days (stacked; exports below zero).
export function historyOption(days, byMeasure) {
  return {
    ...baseOption(),
    tooltip: { trigger: "axis", valueFormatter: formatValue },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value", name: "tce" },
    series: byMeasure.map((m) => ({
      id: m.measure,
      name: measureName(m.measure),
      type: "bar",
      stack: "tce",
      barMaxWidth: 24,
      data: days.map((d) => m.tce.get(d) ?? null),
    })),
  };
}

// The enterprise's balance as a Sankey: nodes and links from energy-flow.js, in tce. Nodes are
// named by their stable id (what the browser tests read); people see the title.
export function energyFlowOption(flows) {
  const titles = new Map(flows.nodes.map((n) => [n.id, n.title]));
  const title = (id) => titles.get(id) ?? id;
  return {
    color: PALETTE,
    animation: false,
    tooltip: {
      trigger: "item",
      formatter: ({ dataType, data, value }) =>
        dataType === "edge"
          ? `${title(data.source)} → ${title(data.target)}: ${formatValue(value)} tce`
          : `${title(data.name)}: ${formatValue(value)} tce`,
    },
    series: [
      {
        type: "sankey",
        left: 8,
        right: 160,
        top: 12,
        bottom: 12,
        nodeAlign: "justify",
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", opacity: 0.45 },
        label: { formatter: ({ name }) => title(name) },
        data: flows.nodes.map((n) => ({ name: n.id })),
        links: flows.links.map((l) => ({ source: l.source, target: l.target, value: l.value })),
      },
    ],
  };
}
