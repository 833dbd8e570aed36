// The enterprise's energy balance as flows, from GET /sites/{site}/energy-flows. Pure: no DOM.
//
// purchased inputs by energy type  →  site  →  exports by energy type
//   (and energy charged to a           →  energy products of a conversion (coke, gas)
//    conversion: coal to coke ovens)   →  feedstock use (原料用能)
//                                           →  level-2/3 sub-meters, one node each
//                                           →  process use (or "unmetered and losses" when
//                                              sub-meters take part of it)
// Everything in tce, with the signs of energywatch/storage/balance.py: level-1 inputs enter,
// exports leave, sub-meters split what the inputs brought (never added to it), recovered
// energy is listed apart (its fuel is already an input).
//
// A site with process units (GET /sites/{site}/units/balance, given as `units`) draws its
// units instead of its sub-meters and feedstock (both are inside the unit balances):
//   site → `unit:{root}` → `unit:{child}` (each unit's balance tce, over it and its children)
//   site → unmetered (level 1 − Σ root balances, from the same answer)
import { measureName, t } from "./i18n.js";

// Roles whose level-2/3 points are sub-meters: a share of what the level-1 inputs brought.
const INPUT_ROLES = new Set(["consumption", "feedstock", "transformation_input"]);
// Below this a flow is rounding noise and would draw a hairline.
const EPSILON_TCE = 1e-9;

// The one unit of a site without units (energywatch/core/unit_balance.py WHOLE_SITE).
const WHOLE_SITE = "*";

// Whether a GET /units/balance answer has process units of the site's own.
export function hasUnits(units) {
  return Boolean(units?.units?.some((u) => u.code !== WHOLE_SITE));
}

export function energyFlows(answer, units = null) {
  const byUnit = hasUnits(units);
  const inputs = new Map();
  const exports = new Map();
  const subMeters = [];
  const recovered = new Map();
  let feedstock = 0;
  const add = (map, key, tce) => map.set(key, (map.get(key) ?? 0) + tce);
  for (const p of answer.points) {
    if (p.balance_sign === 1) {
      add(inputs, p.measure, p.tce);
      if (p.role === "feedstock") feedstock += p.tce;
    } else if (p.balance_sign === -1) {
      // sold energy, or the energy products of a conversion (GB/T 2589-2020 ch. 7)
      add(exports, p.role === "transformation_output" ? `conv:${p.measure}` : `out:${p.measure}`, p.tce);
    } else if (p.balance_sign === 0 && INPUT_ROLES.has(p.role)) {
      subMeters.push(p);
    } else if (p.role === "recovered") {
      const r = recovered.get(p.measure) ?? { measure: p.measure, unit: p.unit, quantity: 0, tce: 0 };
      r.quantity += p.quantity;
      r.tce += p.tce;
      recovered.set(p.measure, r);
    }
  }
  const nodes = [{ id: "site", title: t("flow.site") }];
  const links = [];
  const link = (source, target, value) => {
    if (value > EPSILON_TCE) links.push({ source, target, value });
  };
  for (const [measure, tce] of inputs) {
    nodes.push({ id: `in:${measure}`, title: t("flow.in", { name: measureName(measure) }) });
    link(`in:${measure}`, "site", tce);
  }
  for (const [id, tce] of exports) {
    const [kind, measure] = id.split(":");
    nodes.push({ id, title: t(kind === "conv" ? "flow.conversion" : "flow.out", { name: measureName(measure) }) });
    link("site", id, tce);
  }
  if (feedstock > EPSILON_TCE && !byUnit) {
    nodes.push({ id: "feedstock", title: t("flow.feedstock") });
    link("site", "feedstock", feedstock);
  }
  let metered = 0;
  for (const p of byUnit ? [] : subMeters) {
    nodes.push({ id: `sub:${p.point}`, title: p.name ? `${p.name} (${p.point})` : p.point });
    link("site", `sub:${p.point}`, p.tce);
    metered += p.tce;
  }
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  const purchased = sum(inputs);
  const exported = sum(exports);
  if (byUnit) {
    for (const u of units.units) {
      nodes.push({ id: `unit:${u.code}`, title: u.name || u.code });
      // a unit that recovers more than it uses (a converter) has a negative balance: no link
      link(u.parent ? `unit:${u.parent}` : "site", `unit:${u.code}`, u.balance.tce);
    }
    nodes.push({ id: "unmetered", title: t("flow.unmetered") });
    link("site", "unmetered", units.unmetered.tce);
  } else {
    const rest = purchased - exported - feedstock - metered;
    const restId = subMeters.length ? "unmetered" : "process";
    nodes.push({ id: restId, title: t(subMeters.length ? "flow.unmetered" : "flow.process") });
    link("site", restId, rest);
  }
  const used = new Set(links.flatMap((l) => [l.source, l.target]));
  return {
    nodes: nodes.filter((n) => used.has(n.id)),
    links,
    purchased,
    exported,
    total: purchased - exported,
    recovered: [...recovered.values()],
  };
}

// The grade of an intensity against levels where lower is better (level 1 the benchmark,
// level 3 the limit); null when there is no value or no levels.
export function grade(value, levels) {
  if (value === null || value === undefined || !levels) return null;
  for (const n of [1, 2, 3]) {
    const bound = levels[`level${n}`];
    if (bound !== null && bound !== undefined && value <= bound) return String(n);
  }
  return levels.level3 === null || levels.level3 === undefined ? null : "over";
}
