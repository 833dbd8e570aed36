// The operator page's live data: the series answered by GET /live, kept current by the
// readings of the live stream. Pure: no DOM, no network (tested in tests/e2e through the page).

// Electricity first, then the fuels and heat most plants meter: the order of the legend.
const MEASURE_ORDER = ["electricity", "natural_gas", "steam", "heat", "raw_coal", "washed_coal",
  "coke", "coke_oven_gas", "blast_furnace_gas", "fuel_oil", "diesel", "gasoline", "lpg"];

const BUCKET_MS = { "1m": 60_000, "5m": 300_000, "15m": 900_000 };

export function bucketMs(bucket) {
  const ms = BUCKET_MS[bucket];
  if (!ms) throw new Error(`unknown bucket ${bucket}`);
  return ms;
}

export function floorTo(ms, step) {
  return Math.floor(ms / step) * step;
}

// Instantaneous points keep every live value (the line moves with each reading); cumulative
// points keep the last register value of each bucket; interval points the sum per bucket.
export function createLiveModel(liveView, hours) {
  const step = bucketMs(liveView.bucket);
  const points = new Map();
  for (const point of liveView.points) {
    points.set(point.code, {
      code: point.code,
      name: point.name,
      measure: point.measure,
      unit: point.unit,
      kind: point.kind,
      role: point.role,
      balance_sign: point.balance_sign,
      last: point.last ? { ts: Date.parse(point.last.ts), v: point.last.v } : null,
      series: point.series
        .map(([ts, v]) => [Date.parse(ts), v])
        .filter(([, v]) => v !== null && v !== undefined),
    });
  }
  return { step, windowMs: hours * 3_600_000, points, newest: Date.parse(liveView.now) };
}

function insertSorted(series, item) {
  let i = series.length;
  while (i > 0 && series[i - 1][0] > item[0]) i -= 1;
  if (i > 0 && series[i - 1][0] === item[0]) series[i - 1] = item;
  else series.splice(i, 0, item);
}

// Applies the readings of one `readings` event; answers the codes of the points that changed.
export function applyReadings(model, readings) {
  const changed = new Set();
  for (const reading of readings) {
    const point = model.points.get(reading.point);
    if (!point || reading.v === null || reading.v === undefined) continue;
    const ts = Date.parse(reading.ts);
    if (!point.last || ts >= point.last.ts) point.last = { ts, v: reading.v };
    if (point.kind === "instantaneous") {
      insertSorted(point.series, [ts, reading.v]);
    } else {
      const bucket = floorTo(ts, model.step);
      const found = point.series.findLast(([t]) => t === bucket);
      if (point.kind === "cumulative") {
        if (!found) insertSorted(point.series, [bucket, reading.v]);
        else if (ts >= (point.lastTsInBucket?.get(bucket) ?? 0)) found[1] = reading.v;
        point.lastTsInBucket ??= new Map();
        point.lastTsInBucket.set(bucket, Math.max(ts, point.lastTsInBucket.get(bucket) ?? 0));
      } else if (found) {
        found[1] += reading.v;
      } else {
        insertSorted(point.series, [bucket, reading.v]);
      }
    }
    model.newest = Math.max(model.newest, ts);
    changed.add(point.code);
  }
  trim(model);
  return changed;
}

function trim(model) {
  const oldest = model.newest - model.windowMs;
  for (const point of model.points.values()) {
    const keepFrom = point.series.findIndex(([t]) => t >= oldest);
    if (keepFrom > 0) point.series.splice(0, keepFrom);
    else if (keepFrom === -1) point.series.length = 0;
  }
}

export function powerPoints(model) {
  return [...model.points.values()].filter(
    (p) => p.measure === "power" && p.kind === "instantaneous",
  );
}

// The site's consumption is its energy balance: level-1 inputs count, exports are subtracted,
// sub-meters and recovered energy are inside those figures already (balance_sign 0).
function isConsumption(point) {
  return point.balance_sign !== 0 && point.kind !== "instantaneous";
}

// Consumption per bucket of one point: register differences for cumulative points (a drop is
// a reset or rollover, left as a gap rather than guessed), sums for interval points.
export function consumptionOf(point, step) {
  if (point.kind === "interval") return point.series.map(([t, v]) => [t, v]);
  const out = [];
  for (let i = 1; i < point.series.length; i += 1) {
    const [t0, v0] = point.series[i - 1];
    const [t1, v1] = point.series[i];
    if (t1 - t0 !== step) continue;
    const delta = v1 - v0;
    out.push([t1, delta >= 0 ? delta : null]);
  }
  return out;
}

// Answers [{measure, unit, data: [[ms, quantity]]}] summed over the points of each measure.
export function consumptionByMeasure(model) {
  const byMeasure = new Map();
  for (const point of model.points.values()) {
    if (!isConsumption(point)) continue;
    let entry = byMeasure.get(point.measure);
    if (!entry) {
      entry = { measure: point.measure, unit: point.unit, sums: new Map() };
      byMeasure.set(point.measure, entry);
    }
    for (const [t, v] of consumptionOf(point, model.step)) {
      if (v === null) continue;
      entry.sums.set(t, (entry.sums.get(t) ?? 0) + point.balance_sign * v);
    }
  }
  const rank = (m) => (MEASURE_ORDER.includes(m) ? MEASURE_ORDER.indexOf(m) : MEASURE_ORDER.length);
  const ordered = [...byMeasure.values()].sort(
    (a, b) => rank(a.measure) - rank(b.measure) || a.measure.localeCompare(b.measure),
  );
  return ordered.map(({ measure, unit, sums }) => ({
    measure,
    unit,
    data: [...sums.entries()].sort((a, b) => a[0] - b[0]),
  }));
}
