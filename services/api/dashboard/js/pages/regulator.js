// The regulator's console: enterprises of the region ranked, the alert inbox, drill-down.
import { renderAlerts } from "../alerts-table.js";
import { api } from "../api.js";
import { escapeHtml, number, share } from "../format.js";
import { industryName, t } from "../i18n.js";
import { regionsOf } from "../session.js";
import { renderStations } from "../stations-list.js";

const POLL_MS = 5_000;
const RANK_BY = ["breaches", "intensity", "tce", "tco2"];

function layout(regions, region, by) {
  const regionOptions = regions
    .map((r) => `<option value="${escapeHtml(r)}" ${r === region ? "selected" : ""}>${escapeHtml(r)}</option>`)
    .join("");
  const byOptions = RANK_BY.map(
    (b) => `<option value="${b}" ${b === by ? "selected" : ""}>${t(`reg.by.${b}`)}</option>`,
  ).join("");
  return `
    <h1>${t("reg.title")}</h1>
    <div class="toolbar">
      <label>${t("reg.region")} <select id="region">${regionOptions}</select></label>
      <label>${t("reg.rankBy")} <select id="rank-by">${byOptions}</select></label>
      <span class="muted" id="inbox-news"></span>
    </div>
    <div class="error" id="page-error"></div>
    <div class="grid">
      <section class="panel span-12">
        <h2>${t("reg.ranking")}</h2>
        <div id="ranking"></div>
      </section>
      <section class="panel span-12">
        <h2>${t("reg.inbox")} <span class="badge" id="inbox-count">0</span></h2>
        ${inboxFilter()}
        <div id="inbox"></div>
      </section>
      <section class="panel span-12">
        <h2>${t("reg.stations")}</h2>
        <div id="stations"></div>
      </section>
    </div>`;
}

// Advisories (info: a plant above the benchmark) are the operator's; a regulator asks for them.
const INBOX_SEVERITIES = ["critical", "warning", "info"];
const INBOX_DEFAULT = new Set(["critical", "warning"]);

function inboxFilter() {
  const boxes = INBOX_SEVERITIES.map(
    (sev) => `<label><input type="checkbox" data-severity="${sev}" ${INBOX_DEFAULT.has(sev) ? "checked" : ""} />
        <span class="badge sev-${sev}">${t(`severity.${sev}`)}</span>
        <span class="count" id="inbox-count-${sev}">0</span></label>`,
  ).join("");
  return `<div class="toolbar" id="inbox-filter"><span class="muted">${t("reg.inbox.show")}</span>${boxes}
      <span class="muted">${t("reg.inbox.hint")}</span></div>`;
}

function rankingTable(items, offset) {
  if (!items.length) return `<div class="empty">${t("reg.none")}</div>`;
  const rows = items
    .map((s, i) => {
      const intensity =
        s.intensity === null || s.intensity === undefined
          ? "–"
          : `${number(s.intensity, 1)} ${escapeHtml(s.intensity_unit ?? "")}`;
      const sev = s.max_severity
        ? `<span class="badge sev-${escapeHtml(s.max_severity)}">${s.firing_alerts} / ${s.open_alerts}</span>`
        : `${s.firing_alerts} / ${s.open_alerts}`;
      return `<tr class="clickable" data-site="${escapeHtml(s.site)}">
        <td class="num">${offset + i + 1}</td>
        <td><a href="#/site/${encodeURIComponent(s.site)}">${escapeHtml(s.name)}</a>
          <div class="muted">${escapeHtml(s.site)}</div></td>
        <td>${escapeHtml(industryName(s.industry))}</td>
        <td>${escapeHtml(s.division_code)}</td>
        <td class="num">${sev}</td>
        <td class="num">${intensity}</td>
        <td class="num">${number(s.tce, 1)}</td>
        <td class="num">${number(s.tco2, 1)}</td>
        <td class="num">${share(s.budget_share)}</td>
      </tr>`;
    })
    .join("");
  return `<table id="ranking-table"><thead><tr>
      <th class="num">${t("col.rank")}</th><th>${t("col.site")}</th><th>${t("col.industry")}</th>
      <th>${t("col.division")}</th><th class="num">${t("col.alerts")}</th>
      <th class="num">${t("col.intensity")}</th><th class="num">${t("col.tce")}</th>
      <th class="num">${t("col.tco2")}</th><th class="num">${t("col.budgetShare")}</th>
    </tr></thead><tbody>${rows}</tbody></table>`;
}

export function mount(container, { session, region }) {
  const regions = regionsOf(session);
  // An admin has no scope: it names the region in the address (#/region/14), default all.
  const current = region || regions[0] || "";
  let by = "breaches";
  container.innerHTML = layout(regions.length ? regions : [current], current, by);
  const $ = (id) => container.querySelector(`#${id}`);
  const seen = new Set();
  let firstInbox = true;
  let stopped = false;
  let ackFormOpen = false;
  const timers = [];

  const showError = (exc) => {
    $("page-error").textContent = t("app.error", { detail: exc.message });
  };

  async function loadRanking() {
    if (!current) return;
    const answer = await api.ranking(current, by, 100);
    if (stopped) return;
    $("ranking").innerHTML = rankingTable(answer.items, answer.offset ?? 0);
    $("ranking").querySelectorAll("tr[data-site]").forEach((tr) => {
      tr.addEventListener("click", () => {
        location.hash = `#/site/${encodeURIComponent(tr.dataset.site)}`;
      });
    });
  }

  async function loadInbox() {
    // An open acknowledge form would be wiped by a redraw: wait until it is sent.
    if (ackFormOpen) return;
    const severity = [...container.querySelectorAll("#inbox-filter input:checked")].map(
      (box) => box.dataset.severity,
    );
    // No severity chosen: nothing to list, but the counts still say what each would show.
    const answer = await api.alerts({ state: "inbox", severity, limit: severity.length ? 200 : 1 });
    if (stopped || ackFormOpen) return;
    if (!severity.length) Object.assign(answer, { items: [], total: 0 });
    for (const sev of INBOX_SEVERITIES) {
      $(`inbox-count-${sev}`).textContent = String(answer.counts[sev]);
    }
    const fresh = new Set();
    for (const alert of answer.items) {
      if (!seen.has(alert.id) && !firstInbox) fresh.add(alert.id);
      seen.add(alert.id);
    }
    firstInbox = false;
    $("inbox-count").textContent = String(answer.total);
    $("inbox-news").textContent = fresh.size ? t("reg.newAlerts", { count: fresh.size }) : "";
    renderAlerts($("inbox"), answer.items, {
      showSite: true,
      fresh,
      onAcked: () => {
        ackFormOpen = false;
        Promise.all([loadInbox(), loadRanking()]).catch(showError);
      },
    });
    $("inbox").querySelectorAll("button[data-ack]").forEach((button) => {
      button.addEventListener("click", () => {
        ackFormOpen = true;
      });
    });
  }

  $("region").addEventListener("change", (event) => {
    location.hash = `#/region/${encodeURIComponent(event.target.value)}`;
  });
  $("inbox-filter").addEventListener("change", () => {
    firstInbox = true; // what a wider filter uncovers is not new
    loadInbox().catch(showError);
  });
  $("rank-by").addEventListener("change", (event) => {
    by = event.target.value;
    loadRanking().catch(showError);
  });

  Promise.all([loadRanking(), loadInbox()]).catch(showError);
  if (current) renderStations($("stations"), current).catch(showError);
  timers.push(
    setInterval(() => {
      Promise.all([loadRanking(), loadInbox()]).catch(showError);
    }, POLL_MS),
  );

  return () => {
    stopped = true;
    timers.forEach(clearInterval);
  };
}
