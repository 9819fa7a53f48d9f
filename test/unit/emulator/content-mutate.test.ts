import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { hasCode } from '../../../src/errors.js';
import {
  DeviceContent,
  folderOverrideStore,
  entryKey,
  type DeviceEntry,
  type EntryRef,
  type MutationAction,
} from '../../../src/emulator/content/index.js';
import { databaseSizes } from '../../../src/emulator/content/domains.js';
import { attachmentBackupPath, modelConversations } from '../../../src/emulator/content/personal-messages.js';
import { builtInProfile } from '../../../src/emulator/profile.js';
import { withPhotosDb } from '../../support/photos-db.js';

const spec = builtInProfile('tiny').content;
const build = (): DeviceContent => DeviceContent.build(spec);
const keyOf = (r: EntryRef): string => entryKey(r.domain, r.relativePath);

function snapshot(c: DeviceContent): Map<string, DeviceEntry> {
  return new Map([...c.entries()].map((e) => [keyOf(e), e]));
}

/** Keys of files added, changed or removed between two snapshots. */
function fileDiff(
  before: Map<string, DeviceEntry>,
  after: Map<string, DeviceEntry>,
): { added: string[]; changed: string[]; removed: string[] } {
  const added = [...after.keys()].filter((k) => !before.has(k) && after.get(k)?.kind === 'file');
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k));
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}

async function rows(c: DeviceContent, domain: string, path: string, sql: string): Promise<unknown[]> {
  const e = c.get(domain, path) as DeviceEntry;
  const db = new Database(Buffer.from(await c.read(e, 0, e.size)), { readonly: true });
  try {
    return db.prepare(sql).raw().all();
  } finally {
    db.close();
  }
}

async function digestHex(c: DeviceContent, e: DeviceEntry): Promise<string> {
  return Buffer.from(await c.digest(e)).toString('hex');
}

describe('mutations', () => {
  test('add N creates exactly N new files, with fresh times', () => {
    const c = build();
    const before = snapshot(c);
    const s = c.mutate('add', 4);
    const d = fileDiff(before, snapshot(c));
    assert.deepEqual(d.added, s.added.map(keyOf).sort());
    assert.equal(s.added.length, 4);
    assert.deepEqual(d.changed, []);
    assert.deepEqual(d.removed, []);
    for (const r of s.added) assert.equal(c.get(r.domain, r.relativePath)?.mtime, c.now);
    assert.equal(
      c.stats().files,
      before.size === 0 ? 0 : [...before.values()].filter((e) => e.kind === 'file').length + 4,
    );
  });

  test('modify N changes exactly those files: new version, new time, new bytes', async () => {
    const c = build();
    const before = snapshot(c);
    const s = c.mutate('modify', 6);
    assert.ok(s.modified.length >= 6);
    const d = fileDiff(before, snapshot(c));
    assert.deepEqual(d.changed, s.modified.map(keyOf).sort());
    assert.deepEqual(d.added, []);
    const fresh = build();
    for (const r of s.modified) {
      const now = c.get(r.domain, r.relativePath) as DeviceEntry;
      const old = before.get(keyOf(r)) as DeviceEntry;
      assert.ok(now.version > old.version);
      assert.equal(now.mtime, c.now);
      // Photos.sqlite may keep its main file and take the change in its -wal (modified alongside).
      const walOnly =
        r.relativePath.endsWith('Photos.sqlite') && s.modified.some((m) => m.relativePath.endsWith('-wal'));
      if (now.source !== 'photo' && !walOnly)
        assert.notEqual(await digestHex(c, now), await digestHex(fresh, old), r.relativePath);
    }
  });

  test('delete N removes exactly N files', () => {
    const c = build();
    const before = snapshot(c);
    const s = c.mutate('delete', 5);
    assert.equal(s.deleted.length, 5);
    const d = fileDiff(before, snapshot(c));
    assert.deepEqual(d.removed, s.deleted.map(keyOf).sort());
    const photosDb = [
      entryKey('CameraRollDomain', 'Media/PhotoData/Photos.sqlite'),
      entryKey('CameraRollDomain', 'Media/PhotoData/Photos.sqlite-wal'),
    ];
    assert.deepEqual(d.changed, s.modified.map(keyOf).sort());
    assert.ok(s.modified.every((r) => photosDb.includes(keyOf(r))));
  });

  test('photos N adds N JPEGs (and their thumbnails) to the camera roll and to Photos.sqlite', async () => {
    const c = build();
    const sql = 'SELECT ZFILENAME FROM ZASSET ORDER BY Z_PK';
    const before = await withPhotosDb(c, (db) => db.prepare(sql).raw().all());
    const s = c.mutate('photos', 3);
    const originals = s.added.filter((r) => r.relativePath.startsWith('Media/DCIM/'));
    assert.equal(originals.length, 3);
    assert.ok(originals.every((r) => /^Media\/DCIM\/1\d\dAPPLE\/IMG_\d{4}\.JPG$/.test(r.relativePath)));
    const thumbs = s.added.filter((r) => r.relativePath.startsWith('Media/PhotoData/Thumbnails/V2/DCIM/'));
    assert.equal(thumbs.length, 3);
    assert.equal(s.added.length, 6);
    assert.ok(s.added.every((r) => r.domain === 'CameraRollDomain'));
    assert.deepEqual(s.modified, [
      { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite' },
      { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite-wal' },
    ]);
    const after = await withPhotosDb(c, (db) => db.prepare(sql).raw().all());
    assert.equal(after.length, before.length + 3);
    assert.deepEqual(after.slice(0, before.length), before);
  });

  test('messages N adds N rows to sms.db and keeps the older ones', async () => {
    const c = build();
    const sql = 'SELECT guid, text, date FROM message ORDER BY ROWID';
    const before = await rows(c, 'HomeDomain', 'Library/SMS/sms.db', sql);
    const oldEntry = c.get('HomeDomain', 'Library/SMS/sms.db') as DeviceEntry;
    const s = c.mutate('messages', 7);
    assert.deepEqual(s.modified, [{ domain: 'HomeDomain', relativePath: 'Library/SMS/sms.db' }]);
    assert.deepEqual(s.deleted, []);
    // New messages may bring their attachment files (and folders), nothing else.
    const sizes = databaseSizes(spec.files);
    const kept = modelConversations(spec.seed, { ...sizes, messages: sizes.messages + 7 }, 17).messages;
    const expected = kept
      .slice(-7)
      .flatMap((m) =>
        m.deleted ? [] : m.attachments.filter((a) => a.inBackup).map((a) => attachmentBackupPath(a.filename)),
      );
    assert.deepEqual(
      s.added.filter((r) => c.get(r.domain, r.relativePath)?.kind === 'file'),
      expected,
    );
    const after = await rows(c, 'HomeDomain', 'Library/SMS/sms.db', sql);
    assert.equal(after.length, kept.filter((m) => !m.deleted).length);
    assert.deepEqual(after.slice(0, before.length), before);
    const newEntry = c.get('HomeDomain', 'Library/SMS/sms.db') as DeviceEntry;
    assert.ok(newEntry.version === oldEntry.version + 1 && newEntry.mtime > oldEntry.mtime);
  });

  test('replaying the journal (through JSON) rebuilds the same content', async () => {
    const c = build();
    const actions: [MutationAction, number][] = [
      ['add', 3],
      ['modify', 4],
      ['photos', 2],
      ['messages', 5],
      ['delete', 3],
      ['modify', 2],
    ];
    for (const [a, n] of actions) c.mutate(a, n);
    await c.writeFile('HomeDomain', 'Documents/restored.txt', new TextEncoder().encode('hello'), {
      mode: 0o600,
      mtime: 1_700_000_000,
    });
    c.makeSymlink('HomeDomain', 'Documents/link', '/private/var/mobile/Documents/restored.txt');
    c.removeFile('HomeDomain', 'Library/Voicemail');
    const replayed = build();
    await replayed.applyMutations(JSON.parse(JSON.stringify(c.serializeMutations())));
    assert.deepEqual([...replayed.entries()], [...c.entries()]);
    for (const e of c.entries()) {
      if (e.kind === 'file' && e.version > 0 && e.source !== 'photo')
        assert.equal(await digestHex(replayed, e), await digestHex(c, e), e.relativePath);
    }
    assert.deepEqual(replayed.serializeMutations(), c.serializeMutations());
  });

  test('bad requests and damaged journals are typed errors', async () => {
    const c = build();
    assert.throws(
      () => c.mutate('explode' as MutationAction, 1),
      (e) => hasCode(e, 'USAGE'),
    );
    assert.throws(
      () => c.mutate('add', -1),
      (e) => hasCode(e, 'USAGE'),
    );
    for (const bad of [
      null,
      '{',
      { format: 'x' },
      { format: 'ibackup-content-journal', version: 1, ops: [{ op: 'add', n: 'many' }] },
      {
        format: 'ibackup-content-journal',
        version: 1,
        ops: [{ op: 'write', domain: 'HomeDomain', relativePath: 'a', kind: 'file', meta: {} }],
      },
    ]) {
      await assert.rejects(c.applyMutations(bad), (e) => hasCode(e, 'INTERNAL'));
    }
    await assert.rejects(c.writeFile('HomeDomain', '../etc/passwd', new Uint8Array(1)), (e) =>
      hasCode(e, 'UNSAFE_PATH'),
    );
  });
});

describe('restore writes', () => {
  test('written bytes take precedence over generated ones and are read back exactly', async () => {
    const c = build();
    const bytes = new Uint8Array(3 * 1024 * 1024 + 11).map((_v, i) => (i * 31) & 0xff);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 100_000) yield bytes.subarray(i, i + 100_000);
    }
    const e = await c.writeFile('HomeDomain', 'Library/SMS/sms.db', chunks(), {
      protectionClass: 4,
      extendedAttributes: { 'com.apple.x': new Uint8Array([1]) },
    });
    assert.equal(e.source, 'override');
    assert.equal(e.size, bytes.length);
    assert.equal(e.protectionClass, 4);
    assert.deepEqual(await c.read(e, 0, e.size), bytes);
    assert.deepEqual(await c.read(e, 1_500_000, 10), bytes.subarray(1_500_000, 1_500_010));
    assert.equal(await digestHex(c, e), createHash('sha1').update(bytes).digest('hex'));
    const n = await c.writeFile('AppDomain-com.example.New', 'Documents/Deep/Dir/file.bin', new Uint8Array([1, 2, 3]));
    assert.equal(c.get(n.domain, 'Documents/Deep')?.kind, 'directory');
    assert.equal(c.get(n.domain, '')?.kind, 'directory');
  });

  test('removeFile removes a directory and everything under it', () => {
    const c = build();
    const domain = 'AppDomainGroup-group.com.apple.FileProvider.LocalStorage';
    assert.ok([...c.under(domain, 'File Provider Storage/')].length > 3);
    assert.equal(c.removeFile(domain, 'File Provider Storage'), true);
    assert.deepEqual([...c.under(domain, 'File Provider Storage')], []);
    assert.equal(c.removeFile(domain, 'File Provider Storage'), false);
  });

  test('a folder store keeps restored bytes across a restart, and the journal does not carry them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-overrides-'));
    try {
      const c = DeviceContent.build(spec, { overrides: folderOverrideStore(dir) });
      const bytes = new TextEncoder().encode('restored bytes, kept on disk');
      await c.writeFile('HomeDomain', 'Documents/Kept – é.txt', bytes);
      const journal = c.serializeMutations();
      assert.ok(journal.ops.every((op) => !('data' in op)));
      const restarted = DeviceContent.build(spec, { overrides: folderOverrideStore(dir) });
      await restarted.applyMutations(JSON.parse(JSON.stringify(journal)));
      const e = restarted.get('HomeDomain', 'Documents/Kept – é.txt') as DeviceEntry;
      assert.deepEqual(await restarted.read(e, 0, e.size), bytes);
      await rm(dir, { recursive: true, force: true });
      const lost = DeviceContent.build(spec, { overrides: folderOverrideStore(dir) });
      await assert.rejects(lost.applyMutations(journal), (err) => hasCode(err, 'INTERNAL'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
