// Every request the dashboard makes, in one place (see docs/api.md).
import { clearSession, loadSession } from "./session.js";

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

async function request(path, { method = "GET", body, form, query } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    // A list is the parameter repeated (severity=warning&severity=critical).
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") url.searchParams.append(name, one);
    }
  }
  const headers = { Accept: "application/json" };
  const session = loadSession();
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let payload;
  if (form) {
    payload = new URLSearchParams(form);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload });
  if (response.ok) return response.status === 204 ? null : response.json();
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // not a problem document (a proxy's error page): keep the status only
  }
  if (response.status === 401 && session && !form) {
    clearSession();
    location.hash = "#/login";
  }
  throw new ApiError(response.status, problem, response.headers.get("Retry-After"));
}

const enc = encodeURIComponent;

export const api = {
  login: (username, password) =>
    request("/auth/token", { method: "POST", form: { username, password } }),
  me: () => request("/auth/me"),
  site: (site) => request(`/sites/${enc(site)}`),
  live: (site, hours = 24, bucket = "5m") =>
    request(`/sites/${enc(site)}/live`, { query: { hours, bucket } }),
  intensity: (site, start, end, windowHours = 24) =>
    request(`/sites/${enc(site)}/intensity`, {
      query: { start, end, window_hours: windowHours },
    }),
  budget: (site) => request(`/sites/${enc(site)}/budget`),
  alerts: (query) => request("/alerts", { query }),
  ack: (id, comment = "") => request(`/alerts/${id}/ack`, { method: "POST", body: { comment } }),
  alert: (id) => request(`/alerts/${id}`),
  readings: (site, point, start, end, bucket = "1m") =>
    request(`/sites/${enc(site)}/points/${enc(point)}/readings`, { query: { start, end, bucket } }),
  stations: (division) => request(`/regions/${enc(division)}/stations`),
  station: (site, start, end) => request(`/sites/${enc(site)}/station`, { query: { start, end } }),
  ranking: (division, by = "breaches", limit = 100) =>
    request(`/regions/${enc(division)}/ranking`, { query: { period: "day", by, limit } }),
  consumption: (site, query) => request(`/sites/${enc(site)}/consumption`, { query }),
  energyFlows: (site, query) => request(`/sites/${enc(site)}/energy-flows`, { query }),
  unitBalance: (site, query) => request(`/sites/${enc(site)}/units/balance`, { query }),
};

// A report file (CSV, XLSX): fetched with the session's token (a plain link could not send
// it), answered as a Blob with the file name the API gives.
export async function downloadReport(site, period, value, format) {
  const kind = period === "month" ? "monthly" : "daily";
  const url = new URL(`${BASE}/reports/sites/${enc(site)}/${kind}`, location.origin);
  url.searchParams.set(period === "month" ? "month" : "day", value);
  url.searchParams.set("format", format);
  const session = loadSession();
  const headers = session ? { Authorization: `Bearer ${session.token}` } : {};
  const response = await fetch(url, { headers });
  if (!response.ok) throw new ApiError(response.status, null);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `report.${format}`;
  return { blob: await response.blob(), name };
}

// The live stream: EventSource cannot send headers, so the URL carries a ticket that opens
// a stream within a minute and does nothing else; the session's token never goes in a URL.
export async function streamUrl(site) {
  const url = new URL(`${BASE}/sites/${enc(site)}/stream`, location.origin);
  const answer = await request("/auth/stream-ticket", { method: "POST" });
  url.searchParams.set("ticket", answer.ticket);
  return url.toString();
}
