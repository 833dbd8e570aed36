// The process units' balances of a day or month as table rows, from
// GET /sites/{site}/units/balance. Pure: no DOM.
//
// One row per unit, parents before their children (the answer's order) with the depth of the
// unit in the tree; then "unmetered and losses" (level 1 − Σ root balances), which is always a
// row, also when it is zero or negative (docs/computation.md, "Process units").
import { grade, hasUnits } from "./energy-flow.js";

const sumTce = (flows) => flows.reduce((sum, f) => sum + f.tce, 0);

export function unitRows(units) {
  if (!hasUnits(units)) return [];
  const depth = new Map();
  return units.units.map((u) => {
    const d = u.parent && depth.has(u.parent) ? depth.get(u.parent) + 1 : 0;
    depth.set(u.code, d);
    return {
      code: u.code,
      name: u.name,
      kind: u.kind,
      depth: d,
      inputs: sumTce(u.inputs),
      recovered: sumTce(u.recovered),
      own: u.own.tce,
      allocated: u.allocated.tce,
      balance: u.balance.tce,
      products: u.products.map((p) => ({
        product: p.product,
        output: p.output_t,
        intensity: p.intensity,
        unit: p.unit,
        levels: p.levels,
        grade: grade(p.intensity, p.levels),
      })),
    };
  });
}

// The figures under the table: the site total and the unmetered remainder, which with the root
// units' balances make it up (total = Σ roots + unmetered).
export function unitTotals(units) {
  const roots = units.units.filter((u) => !u.parent).reduce((sum, u) => sum + u.balance.tce, 0);
  return { total: units.total.tce, roots, unmetered: units.unmetered.tce };
}
