import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { databaseSizes } from '../../../src/emulator/content/domains.js';
import { modelCalls, modelContacts } from '../../../src/emulator/content/personal.js';
import { hasCode } from '../../../src/errors.js';
import { clock, exportCalls, readCalls } from '../../../src/export/calls.js';
import { contentBackup, type ContentBackup } from '../../support/export-source.js';

interface JsonCall {
  date: string;
  number: string;
  name: string;
  direction: string;
  answered: boolean;
  duration_seconds: number;
  type: string;
}

const TYPE: Record<number, string> = { 1: 'Phone', 8: 'FaceTime video', 16: 'FaceTime audio' };

/** The model's calls with the name the export must show (the contact's, when the number or e-mail is in the address book). */
function expectedCalls(cb: ContentBackup): (ReturnType<typeof modelCalls>[number] & { name: string })[] {
  const sizes = databaseSizes(cb.content.spec.files);
  const contacts = modelContacts(cb.content.spec.seed, sizes);
  return modelCalls(cb.content.spec.seed, sizes)
    .map((c) => {
      const who = c.contactId === null ? undefined : contacts[c.contactId - 1];
      const listed =
        who !== undefined && [...who.phones, ...who.emails].some((v) => v.value.replace(/ /g, '') === c.address);
      const name = listed ? [who.first, who.middle, who.last].filter((x) => x !== null).join(' ') : '';
      return { ...c, name };
    })
    .sort((a, b) => a.date - b.date || a.id - b.id);
}

function check(cb: ContentBackup, calls: JsonCall[]): void {
  const want = expectedCalls(cb);
  assert.equal(calls.length, want.length);
  want.forEach((w, i) => {
    const g = calls[i] as JsonCall;
    assert.equal(Math.floor(Date.parse(g.date) / 1000), w.date);
    assert.equal(g.number, w.address);
    assert.equal(g.name, w.name);
    assert.equal(g.direction, w.outgoing ? 'outgoing' : w.answered ? 'incoming' : 'missed');
    assert.equal(g.answered, w.answered);
    assert.equal(g.duration_seconds, w.duration);
    assert.equal(g.type, TYPE[w.callType]);
  });
  assert.ok(want.some((w) => w.name !== '') && want.some((w) => w.name === ''));
}

describe('export calls', () => {
  for (const ios of ['12.5.7', '15.8', '17.5.1', '26.0']) {
    test(`iOS ${ios}: every call with number, name, direction, duration and date`, async () => {
      const cb = await contentBackup(ios, 600);
      try {
        const r = await exportCalls(cb.source, { out: path.join(cb.scratch, 'calls.json') });
        assert.equal(r.format, 'json');
        const doc = JSON.parse(readFileSync(r.out, 'utf8')) as { calls: JsonCall[] };
        check(cb, doc.calls);
        assert.equal(r.items, doc.calls.length);
      } finally {
        cb.dispose();
      }
    });
  }

  test('CSV by default, in a folder given without an extension; --since keeps the later calls', async () => {
    const cb = await contentBackup('17.5.1', 1000);
    try {
      const r = await exportCalls(cb.source, { out: path.join(cb.scratch, 'log') });
      assert.equal(r.out, path.join(cb.scratch, 'log', 'calls.csv'));
      const lines = readFileSync(r.out, 'utf8')
        .split('\r\n')
        .filter((l) => l !== '');
      assert.equal(
        lines[0],
        '\ufeffdate,number,name,direction,answered,duration_seconds,duration,type,service,country,location',
      );
      assert.equal(lines.length, expectedCalls(cb).length + 1);
      const want = expectedCalls(cb);
      const since = new Date((want[Math.floor(want.length / 2)] as { date: number }).date * 1000);
      const r2 = await exportCalls(cb.source, { out: path.join(cb.scratch, 'later.json'), since });
      assert.equal(r2.items, want.filter((c) => c.date * 1000 >= since.getTime()).length);
    } finally {
      cb.dispose();
    }
  });

  test('missing database and unknown layout are said clearly', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, ZDATE TIMESTAMP)');
    assert.throws(
      () => readCalls(db),
      (e: unknown) => hasCode(e, 'SCHEMA_UNKNOWN'),
    );
    db.close();
    const cb = await contentBackup('17.5.1', 200);
    try {
      cb.dropBlob('HomeDomain', 'Library/CallHistoryDB/CallHistory.storedata');
      await assert.rejects(exportCalls(cb.source, { out: path.join(cb.scratch, 'c.csv') }), (e: unknown) =>
        hasCode(e, 'EXPORT_SOURCE_MISSING'),
      );
    } finally {
      cb.dispose();
    }
  });

  test('durations read as a clock', () => {
    assert.equal(clock(0), '0:00');
    assert.equal(clock(125), '2:05');
    assert.equal(clock(3723), '1:02:03');
  });
});
