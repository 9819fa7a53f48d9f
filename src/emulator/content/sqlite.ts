/** Builds a real SQLite database in memory and returns its file bytes. */
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function buildDatabase(schema: string, fill: (db: Db) => void): Uint8Array {
  const db = new Database(':memory:');
  try {
    db.pragma('page_size = 4096');
    db.exec(schema);
    db.transaction(() => fill(db))();
    return new Uint8Array(db.serialize());
  } finally {
    db.close();
  }
}

/** Inserts rows into a table, column names taken from the first row. */
export function insertRows(
  db: Db,
  table: string,
  rows: readonly Record<string, string | number | bigint | Uint8Array | null>[],
): void {
  const first = rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first);
  const stmt = db.prepare(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  for (const row of rows) {
    const bound: Record<string, string | number | bigint | Buffer | null> = {};
    for (const [k, v] of Object.entries(row))
      bound[k] = v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
    stmt.run(bound);
  }
}
