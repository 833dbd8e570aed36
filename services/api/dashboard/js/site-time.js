// Times as the site keeps them, whatever the browser's time zone: chart axes and tooltips,
// and the site's calendar (today, a day's month) for the date pickers. Pure: no DOM.
export const DEFAULT_TIME_ZONE = "Asia/Shanghai";

function parts(ms, timeZone) {
  const fields = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  return Object.fromEntries(fields.map((p) => [p.type, p.value]));
}

// The site's calendar day of an instant, as YYYY-MM-DD.
export function siteDay(ms, timeZone = DEFAULT_TIME_ZONE) {
  const p = parts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

// A time-axis label: the date at the site's midnight, else the time of day.
export function axisLabel(ms, timeZone = DEFAULT_TIME_ZONE) {
  const p = parts(ms, timeZone);
  return p.hour === "00" && p.minute === "00" ? `${p.month}-${p.day}` : `${p.hour}:${p.minute}`;
}

// Calendar arithmetic on YYYY-MM-DD strings (no time zone involved: they are the site's days).
export function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

export function daysBetween(first, last) {
  return Math.round((Date.parse(`${last}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / 86_400_000);
}

// The instant (ms) the site's day YYYY-MM-DD begins: its midnight, through the zone's offset
// on that day (looked up twice, for a day whose offset changes at midnight).
export function siteMidnight(day, timeZone = DEFAULT_TIME_ZONE) {
  const [y, m, d] = day.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  let ms = wall - offsetMs(wall, timeZone);
  ms = wall - offsetMs(ms, timeZone);
  return ms;
}

function offsetMs(ms, timeZone) {
  const p = parts(ms, timeZone);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute);
  return asUtc - Math.floor(ms / 60_000) * 60_000;
}
