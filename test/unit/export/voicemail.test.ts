import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { databaseSizes } from '../../../src/emulator/content/domains.js';
import { modelVoicemails, voicemailAudio } from '../../../src/emulator/content/voicemail-db.js';
import { hasCode } from '../../../src/errors.js';
import { exportVoicemail, readVoicemails } from '../../../src/export/voicemail.js';
import { contentBackup } from '../../support/export-source.js';

interface JsonVoicemail {
  date: string;
  from: string;
  duration_seconds: number;
  file: string | null;
}

describe('export voicemail', () => {
  for (const ios of ['12.5.7', '15.8', '17.5.1', '26.0']) {
    test(`iOS ${ios}: every voicemail kept on the phone, its audio copied, deleted ones counted`, async () => {
      const cb = await contentBackup(ios, 1000);
      try {
        const model = modelVoicemails(cb.content.spec.seed, databaseSizes(cb.content.spec.files));
        const live = model.filter((v) => !v.trashed).sort((a, b) => a.date - b.date || a.id - b.id);
        const out = path.join(cb.scratch, 'vm');
        const r = await exportVoicemail(cb.source, { out, format: 'json' });
        assert.equal(r.items, live.length);
        const doc = JSON.parse(readFileSync(path.join(out, 'voicemail.json'), 'utf8')) as {
          voicemail: JsonVoicemail[];
        };
        live.forEach((v, i) => {
          const g = doc.voicemail[i] as JsonVoicemail;
          assert.equal(Date.parse(g.date) / 1000, v.date);
          assert.equal(g.from, v.sender);
          assert.equal(g.duration_seconds, v.duration);
          if (!v.audioInBackup) return assert.equal(g.file, null);
          assert.ok(g.file !== null && !g.file.includes('/'));
          assert.deepEqual(
            new Uint8Array(readFileSync(path.join(out, g.file))),
            voicemailAudio(cb.content.spec.seed, v),
          );
        });
        const codes = r.warnings.map((w) => w.code);
        assert.ok(codes.includes('VOICEMAIL_DELETED'));
        assert.equal(
          codes.includes('VOICEMAIL_AUDIO_NOT_IN_BACKUP'),
          live.some((v) => !v.audioInBackup),
        );
      } finally {
        cb.dispose();
      }
    });
  }

  test('CSV by default; unknown layout and missing database are clear errors', async () => {
    const cb = await contentBackup('17.5.1', 1000);
    try {
      const r = await exportVoicemail(cb.source, { out: path.join(cb.scratch, 'csv') });
      assert.equal(r.format, 'csv');
      assert.ok(
        readFileSync(path.join(cb.scratch, 'csv', 'voicemail.csv'), 'utf8').startsWith('\ufeffdate,from,name,'),
      );
      cb.dropBlob('HomeDomain', 'Library/Voicemail/voicemail.db');
      await assert.rejects(exportVoicemail(cb.source, { out: path.join(cb.scratch, 'x') }), (e: unknown) =>
        hasCode(e, 'EXPORT_SOURCE_MISSING'),
      );
    } finally {
      cb.dispose();
    }
    const db = new Database(':memory:');
    db.exec('CREATE TABLE voicemail (ROWID INTEGER PRIMARY KEY, date INTEGER)');
    assert.throws(
      () => readVoicemails(db),
      (e: unknown) => hasCode(e, 'SCHEMA_UNKNOWN'),
    );
    db.close();
  });
});
