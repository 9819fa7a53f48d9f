import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'parse5';
import { databaseSizes } from '../../../src/emulator/content/domains.js';
import { modelContacts } from '../../../src/emulator/content/personal.js';
import { modelConversations, type ModelConversations } from '../../../src/emulator/content/personal-messages.js';
import { attachmentBytes } from '../../../src/emulator/content/sms-db.js';
import { hasCode } from '../../../src/errors.js';
import { parseSince } from '../../../src/app/export.js';
import { attachmentKeys, exportMessages } from '../../../src/export/messages.js';
import { attributedText, readConversations } from '../../../src/export/messages-read.js';
import { contentBackup, type ContentBackup } from '../../support/export-source.js';

interface JsonMessage {
  guid: string;
  date: string;
  fromMe: boolean;
  sender: string | null;
  text: string;
  attachments: { name: string; file: string | null }[];
  reactions: string[];
  edited: string | null;
  unsent: boolean;
  replyTo: string | null;
  earlierVersions: { date: string; text: string }[];
}
interface JsonDoc {
  conversations: { title: string; messages: JsonMessage[] }[];
}

const seconds = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso) / 1000);

/** Every message the model says the export must show, by guid, with the reactions folded in. */
function expected(
  model: ModelConversations,
): Map<string, { m: (typeof model.messages)[number]; reactions: Map<string, string> }> {
  const out = new Map<string, { m: (typeof model.messages)[number]; reactions: Map<string, string> }>();
  const handle = new Map(model.handles.map((h) => [h.id, h.address]));
  for (const m of model.messages) {
    if (m.deleted) continue;
    if (m.reaction === undefined) {
      out.set(m.guid, { m, reactions: new Map() });
      continue;
    }
    const who = m.fromMe ? 'Me' : (handle.get(m.handleId) as string);
    out.get(m.reaction.targetGuid)?.reactions.set(who, m.reaction.kind);
  }
  return out;
}

const EMOJI: Record<string, string> = {
  love: '❤️',
  like: '👍',
  dislike: '👎',
  laugh: '😂',
  emphasize: '‼️',
  question: '❓',
};

function checkAgainstModel(
  cb: ContentBackup,
  doc: JsonDoc,
  out: string,
  major: number,
  names: (h: string) => string,
): number {
  const model = modelConversations(cb.content.spec.seed, databaseSizes(cb.content.spec.files), major);
  const want = expected(model);
  const handle = new Map(model.handles.map((h) => [h.id, h.address]));
  const got = doc.conversations.flatMap((c) => c.messages);
  assert.equal(got.length, want.size, 'every message the phone has, no more');
  for (const g of got) {
    const w = want.get(g.guid);
    assert.ok(w !== undefined, `unexpected message ${g.guid}`);
    const m = w.m;
    assert.equal(seconds(g.date), m.date);
    assert.equal(g.fromMe, m.fromMe);
    if (!m.fromMe) assert.equal(g.sender, handle.get(m.handleId));
    assert.equal(g.unsent, m.unsent);
    assert.equal(g.text, m.unsent ? '' : (m.text ?? '').replace(/\ufffc/g, '').trim());
    assert.equal(seconds(g.edited), m.editedAt ?? null);
    assert.equal(g.replyTo, m.replyTo ?? null);
    assert.deepEqual(
      g.earlierVersions.map((v) => [seconds(v.date), v.text]),
      m.originalText === undefined ? [] : [[m.date, m.originalText]],
    );
    const reactions = [...w.reactions].map(([who, kind]) => `${EMOJI[kind]} ${names(who)}`).sort();
    assert.deepEqual([...g.reactions].sort(), reactions);
    assert.equal(g.attachments.length, m.attachments.length);
    m.attachments.forEach((a, i) => {
      const ga = g.attachments[i] as { name: string; file: string | null };
      if (!a.inBackup) return assert.equal(ga.file, null);
      assert.ok(ga.file !== null);
      const abs = path.resolve(out, ga.file);
      assert.ok(!path.relative(out, abs).startsWith('..'));
      assert.deepEqual(new Uint8Array(readFileSync(abs)), attachmentBytes(cb.content.spec.seed, a));
    });
  }
  return got.length;
}

/** Display names by handle, from the model's address book (the oracle of the names shown). */
function namesOf(cb: ContentBackup, major: number): (h: string) => string {
  const sizes = databaseSizes(cb.content.spec.files);
  const contacts = modelContacts(cb.content.spec.seed, sizes);
  const model = modelConversations(cb.content.spec.seed, sizes, major);
  const byHandle = new Map<string, string>();
  for (const h of model.handles) {
    const c = contacts[h.contactId - 1];
    // Named only when the address book has that number or e-mail.
    const listed = c !== undefined && [...c.phones, ...c.emails].some((v) => v.value.replace(/ /g, '') === h.address);
    if (listed) byHandle.set(h.address, [c.first, c.middle, c.last].filter((x) => x !== null).join(' '));
  }
  return (h) => byHandle.get(h) ?? h;
}

interface Node {
  nodeName: string;
  attrs?: { name: string; value: string }[];
  childNodes?: Node[];
  content?: Node;
}

/** Every element of a parse5 tree. */
function elements(n: Node): Node[] {
  const kids = [...(n.childNodes ?? []), ...(n.content === undefined ? [] : [n.content])];
  return [n, ...kids.flatMap(elements)];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('export messages', () => {
  let cb: ContentBackup;
  before(async () => {
    cb = await contentBackup('17.5.1');
  });
  after(() => cb.dispose());

  test('JSON: every message, reaction, reply, edit, unsent message and attachment the phone has', async () => {
    const out = path.join(cb.scratch, 'json');
    const r = await exportMessages(cb.source, { out, format: 'json' });
    const doc = JSON.parse(readFileSync(path.join(out, 'messages.json'), 'utf8')) as JsonDoc;
    const n = checkAgainstModel(cb, doc, out, 17, namesOf(cb, 17));
    assert.equal(r.items, n);
    const codes = r.warnings.map((w) => w.code).sort();
    assert.deepEqual(codes, ['ATTACHMENTS_NOT_IN_BACKUP', 'MESSAGES_NOT_IN_BACKUP']);
  });

  test('HTML: parses without errors, no script, images inline from files inside --out', async () => {
    const out = path.join(cb.scratch, 'html');
    const r = await exportMessages(cb.source, { out });
    assert.equal(r.format, 'html');
    const pages = readdirSync(out).filter((n) => n.endsWith('.html'));
    assert.ok(pages.includes('index.html') && pages.length > 3);
    let images = 0;
    for (const p of pages) {
      const html = readFileSync(path.join(out, p), 'utf8');
      const errors: string[] = [];
      const doc = parse(html, { onParseError: (e) => errors.push(`${e.code} at ${e.startLine}:${e.startCol}`) });
      assert.deepEqual(errors, [], p);
      const all = elements(doc as unknown as Node);
      assert.ok(!all.some((e) => e.nodeName === 'script'), `${p} has no script`);
      assert.ok(!all.some((e) => e.attrs?.some((a) => a.name.startsWith('on'))), `${p} has no event handler`);
      for (const img of all.filter((e) => e.nodeName === 'img')) {
        const src = img.attrs?.find((a) => a.name === 'src')?.value ?? '';
        const file = path.resolve(out, decodeURIComponent(src));
        assert.ok(existsSync(file) && !path.relative(out, file).startsWith('..'), src);
        images++;
      }
    }
    assert.ok(images > 0);
    for (const f of walk(out)) assert.ok(!path.relative(out, f).startsWith('..'));
    assert.ok(
      walk(out).some((f) => f.includes('escape')),
      'the hostile attachment name stays inside --out',
    );
    const index = readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.match(index, /no messages in this backup/);
    assert.match(index, /Famille 👨‍👩‍👧 &amp; amis/);
  });

  test('CSV: one row per message, RFC 4180 quoting', async () => {
    const out = path.join(cb.scratch, 'csv');
    const r = await exportMessages(cb.source, { out, format: 'csv' });
    const text = readFileSync(path.join(out, 'messages.csv'), 'utf8');
    assert.ok(text.startsWith('\ufeffconversation,date,direction,'));
    const rows = text
      .slice(1)
      .split(/\r\n(?=(?:[^"]*"[^"]*")*[^"]*$)/)
      .filter((l) => l !== '');
    assert.equal(rows.length, r.items + 1);
  });

  test('--chat keeps one conversation, --since the newer messages; an unknown chat is a usage error', async () => {
    const model = modelConversations(cb.content.spec.seed, databaseSizes(cb.content.spec.files), 17);
    const group = model.chats.find((c) => c.displayName !== null);
    assert.ok(group !== undefined);
    const out = path.join(cb.scratch, 'one');
    const r = await exportMessages(cb.source, { out, format: 'json', chat: group.displayName as string });
    const doc = JSON.parse(readFileSync(path.join(out, 'messages.json'), 'utf8')) as JsonDoc;
    assert.equal(doc.conversations.length, 1);
    const live = model.messages.filter((m) => m.chatId === group.id && !m.deleted && m.reaction === undefined);
    assert.equal(r.items, live.length);
    const since = new Date(((live[Math.floor(live.length / 2)]?.date ?? 0) as number) * 1000);
    const r2 = await exportMessages(cb.source, { out: path.join(cb.scratch, 'since'), format: 'json', since });
    const later = model.messages.filter(
      (m) => !m.deleted && m.reaction === undefined && m.date * 1000 >= since.getTime(),
    );
    assert.equal(r2.items, later.length);
    await assert.rejects(
      exportMessages(cb.source, { out: path.join(cb.scratch, 'x'), chat: '+1 555 0000 000' }),
      (e: unknown) => hasCode(e, 'USAGE'),
    );
  });

  test('no sms.db is EXPORT_SOURCE_MISSING; an unknown layout is SCHEMA_UNKNOWN', async () => {
    const db = new Database(':memory:');
    db.exec(
      'CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT); CREATE TABLE chat (ROWID INTEGER PRIMARY KEY)',
    );
    assert.throws(
      () => readConversations(db),
      (e: unknown) => hasCode(e, 'SCHEMA_UNKNOWN'),
    );
    db.close();
    cb.dropBlob('HomeDomain', 'Library/SMS/sms.db');
    await assert.rejects(exportMessages(cb.source, { out: path.join(cb.scratch, 'none') }), (e: unknown) =>
      hasCode(e, 'EXPORT_SOURCE_MISSING'),
    );
  });

  test('--since takes a local day or a date and time, and refuses anything else', () => {
    assert.equal(parseSince('2024-05-01').getTime(), new Date(2024, 4, 1).getTime());
    assert.equal(parseSince('2024-05-01T18:00:00Z').toISOString(), '2024-05-01T18:00:00.000Z');
    assert.throws(
      () => parseSince('yesterday-ish'),
      (e: unknown) => hasCode(e, 'USAGE'),
    );
  });

  test('attachment paths as sms.db records them map into the backup, never outside it', () => {
    const rel = 'Library/SMS/Attachments/ab/01/GUID/IMG_0001.jpeg';
    for (const recorded of [`~/${rel}`, `/var/mobile/${rel}`, `/private/var/mobile/${rel}`])
      assert.deepEqual(attachmentKeys(recorded), [`MediaDomain/${rel}`, `HomeDomain/${rel}`]);
    assert.deepEqual(attachmentKeys('~/Library/SMS/../../etc/passwd'), []);
    assert.deepEqual(attachmentKeys('/etc/passwd'), []);
  });

  test('text kept only in attributedBody is read', () => {
    const text = 'Hé 👋 from the body';
    const bytes = Buffer.from(text, 'utf8');
    const body = Buffer.concat([
      Buffer.from(
        '\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+',
        'latin1',
      ),
      Buffer.from([bytes.length]),
      bytes,
      Buffer.from('\x86\x84\x02iI\x01', 'latin1'),
    ]);
    assert.equal(attributedText(body), text);
    assert.equal(attributedText(Buffer.from('nothing here')), null);
  });
});

describe('export messages per iOS generation', () => {
  for (const [ios, major] of [
    ['12.5.7', 12],
    ['15.8', 15],
    ['17.5.1', 17],
    ['26.0', 26],
  ] as const) {
    test(`iOS ${ios}: every message exported`, async () => {
      const cb = await contentBackup(ios, 600);
      try {
        const out = path.join(cb.scratch, 'm');
        await exportMessages(cb.source, { out, format: 'json' });
        const doc = JSON.parse(readFileSync(path.join(out, 'messages.json'), 'utf8')) as JsonDoc;
        checkAgainstModel(cb, doc, out, major, namesOf(cb, major));
      } finally {
        cb.dispose();
      }
    });
  }
});
