// The table of alerts shared by the operator page and the regulator's inbox, with the
// acknowledge action (POST /api/v1/alerts/{id}/ack with an optional comment).
import { api } from "./api.js";
import { dateTime, escapeHtml, number } from "./format.js";
import { ruleName, t } from "./i18n.js";

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

export function sortAlerts(alerts) {
  return [...alerts].sort(
    (a, b) =>
      (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) ||
      Date.parse(b.started_at) - Date.parse(a.started_at),
  );
}

function ackedBy(alert) {
  return alert.acknowledged_by ?? alert.acked_by ?? null;
}

function subjectOf(alert) {
  if (alert.point) return alert.point;
  return alert.subject?.startsWith("site:") ? t("alert.wholeSite") : alert.subject;
}

// "24 h", "15 min", "30 s": the length of the window a value was computed over.
export function windowLength(seconds) {
  if (seconds >= 3600 && seconds % 3600 === 0) return t("alert.window.hours", { n: seconds / 3600 });
  if (seconds >= 60 && seconds % 60 === 0) return t("alert.window.minutes", { n: seconds / 60 });
  return t("alert.window.seconds", { n: number(seconds, 0) });
}

// A silent rule measures minutes since the last reading: it has no window to show.
function windowOf(alert) {
  if (alert.window_s === null || alert.window_s === undefined || alert.kind === "silent") return "";
  const text = t("alert.window", {
    length: windowLength(alert.window_s),
    end: dateTime(alert.evaluated_at),
  });
  return `<div class="muted alert-window">${escapeHtml(text)}</div>`;
}

function ackCell(alert) {
  const acked = ackedBy(alert);
  if (!acked) {
    return `<button type="button" class="ack" data-ack="${alert.id}">${t("alert.ack")}</button>`;
  }
  const comment = alert.ack_comment
    ? `<div class="ack-comment">${escapeHtml(alert.ack_comment)}</div>`
    : "";
  return `<span class="muted">${escapeHtml(t("alert.ackedBy", { user: acked }))}</span>${comment}`;
}

function row(alert, { showSite, fresh }) {
  const acked = ackedBy(alert);
  const value =
    alert.value === null || alert.value === undefined
      ? "–"
      : `${number(alert.value, 2)} / ${number(alert.threshold, 2)} ${escapeHtml(alert.unit ?? "")}`;
  const state = `<span class="state state-${escapeHtml(alert.state)}">${escapeHtml(t(`state.${alert.state}`))}</span>`;
  const classes = [fresh ? "new" : "", alert.state === "resolved" ? "resolved" : ""].join(" ").trim();
  return `<tr data-alert-id="${alert.id}" data-state="${escapeHtml(alert.state)}"
      data-severity="${escapeHtml(alert.severity)}" data-acked="${acked ? "yes" : "no"}" class="${classes}">
    <td><span class="badge sev-${escapeHtml(alert.severity)}">${escapeHtml(t(`severity.${alert.severity}`))}</span></td>
    ${showSite ? `<td><a href="#/site/${encodeURIComponent(alert.site ?? "")}">${escapeHtml(alert.site ?? "")}</a></td>` : ""}
    <td class="rule" title="${escapeHtml(alert.rule)}"><a href="#/alert/${alert.id}" data-drill="${alert.id}">${escapeHtml(ruleName(alert.rule))}</a></td>
    <td>${escapeHtml(subjectOf(alert))}</td>
    <td class="num">${value}${windowOf(alert)}</td>
    <td>${state}</td>
    <td>${dateTime(alert.started_at)}</td>
    <td class="ack-cell">${ackCell(alert)}</td>
  </tr>`;
}

export function renderAlerts(container, alerts, { showSite = false, fresh = new Set(), onAcked }) {
  if (!alerts.length) {
    container.innerHTML = `<div class="empty">${t(showSite ? "reg.inbox.empty" : "site.alerts.none")}</div>`;
    return;
  }
  container.innerHTML = `<table class="alerts">
    <thead><tr>
      <th>${t("col.severity")}</th>${showSite ? `<th>${t("col.site")}</th>` : ""}
      <th>${t("col.rule")}</th><th>${t("col.subject")}</th><th class="num">${t("col.value")}</th>
      <th>${t("col.state")}</th><th>${t("col.since")}</th><th>${t("col.ack")}</th>
    </tr></thead>
    <tbody>${sortAlerts(alerts).map((a) => row(a, { showSite, fresh: fresh.has(a.id) })).join("")}</tbody>
  </table>`;
  container.querySelectorAll("button[data-ack]").forEach((button) => {
    button.addEventListener("click", () => openAckForm(button, onAcked));
  });
}

function openAckForm(button, onAcked) {
  const id = Number(button.dataset.ack);
  const cell = button.parentElement;
  cell.innerHTML = `<form class="ack-form">
      <input name="comment" placeholder="${t("alert.ackPrompt")}" maxlength="2000" />
      <button type="submit" class="ack" data-ack-confirm="${id}">${t("alert.ack")}</button>
    </form>`;
  const form = cell.querySelector("form");
  form.comment.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    try {
      const alert = await api.ack(id, form.comment.value);
      onAcked?.(alert);
    } catch (exc) {
      cell.innerHTML = `<span class="error">${escapeHtml(t("app.error", { detail: exc.message }))}</span>`;
    }
  });
}
