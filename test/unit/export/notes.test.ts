import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { parse } from 'parse5';
import { databaseSizes } from '../../../src/emulator/content/domains.js';
import { modelNotes } from '../../../src/emulator/content/personal.js';
import { hasCode } from '../../../src/errors.js';
import { exportNotes, noteText, readNotes } from '../../../src/export/notes.js';
import { contentBackup } from '../../support/export-source.js';

describe('export notes', () => {
  for (const ios of ['12.5.7', '15.8', '17.5.1', '26.0']) {
    test(`iOS ${ios}: every note that is not locked or deleted, as text; locked ones listed`, async () => {
      const cb = await contentBackup(ios, 1000);
      try {
        const model = modelNotes(cb.content.spec.seed, databaseSizes(cb.content.spec.files));
        const live = model.filter((n) => !n.deleted);
        const open = live.filter((n) => !n.locked);
        assert.ok(open.length > 2 && live.some((n) => n.locked) && model.some((n) => n.deleted));
        const out = path.join(cb.scratch, 'txt');
        const r = await exportNotes(cb.source, { out, format: 'txt' });
        assert.equal(r.items, open.length);
        const texts = r.files.map((f) => readFileSync(f, 'utf8')).sort();
        assert.deepEqual(texts, open.map((n) => `${n.title}\n${n.body}\n`).sort());
        const locked = r.warnings.find((w) => w.code === 'NOTES_LOCKED');
        for (const n of live.filter((x) => x.locked)) assert.ok(locked?.message.includes(n.title));
      } finally {
        cb.dispose();
      }
    });
  }

  test('HTML pages parse cleanly, escape the note, and the index lists locked notes', async () => {
    const cb = await contentBackup('17.5.1', 3000);
    try {
      const out = path.join(cb.scratch, 'html');
      const r = await exportNotes(cb.source, { out });
      assert.equal(r.format, 'html');
      for (const f of readdirSync(out)) {
        const html = readFileSync(path.join(out, f), 'utf8');
        const errors: string[] = [];
        parse(html, { onParseError: (e) => errors.push(e.code) });
        assert.deepEqual(errors, [], f);
        assert.ok(!/<script/i.test(html));
      }
      const first = readFileSync(
        path.join(out, readdirSync(out).find((f) => f.startsWith('Courses')) as string),
        'utf8',
      );
      assert.match(first, /&lt;b&gt;not bold&lt;\/b&gt; &amp; &quot;quoted&quot;/);
      assert.match(readFileSync(path.join(out, 'index.html'), 'utf8'), /🔒/);
    } finally {
      cb.dispose();
    }
  });

  test('bodies that are not gzip or protobuf read as unreadable, never as garbage; unknown layouts say so', () => {
    assert.equal(noteText(new Uint8Array([1, 2, 3])), null);
    assert.equal(noteText(new Uint8Array(gzipSync(Buffer.from([0x08, 0x00, 0x12, 0x50])))), null);
    const db = new Database(':memory:');
    db.exec('CREATE TABLE ZICCLOUDSYNCINGOBJECT (Z_PK INTEGER PRIMARY KEY)');
    assert.throws(
      () => readNotes(db),
      (e: unknown) => hasCode(e, 'SCHEMA_UNKNOWN'),
    );
    db.close();
  });
});
