// The operator page's energy balance for a chosen day or month: the energy-flow (Sankey)
// chart, each product's intensity against its levels, and the period's report to download.
// For a site with process units also the units' balances (table and Sankey level), from
// GET /units/balance; the boundary's flows come from GET /energy-flows (points).
import { api, downloadReport } from "../api.js";
import { energyFlowOption } from "../charts.js";
import { disposeCharts, drawChart } from "../echarts-loader.js";
import { energyFlows, grade, hasUnits } from "../energy-flow.js";
import { escapeHtml, number } from "../format.js";
import { measureName, productName, t } from "../i18n.js";
import { siteDay } from "../site-time.js";
import { unitRows, unitTotals } from "../unit-balance.js";

export function balancePanel() {
  return `
    <section class="panel span-12" id="balance-panel">
      <h2>${t("site.flows")}</h2>
      <div class="toolbar">
        <select id="flows-period">
          <option value="day">${t("site.flows.day")}</option>
          <option value="month">${t("site.flows.month")}</option>
        </select>
        <input type="date" id="flows-day">
        <input type="month" id="flows-month" hidden>
        <span class="muted">${t("site.download")}</span>
        <button type="button" class="primary" id="download-csv">${t("site.download.csv")}</button>
        <button type="button" class="primary" id="download-xlsx">${t("site.download.xlsx")}</button>
        <span class="error" id="flows-error"></span>
      </div>
      <div class="muted" id="flows-total"></div>
      <div class="chart tall" id="chart-flows"></div>
      <div class="muted" id="flows-recovered"></div>
      <div id="units-section" hidden>
        <h2>${t("site.units")}</h2>
        <div id="units"></div>
      </div>
      <div id="products-section">
        <h2>${t("site.products")}</h2>
        <div id="products"></div>
      </div>
    </section>`;
}

const gradeName = (g) => (g ? escapeHtml(t(`grade.${g}`)) : "–");

function productsTable(products) {
  if (!products.length) return `<div class="empty">${t("site.products.none")}</div>`;
  const level = (levels, n) => number(levels?.[`level${n}`], 1);
  const rows = products
    .map((p) => {
      const g = grade(p.value, p.levels);
      return `<tr data-product="${escapeHtml(p.product)}" data-grade="${g ?? ""}">
        <td>${escapeHtml(productName(p.product))}</td>
        <td class="num">${number(p.value, 1)}</td><td>${escapeHtml(p.unit)}</td>
        <td class="num">${level(p.levels, 1)}</td><td class="num">${level(p.levels, 2)}</td>
        <td class="num">${level(p.levels, 3)}</td>
        <td class="grade-${g ?? "none"}">${gradeName(g)}</td></tr>`;
    })
    .join("");
  return `<table><thead><tr><th>${t("col.product")}</th><th class="num">${t("col.intensity")}</th>
    <th>${t("col.unit")}</th><th class="num">${t("col.level1")}</th>
    <th class="num">${t("col.level2")}</th><th class="num">${t("col.level3")}</th>
    <th>${t("col.grade")}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const tceCell = (value, field) =>
  `<td class="num" data-field="${field}" data-value="${value}">${number(value, 3)}</td>`;

function unitProducts(products) {
  return products
    .map(
      (p) => `<div data-product="${escapeHtml(p.product)}" data-value="${p.intensity ?? ""}"
        data-grade="${p.grade ?? ""}">${escapeHtml(productName(p.product))}
        ${number(p.intensity, 1)} ${escapeHtml(p.unit)}
        <span class="grade-${p.grade ?? "none"}">${gradeName(p.grade)}</span></div>`,
    )
    .join("");
}

const utility = (u) => (u.kind === "utility" ? ` · ${t("site.units.utility")}` : "");

// Units as a tree (indented by depth), then "unmetered and losses" and the site total.
function unitsTable(units) {
  const rows = unitRows(units)
    .map(
      (u) => `<tr data-unit="${escapeHtml(u.code)}" data-depth="${u.depth}">
        <td style="padding-left: ${0.5 + 1.5 * u.depth}em">${escapeHtml(u.name || u.code)}
          <span class="muted">${escapeHtml(u.code)}${utility(u)}</span></td>
        ${tceCell(u.inputs, "inputs")}${tceCell(u.recovered, "recovered")}${tceCell(u.own, "own")}
        ${tceCell(u.allocated, "allocated")}${tceCell(u.balance, "balance")}
        <td>${unitProducts(u.products)}</td></tr>`,
    )
    .join("");
  const totals = unitTotals(units);
  const line = (id, title, value) => `<tr data-unit="${id}"><td>${title}</td>
    <td colspan="4"></td>${tceCell(value, "balance")}<td></td></tr>`;
  const figures = ["unitInputs", "unitRecovered", "unitOwn", "unitAllocated", "unitBalance"]
    .map((key) => `<th class="num">${t(`col.${key}`)}</th>`)
    .join("");
  return `<table><thead><tr><th>${t("col.processUnit")}</th>${figures}
    <th>${t("col.unitProducts")}</th></tr></thead><tbody>${rows}
    ${line("unmetered", t("flow.unmetered"), totals.unmetered)}
    ${line("total", t("site.units.total"), totals.total)}</tbody></table>`;
}

export function mountBalance(container, { site, timeZone, echarts, onError }) {
  const $ = (id) => container.querySelector(`#${id}`);
  const periodEl = $("flows-period");
  const dayEl = $("flows-day");
  const monthEl = $("flows-month");
  const chartEl = $("chart-flows");
  const today = siteDay(Date.now(), timeZone);
  dayEl.value = today;
  monthEl.value = today.slice(0, 7);
  let request = 0;

  const chosen = () =>
    periodEl.value === "month"
      ? { period: "month", value: monthEl.value }
      : { period: "day", value: dayEl.value };

  async function load() {
    const { period, value } = chosen();
    if (!value) return;
    const mine = ++request;
    const [answer, units] = await Promise.all([
      api.energyFlows(site, { [period]: value }),
      api.unitBalance(site, { [period]: value }),
    ]);
    if (mine !== request || !container.isConnected) return; // a newer period, or the page left
    const flows = energyFlows(answer, units);
    const byUnit = hasUnits(units);
    disposeCharts(echarts, container);
    if (!flows.links.length) {
      chartEl.innerHTML = `<div class="empty">${t("site.flows.none")}</div>`;
    } else {
      drawChart(echarts, chartEl, energyFlowOption(flows));
    }
    chartEl.dataset.period = `${period}:${value}`;
    chartEl.dataset.flows = JSON.stringify(flows.links);
    $("flows-total").textContent = [
      t("site.flows.total", { tce: number(answer.total_tce, 3) }),
      flows.total < 0 ? t("site.flows.negative") : "",
    ]
      .filter(Boolean)
      .join(" · ");
    $("flows-recovered").textContent = flows.recovered.length
      ? t("site.flows.recovered", {
          list: flows.recovered
            .map((r) => `${measureName(r.measure)} ${number(r.quantity, 1)} ${r.unit} (${number(r.tce, 3)} tce)`)
            .join("; "),
        })
      : "";
    // With units, each product is shown in the row of the unit that makes it (charged that
    // unit's balance), so the site-wide product table would only repeat it.
    $("units-section").hidden = !byUnit;
    $("products-section").hidden = byUnit;
    $("units").innerHTML = byUnit ? unitsTable(units) : "";
    $("products").innerHTML = byUnit ? "" : productsTable(answer.products);
  }

  async function download(format) {
    const { period, value } = chosen();
    if (!value) return;
    const { blob, name } = await downloadReport(site, period, value, format);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const reload = () => load().catch(onError);
  periodEl.addEventListener("change", () => {
    dayEl.hidden = periodEl.value === "month";
    monthEl.hidden = periodEl.value !== "month";
    reload();
  });
  dayEl.addEventListener("change", reload);
  monthEl.addEventListener("change", reload);
  $("download-csv").addEventListener("click", () => download("csv").catch(onError));
  $("download-xlsx").addEventListener("click", () => download("xlsx").catch(onError));
  reload();
  return { reload };
}
