// The stations of the regulator's region (stacks and greenhouse-gas stations), each opening
// its station page.
import { api } from "./api.js";
import { dateTime, escapeHtml } from "./format.js";
import { measureName, t } from "./i18n.js";

export async function renderStations(container, division) {
  const stations = await api.stations(division);
  if (!stations.length) {
    container.innerHTML = `<div class="empty">${t("reg.stations.none")}</div>`;
    return;
  }
  const rows = stations
    .map(
      (s) => `<tr class="clickable" data-station="${escapeHtml(s.code)}">
        <td><a href="#/station/${encodeURIComponent(s.code)}">${escapeHtml(s.name)}</a>
          <div class="muted">${escapeHtml(s.code)}</div></td>
        <td>${escapeHtml(t(`station.kind.${s.station_kind ?? "other"}`))}</td>
        <td>${escapeHtml(s.division_code)}</td>
        <td>${s.measures.map((m) => escapeHtml(measureName(m))).join("、")}</td>
        <td>${dateTime(s.last_reading)}</td>
        <td class="num">${s.open_alerts}</td>
      </tr>`,
    )
    .join("");
  container.innerHTML = `<table id="stations-table"><thead><tr>
      <th>${t("col.station")}</th><th>${t("col.stationKind")}</th><th>${t("col.division")}</th>
      <th>${t("col.measures")}</th><th>${t("col.lastReading")}</th><th class="num">${t("col.alerts")}</th>
    </tr></thead><tbody>${rows}</tbody></table>`;
  container.querySelectorAll("tr[data-station]").forEach((tr) => {
    tr.addEventListener("click", () => {
      location.hash = `#/station/${encodeURIComponent(tr.dataset.station)}`;
    });
  });
}
