/**
 * What a reader needs of a database's layout: the columns each table has, and a clear
 * SCHEMA_UNKNOWN when a required table or column is absent, naming what is missing. Readers
 * choose optional features by the columns present, so a newer iOS that adds columns still reads.
 */
import { IbackupError } from '../errors.js';
import type { Db } from './source.js';

/** Column names of a table (empty when the table does not exist). */
export function columnsOf(db: Db, table: string): Set<string> {
  const rows = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

export function hasTable(db: Db, table: string): boolean {
  return columnsOf(db, table).size > 0;
}

/** Throws SCHEMA_UNKNOWN unless every listed table has every listed column. */
export function requireColumns(db: Db, what: string, needs: Record<string, readonly string[]>): void {
  const missing: string[] = [];
  for (const [table, cols] of Object.entries(needs)) {
    const have = columnsOf(db, table);
    if (have.size === 0) missing.push(`table ${table}`);
    else for (const c of cols) if (!have.has(c)) missing.push(`${table}.${c}`);
  }
  if (missing.length === 0) return;
  throw new IbackupError('SCHEMA_UNKNOWN', {
    message: `The ${what} in this backup has a layout ibackup does not know (missing: ${missing.join(', ')}), so it is not exported.`,
    details: { missing },
  });
}

/** `column` when the table has it, else the SQL literal `fallback` (for SELECT lists). */
export function optionalColumn(have: Set<string>, table: string, column: string, fallback = 'NULL'): string {
  return have.has(column) ? `${table}.${column}` : fallback;
}
