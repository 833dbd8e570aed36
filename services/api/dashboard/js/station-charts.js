// ECharts option builders for monitoring stations: data in, option object out (no DOM here).
// Times are ms since the epoch (the station API's unit).
import { measureName, t } from "./i18n.js";

const COLORS = { corrected: "#dc2626", measured: "#1f6feb", hourly: "#059669", other: "#9333ea" };
const FLAG_FILL = "rgba(120, 120, 120, 0.18)";
const INVALID_HOUR_FILL = "rgba(217, 119, 6, 0.10)";
const BREACH_FILL = "rgba(220, 38, 38, 0.16)";
const FOR_FILL = "rgba(217, 119, 6, 0.20)";
const WINDOW_FILL = "rgba(31, 111, 235, 0.08)";
const HOUR_MS = 3_600_000;

function base() {
  return {
    animation: false,
    grid: { left: 16, right: 24, top: 40, bottom: 16, containLabel: true },
    tooltip: { trigger: "axis" },
    legend: { top: 4, type: "scroll" },
    xAxis: { type: "time", axisLabel: { hideOverlap: true } },
  };
}

function area(name, start, end, color) {
  return [{ name, xAxis: start, itemStyle: { color } }, { xAxis: end }];
}

// Bands of flagged minutes (calibration, maintenance, fault...), drawn behind the series.
export function flagAreas(bands) {
  return bands.map((b) => area(t(`station.quality.${b.quality}`), b.start, b.end, FLAG_FILL));
}

// The windows of an alert: the rule's evaluation window before it started, the `for` wait,
// and the breach itself (until resolved, or now).
export function alertAreas(focus) {
  if (!focus) return [];
  const out = [];
  if (focus.windowStart < focus.startedAt) {
    out.push(area(t("station.window"), focus.windowStart, focus.startedAt, WINDOW_FILL));
  }
  if (focus.firedAt && focus.firedAt > focus.startedAt) {
    out.push(area(t("station.for"), focus.startedAt, focus.firedAt, FOR_FILL));
  }
  out.push(area(t("station.breach"), focus.firedAt ?? focus.startedAt, focus.endAt, BREACH_FILL));
  return out;
}

function limitLine(value, label) {
  return {
    name: label,
    yAxis: value,
    lineStyle: { color: "#dc2626", type: "solid", width: 2 },
    label: { formatter: `${label} {c}`, position: "insideEndTop" },
  };
}

// One pollutant of a stack: corrected (judged) and measured minute values, valid hourly means,
// the limit as a line, flagged minutes and invalid hours as bands, and an alert's windows.
export function pollutantOption(pollutant, measured, focus = null) {
  const unit = measured?.unit ?? "mg/m3";
  const limit = focus?.threshold ?? pollutant.limit;
  const hours = pollutant.hourly;
  const invalidHours = hours
    .filter((h) => h.mean === null && h.complete)
    .map((h) => area(t("station.invalidHour"), h.hour, h.hour + HOUR_MS, INVALID_HOUR_FILL));
  const marks = [...flagAreas(measured?.flags ?? []), ...invalidHours, ...alertAreas(focus)];
  const name = measureName(pollutant.measure);
  return {
    ...base(),
    color: [COLORS.corrected, COLORS.measured, COLORS.hourly],
    yAxis: { type: "value", name: unit, scale: true },
    series: [
      {
        id: "corrected",
        name: t("station.corrected", { name, o2: pollutant.reference_o2 }),
        type: "line",
        showSymbol: false,
        data: pollutant.corrected,
        markLine:
          limit === null || limit === undefined
            ? undefined
            : { symbol: "none", silent: true, data: [limitLine(limit, t("station.limit"))] },
        markArea: { silent: true, data: marks },
      },
      {
        id: "measured",
        name: t("station.measured", { name }),
        type: "line",
        showSymbol: false,
        lineStyle: { type: "dashed" },
        data: measured?.minutes ?? [],
      },
      {
        id: "hourly",
        name: t("station.hourly"),
        type: "line",
        step: "start",
        showSymbol: false,
        data: hours.filter((h) => h.mean !== null).map((h) => [h.hour + HOUR_MS, h.mean]),
      },
    ],
  };
}

// One measurand (O2, flow, temperature, a gas) with its flagged minutes as bands.
export function pointOption(point, focus = null, threshold = null) {
  const marks = [...flagAreas(point.flags), ...alertAreas(focus)];
  return {
    ...base(),
    color: [COLORS.other],
    legend: { show: false },
    yAxis: { type: "value", name: point.unit, scale: true },
    series: [
      {
        id: point.code,
        name: `${measureName(point.measure)} (${point.code})`,
        type: "line",
        showSymbol: false,
        data: point.minutes,
        markLine:
          threshold === null
            ? undefined
            : { symbol: "none", silent: true, data: [limitLine(threshold, t("station.limit"))] },
        markArea: { silent: true, data: marks },
      },
    ],
  };
}

// Mean by local hour of day of each gas, one axis per unit.
export function diurnalOption(gases) {
  const units = [...new Set(gases.map((g) => g.unit))];
  return {
    animation: false,
    grid: { left: 16, right: 16, top: 40, bottom: 16, containLabel: true },
    tooltip: { trigger: "axis" },
    legend: { top: 4 },
    xAxis: { type: "category", data: [...Array(24).keys()].map((h) => `${h}:00`) },
    yAxis: units.map((u, i) => ({ type: "value", name: u, scale: true, position: i ? "right" : "left" })),
    series: gases.map((g) => ({
      id: g.code,
      name: measureName(g.measure),
      type: "line",
      yAxisIndex: units.indexOf(g.unit),
      connectNulls: false,
      data: g.diurnal,
    })),
  };
}
