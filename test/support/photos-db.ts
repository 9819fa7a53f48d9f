/** Photos.sqlite as a reader finds it: the main file and its -wal side by side in a temporary folder. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceContent, DeviceEntry } from '../../src/emulator/content/index.js';

/** Runs `use` on the phone's Photos.sqlite with its -wal (`withWal` false: the main file alone). */
export async function withPhotosDb<T>(
  content: DeviceContent,
  use: (db: Database.Database) => T,
  withWal = true,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ibackup-test-photosdb-'));
  try {
    for (const name of withWal ? ['Photos.sqlite', 'Photos.sqlite-wal'] : ['Photos.sqlite']) {
      const e = content.get('CameraRollDomain', `Media/PhotoData/${name}`) as DeviceEntry;
      writeFileSync(join(dir, name), await content.read(e, 0, e.size));
    }
    const db = new Database(join(dir, 'Photos.sqlite'));
    try {
      return use(db);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
