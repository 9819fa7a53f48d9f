import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasCode } from '../../../src/errors.js';
import {
  PROFILE_NAMES,
  deriveProfile,
  loadProfileSpec,
  parseProfileJson,
  resolveProfile,
  validateProfileOverrides,
  type DeviceProfile,
} from '../../../src/emulator/profile.js';

/** Luhn check over the whole number (check digit included): the digit sum must end in 0. */
function luhnValid(digits: string): boolean {
  let sum = 0;
  [...digits].reverse().forEach((ch, i) => {
    let d = Number(ch);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  });
  return sum % 10 === 0;
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ibackup-profile-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Expects a USAGE error whose message contains every fragment. */
async function rejectsUsage(p: Promise<unknown> | (() => unknown), ...fragments: string[]): Promise<void> {
  const run = typeof p === 'function' ? async () => p() : () => p;
  await assert.rejects(run, (e: unknown) => {
    assert.ok(hasCode(e, 'USAGE'), `expected USAGE, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" should mention ${f}`);
    return true;
  });
}

describe('built-in profiles', () => {
  test('tiny, typical and big: content sizes, iOS 17, trusting and unlocked', async () => {
    const profiles = new Map<string, DeviceProfile>();
    for (const name of PROFILE_NAMES) profiles.set(name, await resolveProfile({ profile: name }));
    const tiny = profiles.get('tiny');
    const typical = profiles.get('typical');
    const big = profiles.get('big');
    assert.ok(tiny && typical && big);
    assert.ok(tiny.content.files >= 50 && tiny.content.files <= 200);
    assert.ok(tiny.content.bytes >= 1_000_000 && tiny.content.bytes <= 20_000_000);
    assert.ok(typical.content.files >= 4_000 && typical.content.files <= 6_000);
    assert.ok(typical.content.bytes >= 250_000_000 && typical.content.bytes <= 350_000_000);
    assert.ok(big.content.files >= 200_000);
    assert.ok(big.content.hugeFiles.some((n) => n >= 4 * 1024 ** 3));
    for (const p of profiles.values()) {
      assert.match(p.identity.productVersion, /^17\./);
      assert.deepEqual(p.behaviour.trust, { mode: 'accept' });
      assert.deepEqual(p.behaviour.passcode, { mode: 'enter' });
      assert.equal(p.behaviour.locked, false);
      assert.deepEqual(p.behaviour.serviceTls, {
        afc: false,
        notificationProxy: true,
        mobilebackup2: true,
        installationProxy: true,
      });
      assert.equal(p.behaviour.keyDerivationIterations, 10_000_000);
      assert.ok(p.identity.usedBytes <= p.identity.totalCapacityBytes);
    }
  });

  test('no profile means typical', async () => {
    assert.deepEqual(await resolveProfile(), await resolveProfile({ profile: 'typical' }));
  });

  test('the default identity is a modern iPhone with consistent identifiers', async () => {
    const { identity: id } = await resolveProfile({ profile: 'tiny' });
    assert.equal(id.udidStyle, 'modern');
    assert.match(id.udid, /^00008120-[0-9A-F]{16}$/);
    assert.equal(id.uniqueChipId, Number.parseInt(id.udid.slice(9), 16));
    assert.equal(id.productType, 'iPhone15,2');
    assert.equal(id.hardwareModel, 'D73AP');
    assert.equal(id.cpuArchitecture, 'arm64e');
    assert.equal(id.deviceName, 'iPhone');
    assert.match(id.imei, /^\d{15}$/);
    assert.ok(luhnValid(id.imei), `IMEI ${id.imei} fails the Luhn check`);
    assert.ok(luhnValid(id.iccid), `ICCID ${id.iccid} fails the Luhn check`);
    assert.equal(id.meid, id.imei.slice(0, 14));
    assert.match(id.wifiAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.notEqual(id.bluetoothAddress, id.wifiAddress);
    assert.match(id.serialNumber, /^[0-9A-Z]{10}$/);
  });
});

describe('determinism and --devices N', () => {
  test('the same options give the same device', async () => {
    assert.deepEqual(
      await resolveProfile({ profile: 'big', index: 3, seed: 99 }),
      await resolveProfile({ profile: 'big', index: 3, seed: 99 }),
    );
  });

  test('each index gets its own UDID, name, serial and Wi-Fi address', async () => {
    const devices = await Promise.all([0, 1, 2, 3].map((index) => resolveProfile({ index })));
    assert.deepEqual(
      devices.map((d) => d.identity.deviceName),
      ['iPhone', 'iPhone (2)', 'iPhone (3)', 'iPhone (4)'],
    );
    for (const key of ['udid', 'serialNumber', 'wifiAddress', 'imei', 'uniqueChipId'] as const) {
      assert.equal(new Set(devices.map((d) => d.identity[key])).size, 4, `${key} repeats`);
    }
    assert.deepEqual(
      devices.map((d) => d.index),
      [0, 1, 2, 3],
    );
  });

  test('a different seed gives a different device', async () => {
    const a = await resolveProfile({ seed: 1 });
    const b = await resolveProfile({ seed: 2 });
    assert.notEqual(a.identity.udid, b.identity.udid);
    assert.notEqual(a.content.seed, b.content.seed);
  });

  test('property: every derived device passes the profile schema and UDIDs never repeat', async () => {
    const spec = await loadProfileSpec('typical');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 50 }), (seed, index) => {
        const p = deriveProfile(spec, { seed, index });
        validateProfileOverrides({ identity: p.identity, behaviour: p.behaviour, content: p.content }, 'derived');
        const other = deriveProfile(spec, { seed, index: index + 1 });
        assert.notEqual(other.identity.udid, p.identity.udid);
      }),
      { numRuns: 60 },
    );
  });
});

describe('--ios', () => {
  test('sets ProductVersion and a matching BuildVersion', async () => {
    const cases: [string, string][] = [
      ['17.5', '21F79'],
      ['17.5.1', '21F90'],
      ['16.0', '20A362'],
      ['15.0', '19A346'],
      ['26.0', '23A341'],
    ];
    for (const [ios, build] of cases) {
      const p = await resolveProfile({ ios });
      assert.equal(p.identity.productVersion, ios);
      assert.equal(p.identity.buildVersion, build);
    }
  });

  test('unknown releases get a build number of the right train and letter', async () => {
    const p = await resolveProfile({ ios: '17.3.9' });
    assert.match(p.identity.buildVersion, /^21D\d+$/);
    const q = await resolveProfile({ ios: '16.2' });
    assert.match(q.identity.buildVersion, /^20C\d+$/);
  });

  test('an old iOS picks an older model and a legacy UDID', async () => {
    const p = await resolveProfile({ ios: '9.3' });
    assert.ok(
      ['iPhone4,1', 'iPhone5,2', 'iPhone6,1', 'iPhone7,2'].includes(p.identity.productType),
      p.identity.productType,
    );
    assert.equal(p.identity.udidStyle, 'legacy40');
    assert.match(p.identity.udid, /^[0-9a-f]{40}$/);
    assert.equal(p.identity.buildVersion, '13E233');
  });

  test('rejects versions that do not exist', async () => {
    for (const ios of ['19.0', 'abc', '17', '17.x', '1.0']) await rejectsUsage(resolveProfile({ ios }), ios);
  });
});

describe('JSON profiles', () => {
  test('are deep-merged over typical, named after the file', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'slow-phone.json');
      await writeFile(
        path,
        JSON.stringify({
          identity: { deviceName: 'Test Phone', productType: 'iPhone14,5', totalCapacityBytes: 256_000_000_000 },
          behaviour: { trust: { mode: 'pending', seconds: 5 }, serviceTls: { afc: true } },
          content: { files: 10 },
        }),
      );
      const p = await resolveProfile({ profile: path });
      assert.equal(p.name, 'slow-phone');
      assert.equal(p.identity.deviceName, 'Test Phone');
      assert.equal(p.identity.productType, 'iPhone14,5');
      assert.equal(p.identity.hardwareModel, 'D17AP');
      assert.match(p.identity.udid, /^00008110-/);
      assert.deepEqual(p.behaviour.trust, { mode: 'pending', seconds: 5 });
      assert.deepEqual(p.behaviour.serviceTls, {
        afc: true,
        notificationProxy: true,
        mobilebackup2: true,
        installationProxy: true,
      });
      assert.deepEqual(p.behaviour.passcode, { mode: 'enter' });
      assert.equal(p.content.files, 10);
      assert.equal(p.content.bytes, (await resolveProfile()).content.bytes);
      const second = await resolveProfile({ profile: path, index: 1 });
      assert.equal(second.identity.deviceName, 'Test Phone (2)');
    });
  });

  test('"extends" and "name" choose the base and the name', async () => {
    const p = await resolveProfile({ profile: { extends: 'tiny', name: 'mine', behaviour: { locked: true } } });
    assert.equal(p.name, 'mine');
    assert.equal(p.content.files, (await resolveProfile({ profile: 'tiny' })).content.files);
    assert.equal(p.behaviour.locked, true);
  });

  test('an explicit UDID serves the first device only', async () => {
    const udid = '00008030-001A2B3C4D5E802E';
    const first = await resolveProfile({ profile: { identity: { udid } } });
    assert.equal(first.identity.udid, udid);
    assert.equal(first.identity.uniqueChipId, 0x001a2b3c4d5e802e);
    const second = await resolveProfile({ profile: { identity: { udid } }, index: 1 });
    assert.notEqual(second.identity.udid, udid);
  });

  test('--ios overrides the file and an impossible model is refused', async () => {
    const p = await resolveProfile({ profile: { identity: { productVersion: '16.7' } }, ios: '17.2' });
    assert.equal(p.identity.productVersion, '17.2');
    assert.equal(p.identity.buildVersion, '21C62');
    await rejectsUsage(
      resolveProfile({ profile: { identity: { productType: 'iPhone15,2' } }, ios: '12.0' }),
      'iPhone15,2',
      '12.0',
    );
  });

  const bad: [string, string, string[]][] = [
    ['syntax', '{"identity": ', ['not valid JSON']],
    ['not an object', '[1, 2]', ['JSON object']],
    ['unknown top-level key', '{"identy": {}}', ['unknown key "identy"']],
    ['unknown nested key', '{"identity": {"deviceNmae": "x"}}', ['identity.deviceNmae']],
    ['wrong type', '{"identity": {"totalCapacityBytes": "lots"}}', ['identity.totalCapacityBytes', 'whole number']],
    ['unknown time zone', '{"identity": {"timeZone": "Mars/Olympus"}}', ['identity.timeZone']],
    ['bad MAC', '{"identity": {"wifiAddress": "nope"}}', ['identity.wifiAddress']],
    ['bad UDID', '{"identity": {"udid": "xyz"}}', ['identity.udid']],
    ['empty name', '{"identity": {"deviceName": ""}}', ['identity.deviceName']],
    ['unknown trust mode', '{"behaviour": {"trust": {"mode": "maybe"}}}', ['behaviour.trust.mode']],
    ['pending without seconds', '{"behaviour": {"trust": {"mode": "pending"}}}', ['behaviour.trust.seconds']],
    [
      'seconds where none belong',
      '{"behaviour": {"passcode": {"mode": "enter", "seconds": 3}}}',
      ['behaviour.passcode.seconds'],
    ],
    [
      'negative seconds',
      '{"behaviour": {"passcode": {"mode": "after", "seconds": -1}}}',
      ['behaviour.passcode.seconds'],
    ],
    ['serviceTls type', '{"behaviour": {"serviceTls": {"afc": "yes"}}}', ['behaviour.serviceTls.afc']],
    ['serviceTls unknown service', '{"behaviour": {"serviceTls": {"ftp": true}}}', ['behaviour.serviceTls.ftp']],
    ['iterations', '{"behaviour": {"keyDerivationIterations": 0}}', ['behaviour.keyDerivationIterations']],
    ['content list', '{"content": {"hugeFiles": ["big"]}}', ['content.hugeFiles', 'item 0']],
    ['seed range', '{"content": {"seed": -4}}', ['content.seed']],
    ['extends', '{"extends": "huge"}', ['extends']],
  ];
  for (const [what, json, fragments] of bad) {
    test(`rejects ${what} with a USAGE error naming the problem`, async () => {
      await rejectsUsage(() => parseProfileJson(json, 'p.json'), 'p.json', ...fragments);
    });
  }

  test('rejects impossible sizes and mismatched UDID styles', async () => {
    await rejectsUsage(resolveProfile({ profile: { identity: { usedBytes: 2_000_000_000_000 } } }), 'usedBytes');
    await rejectsUsage(resolveProfile({ profile: { identity: { totalCapacityBytes: 1_000 } } }), 'does not fit');
    await rejectsUsage(
      resolveProfile({ profile: { identity: { udid: '00008030-001A2B3C4D5E802E', udidStyle: 'legacy40' } } }),
      'identity.udid',
    );
  });

  test('a name that is neither built in nor a file is a USAGE error', async () => {
    await rejectsUsage(resolveProfile({ profile: 'medium' }), 'medium', 'tiny');
    await withTempDir(async (dir) => {
      const path = join(dir, 'broken.json');
      await writeFile(path, '{"content": {"files": "many"}}');
      await rejectsUsage(resolveProfile({ profile: path }), path, 'content.files');
    });
  });

  test('rejects out-of-range index and seed', async () => {
    await rejectsUsage(resolveProfile({ index: -1 }), 'index');
    await rejectsUsage(resolveProfile({ seed: 2 ** 40 }), 'Seed');
  });
});
