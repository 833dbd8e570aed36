// Numbers, shares and times as a reader of the chosen language expects them.
import { language } from "./i18n.js";

export function number(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(language(), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function share(value) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(language(), { style: "percent", maximumFractionDigits: 1 }).format(
    value,
  );
}

export function dateTime(value, timeZone = "Asia/Shanghai") {
  if (!value) return "–";
  return new Intl.DateTimeFormat(language(), {
    timeZone,
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23", // not hour12: false, which writes midnight as 24:00 in English
  }).format(new Date(value));
}

export function time(value, timeZone = "Asia/Shanghai") {
  return new Intl.DateTimeFormat(language(), {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23", // not hour12: false, which writes midnight as 24:00 in English
  }).format(new Date(value));
}

export function escapeHtml(text) {
  return String(text ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}
