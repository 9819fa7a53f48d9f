import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import ICAL from 'ical.js';
import { modelContacts, type ModelContact } from '../../../src/emulator/content/personal.js';
import { databaseSizes } from '../../../src/emulator/content/domains.js';
import { exportContacts } from '../../../src/export/contacts.js';
import { readContacts } from '../../../src/export/contacts-read.js';
import { foldLine } from '../../../src/export/vcard.js';
import { hasCode } from '../../../src/errors.js';
import { contentBackup, type ContentBackup } from '../../support/export-source.js';

type JProp = [string, Record<string, unknown>, string, ...unknown[]];
type JCard = ['vcard', JProp[], unknown[]];

const props = (card: JCard, name: string): JProp[] => card[1].filter((p) => p[0] === name);
const value = (card: JCard, name: string): unknown => props(card, name)[0]?.[3];

function typesOf(p: JProp): string[] {
  const t = p[1]['type'];
  return (Array.isArray(t) ? t : t === undefined ? [] : [t]).map((x) => String(x).toUpperCase());
}

/** What a model label must become: TYPE values, or an X-ABLabel text for a custom label. */
function expectLabel(card: JCard, p: JProp, label: string | null): void {
  const known: Record<string, string[]> = {
    '_$!<Mobile>!$_': ['CELL'],
    iPhone: ['CELL', 'IPHONE'],
    '_$!<Home>!$_': ['HOME'],
    '_$!<Work>!$_': ['WORK'],
  };
  const want = label === null ? [] : known[label];
  if (want !== undefined) {
    for (const t of want) assert.ok(typesOf(p).includes(t), `${p[0]} ${String(p[3])} has TYPE ${t}`);
    return;
  }
  const group = p[1]['group'];
  assert.ok(typeof group === 'string', `custom label ${label} is a group`);
  const ab = card[1].find((q) => q[0] === 'x-ablabel' && q[1]['group'] === group);
  assert.equal(ab?.[3], label);
}

function checkCard(card: JCard, m: ModelContact): void {
  assert.deepEqual(value(card, 'n'), [m.last, m.first, m.middle ?? '', '', '']);
  assert.equal(value(card, 'fn'), [m.first, m.middle, m.last].filter((x) => x !== null).join(' '));
  const tels = props(card, 'tel');
  assert.deepEqual(
    tels.map((p) => p[3]),
    m.phones.map((p) => p.value),
  );
  m.phones.forEach((ph, i) => expectLabel(card, tels[i] as JProp, ph.label));
  const mails = props(card, 'email');
  assert.deepEqual(
    mails.map((p) => p[3]),
    m.emails.map((e) => e.value),
  );
  m.emails.forEach((e, i) => expectLabel(card, mails[i] as JProp, e.label));
  assert.deepEqual(
    props(card, 'url').map((p) => p[3]),
    m.urls.map((u) => u.value),
  );
  const adrs = props(card, 'adr');
  assert.deepEqual(
    adrs.map((p) => p[3]),
    m.addresses.map((a) => ['', '', a.street, a.city, '', a.postalCode, a.country]),
  );
  if (m.organization !== null) {
    const org = value(card, 'org');
    assert.deepEqual(Array.isArray(org) ? org : [org], [m.organization, m.department ?? '']);
  } else assert.equal(props(card, 'org').length, 0);
  assert.equal(value(card, 'title'), m.jobTitle ?? undefined);
  assert.equal(value(card, 'nickname'), m.nickname ?? undefined);
  assert.equal(value(card, 'note'), m.note ?? undefined);
  assert.equal(value(card, 'bday') ?? null, m.birthday);
  const photo = value(card, 'photo');
  assert.equal(photo ?? null, m.photo === null ? null : Buffer.from(m.photo).toString('base64'));
}

describe('export contacts', () => {
  let cb: ContentBackup;
  let model: ModelContact[];
  before(async () => {
    cb = await contentBackup('17.5.1');
    model = modelContacts(cb.content.spec.seed, databaseSizes(cb.content.spec.files));
  });
  after(() => cb.dispose());

  test('one .vcf file holds every contact the phone has, each field right, and parses with ical.js', async () => {
    const out = path.join(cb.scratch, 'deep', 'er', 'contacts.vcf');
    const r = await exportContacts(cb.source, { out });
    assert.equal(r.kind, 'contacts');
    assert.equal(r.items, model.length);
    assert.deepEqual(r.files, [out]);
    const text = readFileSync(out, 'utf8');
    for (const line of text.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, `line too long: ${line}`);
    const cards = ICAL.parse(text) as unknown as JCard[];
    assert.equal(cards.length, model.length);
    model.forEach((m, i) => checkCard(cards[i] as JCard, m));
    assert.ok(model.some((m) => m.photo !== null) && model.some((m) => m.addresses.length > 0));
    assert.ok(model.some((m) => m.urls.length > 0));
  });

  test('a folder gets one file per contact, names unique and inside the folder', async () => {
    const out = path.join(cb.scratch, 'cards');
    const events: number[] = [];
    const r = await exportContacts(cb.source, { out, onProgress: (p) => events.push(p.percent) });
    assert.ok(events.length > 1 && events.at(-1) === 100, `progress: ${events.join(' ')}`);
    const names = readdirSync(out).sort();
    assert.equal(names.length, model.length);
    assert.equal(r.files.length, model.length);
    for (const f of r.files) assert.equal(path.dirname(f), out);
    for (const f of r.files) assert.equal((ICAL.parse(readFileSync(f, 'utf8')) as unknown as JCard)[0], 'vcard');
  });

  test('folding never splits a UTF-8 character', () => {
    const line = `NOTE:${'é😀'.repeat(60)}`;
    const folded = foldLine(line);
    assert.equal(folded.split('\r\n ').join(''), line);
    for (const part of folded.split('\r\n')) assert.ok(Buffer.byteLength(part) <= 75);
  });

  test('--format other than vcf is a usage error', async () => {
    await assert.rejects(exportContacts(cb.source, { out: path.join(cb.scratch, 'x'), format: 'csv' }), (e: unknown) =>
      hasCode(e, 'USAGE'),
    );
  });

  test('an absent or unreadable address book is a clear error, not an empty file', async () => {
    cb.dropBlob('HomeDomain', 'Library/AddressBook/AddressBook.sqlitedb');
    await assert.rejects(exportContacts(cb.source, { out: path.join(cb.scratch, 'none.vcf') }), (e: unknown) =>
      hasCode(e, 'EXPORT_SOURCE_MISSING'),
    );
    assert.throws(() => readFileSync(path.join(cb.scratch, 'none.vcf')));
  });

  test('a layout without ABMultiValue is SCHEMA_UNKNOWN', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY, First TEXT, Last TEXT)');
    assert.throws(
      () => readContacts(db),
      (e: unknown) => hasCode(e, 'SCHEMA_UNKNOWN'),
    );
    db.close();
  });
});

describe('export contacts per iOS generation', () => {
  for (const ios of ['12.5.7', '15.8', '17.5.1', '26.0']) {
    test(`iOS ${ios}: every contact exported`, async () => {
      const cb = await contentBackup(ios, 300);
      try {
        const model = modelContacts(cb.content.spec.seed, databaseSizes(cb.content.spec.files));
        const r = await exportContacts(cb.source, { out: path.join(cb.scratch, 'c.vcf') });
        const cards = ICAL.parse(readFileSync(r.files[0] as string, 'utf8')) as unknown as JCard[];
        model.forEach((m, i) => checkCard(cards[i] as JCard, m));
      } finally {
        cb.dispose();
      }
    });
  }
});
