import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../../src/errors.js';
import { EmulatorState, type StoredPairing } from '../../../src/emulator/state.js';

const UDID = '00008120-001A2B3C4D5E802E';
const UUID_UPPER = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

async function withStateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const parent = await mkdtemp(join(tmpdir(), 'ibackup-state-'));
  try {
    return await fn(join(parent, 'emulator'));
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** Every path under `dir`, relative, folders included. */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    out.push(rel);
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), rel)));
  }
  return out;
}

/** A binary plist made by Python's plistlib (an independent encoder). */
function pythonBinaryPlist(json: string): Uint8Array {
  const script =
    'import plistlib,sys,json\nsys.stdout.buffer.write(plistlib.dumps(json.loads(sys.argv[1]), fmt=plistlib.FMT_BINARY))';
  return new Uint8Array(execFileSync('python3', ['-c', script, json]));
}

function pairing(n: number): Omit<StoredPairing, 'hostId'> {
  const te = new TextEncoder();
  return {
    rootCertificate: te.encode(`-----BEGIN CERTIFICATE-----\nroot ${n}\n-----END CERTIFICATE-----\n`),
    hostCertificate: te.encode(`host ${n}`),
    deviceCertificate: te.encode(`device ${n}`),
    systemBuid: `BUID-${n}`,
    escrowBag: new Uint8Array(32).fill(n),
    pairedAt: new Date(Date.UTC(2024, 4, n + 1, 10, 30, 0)),
  };
}

describe('EmulatorState: folders and SystemBUID', () => {
  test('creates private folders and a stable uppercase SystemBUID', async () => {
    await withStateDir(async (dir) => {
      const state = await EmulatorState.open(dir);
      assert.match(state.systemBuid(), UUID_UPPER);
      for (const d of [dir, join(dir, 'devices'), join(dir, 'lockdown')]) assert.equal(await mode(d), 0o700, d);
      const config = join(dir, 'lockdown', 'SystemConfiguration.plist');
      assert.equal(await mode(config), 0o600);
      const read = execFileSync('python3', [
        '-c',
        'import plistlib,sys\nprint(plistlib.load(open(sys.argv[1],"rb"))["SystemBUID"])',
        config,
      ]);
      assert.equal(read.toString().trim(), state.systemBuid());
      const again = await EmulatorState.open(dir);
      assert.equal(again.systemBuid(), state.systemBuid());
    });
  });

  test('tightens an existing folder to 0700', async () => {
    await withStateDir(async (dir) => {
      await mkdir(join(dir, 'lockdown'), { recursive: true });
      await chmod(join(dir, 'lockdown'), 0o755);
      await EmulatorState.open(dir);
      assert.equal(await mode(join(dir, 'lockdown')), 0o700);
    });
  });

  test('a damaged SystemConfiguration.plist is reported, not replaced', async () => {
    await withStateDir(async (dir) => {
      await EmulatorState.open(dir);
      const config = join(dir, 'lockdown', 'SystemConfiguration.plist');
      await writeFile(config, 'not a plist at all');
      await assert.rejects(
        EmulatorState.open(dir),
        (e: unknown) => hasCode(e, 'INTERNAL') && e.message.includes(config),
      );
    });
  });
});

describe('EmulatorState: pair records (usbmuxd role)', () => {
  test('save, read verbatim, list and delete; files are 0600', async () => {
    await withStateDir(async (dir) => {
      const state = await EmulatorState.open(dir);
      const record = pythonBinaryPlist('{"HostID": "ABC", "SystemBUID": "X", "EscrowBag": "not data but fine"}');
      assert.equal(await state.readPairRecord(UDID), null);
      await state.savePairRecord(UDID, record);
      assert.deepEqual(await state.readPairRecord(UDID), record);
      assert.equal(await mode(join(dir, 'lockdown', `${UDID}.plist`)), 0o600);
      assert.deepEqual(await state.pairRecordIds(), [UDID]);
      const reopened = await EmulatorState.open(dir);
      assert.deepEqual(await reopened.readPairRecord(UDID), record);
      assert.equal(await reopened.deletePairRecord(UDID), true);
      assert.equal(await reopened.deletePairRecord(UDID), false);
      assert.equal(await reopened.readPairRecord(UDID), null);
      assert.deepEqual(await reopened.pairRecordIds(), []);
    });
  });

  test('accepts XML records too, and refuses bytes that are not a plist dictionary', async () => {
    await withStateDir(async (dir) => {
      const state = await EmulatorState.open(dir);
      const xml = new TextEncoder().encode(
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>HostID</key><string>H</string></dict></plist>\n',
      );
      await state.savePairRecord(UDID, xml);
      assert.deepEqual(await state.readPairRecord(UDID), xml);
      await assert.rejects(state.savePairRecord(UDID, new TextEncoder().encode('garbage')), (e: unknown) =>
        hasCode(e, 'PROTOCOL_DECODE'),
      );
      await assert.rejects(state.savePairRecord(UDID, pythonBinaryPlist('[1, 2]')), (e: unknown) =>
        hasCode(e, 'PROTOCOL_DECODE'),
      );
      assert.deepEqual(await state.readPairRecord(UDID), xml);
    });
  });

  test('identifiers that are not safe file names are refused', async () => {
    await withStateDir(async (dir) => {
      const state = await EmulatorState.open(dir);
      const record = pythonBinaryPlist('{"HostID": "H"}');
      for (const id of ['../evil', 'a/b', '', '.hidden', 'SystemConfiguration', 'x'.repeat(65)]) {
        assert.equal(await state.readPairRecord(id), null, id);
        assert.equal(await state.deletePairRecord(id), false, id);
        await assert.rejects(state.savePairRecord(id, record), (e: unknown) => hasCode(e, 'UNSAFE_PATH'), id);
        await assert.rejects(state.device(id), (e: unknown) => hasCode(e, 'UNSAFE_PATH'), id);
      }
      assert.match(state.systemBuid(), UUID_UPPER);
    });
  });
});

describe('DeviceState', () => {
  test('the device key is made once, kept 0600 and reused after a restart', async () => {
    await withStateDir(async (dir) => {
      const state = await EmulatorState.open(dir);
      const [a, b] = await Promise.all([state.device(UDID), state.device(UDID)]);
      assert.equal(a, b);
      assert.ok(a.privateKeyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'));
      assert.ok(a.publicKeyPkcs1Pem.startsWith('-----BEGIN RSA PUBLIC KEY-----\n'));
      const key = createPrivateKey(a.privateKeyPem);
      assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
      assert.ok(createPublicKey(a.publicKeyPkcs1Pem).equals(createPublicKey(key)));
      const keyPath = join(dir, 'devices', UDID, 'device-key.pem');
      assert.equal(await mode(keyPath), 0o600);
      assert.equal(await mode(join(dir, 'devices', UDID)), 0o700);
      assert.equal(await readFile(keyPath, 'utf8'), a.privateKeyPem);
      const again = await (await EmulatorState.open(dir)).device(UDID);
      assert.equal(again.privateKeyPem, a.privateKeyPem);
      assert.equal(again.publicKeyPkcs1Pem, a.publicKeyPkcs1Pem);
      const other = await state.device('0123456789abcdef0123456789abcdef01234567');
      assert.notEqual(other.publicKeyPkcs1Pem, a.publicKeyPkcs1Pem);
    });
  });

  test('pairings survive a restart and removals are saved', async () => {
    await withStateDir(async (dir) => {
      const device = await (await EmulatorState.open(dir)).device(UDID);
      assert.equal(device.getPairing('H1'), undefined);
      await device.addPairing('H1', pairing(1));
      await device.addPairing('H2', pairing(2));
      assert.equal(await mode(join(dir, 'devices', UDID, 'pairings.plist')), 0o600);
      const reopened = await (await EmulatorState.open(dir)).device(UDID);
      assert.deepEqual(reopened.getPairing('H1'), { ...pairing(1), hostId: 'H1' });
      assert.deepEqual(
        reopened.pairings().map((p) => p.hostId),
        ['H1', 'H2'],
      );
      assert.equal(await reopened.removePairing('H1'), true);
      assert.equal(await reopened.removePairing('H1'), false);
      const third = await (await EmulatorState.open(dir)).device(UDID);
      assert.deepEqual(
        third.pairings().map((p) => p.hostId),
        ['H2'],
      );
      assert.deepEqual(third.getPairing('H2')?.escrowBag, new Uint8Array(32).fill(2));
    });
  });

  test('settings are saved and can be cleared', async () => {
    await withStateDir(async (dir) => {
      const device = await (await EmulatorState.open(dir)).device(UDID);
      assert.deepEqual(device.settings(), { deviceName: null, backupPassword: null, wifiConnections: false });
      await device.updateSettings({ deviceName: 'Kitchen iPhone', backupPassword: 's3cret', wifiConnections: true });
      let again = await (await EmulatorState.open(dir)).device(UDID);
      assert.deepEqual(again.settings(), {
        deviceName: 'Kitchen iPhone',
        backupPassword: 's3cret',
        wifiConnections: true,
      });
      await again.updateSettings({ backupPassword: null, wifiConnections: false });
      again = await (await EmulatorState.open(dir)).device(UDID);
      assert.deepEqual(again.settings(), {
        deviceName: 'Kitchen iPhone',
        backupPassword: null,
        wifiConnections: false,
      });
      assert.equal(await mode(join(dir, 'devices', UDID, 'settings.plist')), 0o600);
    });
  });

  test('many concurrent writes leave the last state and no temporary files', async () => {
    await withStateDir(async (dir) => {
      const state = await EmulatorState.open(dir);
      const device = await state.device(UDID);
      const record = pythonBinaryPlist('{"HostID": "H"}');
      const jobs: Promise<unknown>[] = [];
      for (let i = 1; i <= 20; i++) {
        jobs.push(device.addPairing(`H${i}`, pairing(i)));
        jobs.push(device.updateSettings({ deviceName: `name ${i}` }));
        jobs.push(state.savePairRecord(UDID, record));
      }
      await Promise.all(jobs);
      const files = await walk(dir);
      assert.deepEqual(
        files.filter((f) => f.includes('.tmp')),
        [],
      );
      const reopened = await (await EmulatorState.open(dir)).device(UDID);
      assert.equal(reopened.pairings().length, 20);
      assert.equal(reopened.settings().deviceName, 'name 20');
      for (const f of files) {
        const expected = (await stat(join(dir, f))).isDirectory() ? 0o700 : 0o600;
        assert.equal(await mode(join(dir, f)), expected, f);
      }
    });
  });

  test('damaged device files are reported with their path', async () => {
    await withStateDir(async (dir) => {
      await (await EmulatorState.open(dir)).device(UDID);
      const pairings = join(dir, 'devices', UDID, 'pairings.plist');
      await writeFile(
        pairings,
        '<?xml version="1.0"?><plist version="1.0"><dict><key>H</key><string>x</string></dict></plist>',
      );
      await assert.rejects(
        (await EmulatorState.open(dir)).device(UDID),
        (e: unknown) => hasCode(e, 'INTERNAL') && e.message.includes(pairings),
      );
      await rm(pairings);
      const keyPath = join(dir, 'devices', UDID, 'device-key.pem');
      await writeFile(keyPath, 'no key here');
      await assert.rejects(
        (await EmulatorState.open(dir)).device(UDID),
        (e: unknown) => hasCode(e, 'INTERNAL') && e.message.includes(keyPath),
      );
    });
  });
});
