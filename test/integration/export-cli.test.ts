import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ICAL from 'ical.js';
import { backupDevice } from '../../src/app/backup.js';
import { openHost } from '../../src/app/context.js';
import { changeEncryption } from '../../src/app/encryption.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { databaseSizes } from '../../src/emulator/content/domains.js';
import { modelConversations } from '../../src/emulator/content/personal-messages.js';
import { modelCalls, modelContacts, modelNotes } from '../../src/emulator/content/personal.js';
import { builtInProfile } from '../../src/emulator/profile.js';
import { cliIn, listingOf } from '../support/backup-reading.js';
import { json, type ErrorDoc } from '../support/bench.js';
import { FAST_PROFILE, startTestEmulator, type TestEmulator } from '../support/test-emulator.js';

const PW = 'correct horse 🐎';
const spec = builtInProfile('tiny').content;
const sizes = databaseSizes(spec.files);

interface ExportDoc {
  kind: string;
  items: number;
  files: string[];
  out: string;
  format: string;
  warnings: { code: string; message: string }[];
}

describe('ibackup export on an encrypted backup made by the virtual iPhone', { timeout: 120_000 }, () => {
  let te: TestEmulator;
  let host: string;
  let dir: string;
  let udid: string;
  let cli: ReturnType<typeof cliIn>;

  before(async () => {
    te = await startTestEmulator({ profile: FAST_PROFILE });
    host = mkdtempSync(path.join(tmpdir(), 'ibackup-export-cli-'));
    const root = path.join(host, 'backups');
    const ctx = openHost({
      usbmuxd: te.emu.socketAddress,
      ownDir: path.join(host, 'lockdown'),
      systemDirs: [],
      timeoutMs: 5_000,
    });
    const device = await selectDevice(ctx);
    await pairDevice(device, {});
    await changeEncryption(device, 'on', { root, password: PW });
    const r = await backupDevice(device, { root });
    dir = r.path;
    udid = r.udid;
    cli = cliIn(path.join(host, 'config'), root);
  });
  after(async () => {
    await te?.dispose();
    rmSync(host, { recursive: true, force: true });
  });

  test('contacts: password on stdin, --out parents created, every contact in a vCard file', async () => {
    const before = listingOf(dir);
    const out = path.join(host, 'out', 'a', 'b', 'contacts.vcf');
    const r = await cli(['export', 'contacts', dir, '--out', out, '--password-stdin', '--json'], { stdin: `${PW}\n` });
    assert.equal(r.code, 0, r.stderr);
    const doc = json<ExportDoc>(r.stdout);
    assert.equal(doc.kind, 'contacts');
    assert.equal(doc.items, sizes.contacts);
    assert.deepEqual(doc.files, [out]);
    assert.deepEqual(doc.warnings, []);
    const cards = ICAL.parse(readFileSync(out, 'utf8')) as unknown as unknown[][];
    const want = modelContacts(spec.seed, sizes);
    assert.deepEqual(
      cards.map((c) => (c[1] as unknown[][]).find((p) => p[0] === 'fn')?.[3]),
      want.map((m) => [m.first, m.middle, m.last].filter((x) => x !== null).join(' ')),
    );
    assert.deepEqual(listingOf(dir), before, 'the backup folder changed');
    assert.ok(!r.stderr.includes(PW) && !r.stdout.includes(PW));
  });

  test('messages by UDID with IBACKUP_PASSWORD: every message, what is missing said', async () => {
    const out = path.join(host, 'out', 'messages');
    const r = await cli(['export', 'messages', udid, '--out', out, '--json'], { env: { IBACKUP_PASSWORD: PW } });
    assert.equal(r.code, 0, r.stderr);
    const doc = json<ExportDoc>(r.stdout);
    const model = modelConversations(spec.seed, sizes, 17);
    assert.equal(doc.items, model.messages.filter((m) => !m.deleted && m.reaction === undefined).length);
    assert.equal(doc.format, 'html');
    assert.ok(doc.files.includes(path.join(out, 'index.html')));
    assert.ok(doc.warnings.some((w) => w.code === 'MESSAGES_NOT_IN_BACKUP'));
    assert.match(r.stderr, /"event":"progress"/);
  });

  test('calls: a wrong password and no password are clear errors; then CSV in text mode, the key saved', async () => {
    const wrong = await cli(['export', 'calls', dir, '--json'], { env: { IBACKUP_PASSWORD: 'nope' } });
    assert.equal(wrong.code, 1);
    assert.equal(json<ErrorDoc>(wrong.stdout).error.code, 'WRONG_PASSWORD');
    const none = await cli(['export', 'calls', dir, '--json']);
    assert.equal(none.code, 1);
    assert.equal(json<ErrorDoc>(none.stdout).error.code, 'PASSWORD_REQUIRED');
    const out = path.join(host, 'out', 'calls.csv');
    const ok = await cli(['export', 'calls', dir, '--out', out, '--save-key'], { env: { IBACKUP_PASSWORD: PW } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`Exported ${sizes.calls} calls \\(csv, 1 file\\)`));
    assert.match(ok.stderr, /later commands need no password/);
    const lines = readFileSync(out, 'utf8')
      .split('\r\n')
      .filter((l) => l !== '');
    assert.equal(lines.length, modelCalls(spec.seed, sizes).length + 1);
  });

  test('notes of the latest version (--at latest) with the saved key: open ones written, locked ones listed', async () => {
    const notes = await cli([
      'export',
      'notes',
      dir,
      '--at',
      'latest',
      '--out',
      path.join(host, 'out', 'notes'),
      '--json',
    ]);
    assert.equal(notes.code, 0, notes.stderr);
    const n = json<ExportDoc>(notes.stdout);
    assert.equal(n.items, modelNotes(spec.seed, sizes).filter((x) => !x.locked && !x.deleted).length);
    assert.ok(n.files.includes(path.join(host, 'out', 'notes', 'index.html')));
    assert.ok(n.warnings.some((w) => w.code === 'NOTES_LOCKED'));
  });
});
