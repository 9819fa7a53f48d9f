/**
 * The `backups` events of the web app: listings can overlap (a job's end, a change of the backup
 * folder), and the page must never go back to an older list.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackupView } from '../../../src/web/api.js';
import { backupsChanged, type Deps } from '../../../src/web/deps.js';

function server(): { deps: Deps; sent: string[][] } {
  const sent: string[][] = [];
  const deps = {
    bus: {
      publish: (e: { type: string; backups?: BackupView[] }) => {
        if (e.type === 'backups') sent.push((e.backups ?? []).map((b) => b.path));
      },
    },
    monitor: { refreshLastBackups: async () => undefined },
    roots: ['/backups'],
    log: () => undefined,
  } as unknown as Deps;
  return { deps, sent };
}

/** A listing that answers `paths` after `ms`. */
function listing(paths: string[], ms: number): () => Promise<BackupView[]> {
  return () =>
    new Promise((done) => setTimeout(() => done(paths.map((path) => ({ path }) as unknown as BackupView)), ms));
}

describe('backups events', () => {
  test('a listing that ends after a later one was sent is dropped', async () => {
    const { deps, sent } = server();
    const older = backupsChanged(deps, listing(['/old-folder/A'], 60));
    const newer = backupsChanged(deps, listing([], 5));
    await Promise.all([older, newer]);
    assert.deepEqual(sent, [[]]);
  });

  test('listings that end in the order they started are all sent, the newest last', async () => {
    const { deps, sent } = server();
    const older = backupsChanged(deps, listing(['/backups/A'], 5));
    const newer = backupsChanged(deps, listing(['/backups/A', '/backups/B'], 40));
    await Promise.all([older, newer]);
    assert.deepEqual(sent, [['/backups/A'], ['/backups/A', '/backups/B']]);
  });
});
