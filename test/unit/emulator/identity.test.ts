import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  PRE_SESSION_KEYS,
  buildDomains,
  getValue,
  removeValue,
  resolveDomain,
  setValue,
  type LockdownStore,
} from '../../../src/emulator/identity.js';
import { resolveProfile } from '../../../src/emulator/profile.js';
import { serializeBinaryPlist } from '../../../src/protocol/plist/index.js';
import { PlistReal, isPlistDict, type PlistDict, type PlistValue } from '../../../src/protocol/plist/types.js';

const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PKCS1_PEM = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const SPKI_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** 2024-07-01T12:00:00Z (Paris is UTC+2 then) and 2024-01-15T12:00:00Z (UTC+1). */
const SUMMER_MS = Date.UTC(2024, 6, 1, 12);
const WINTER_MS = Date.UTC(2024, 0, 15, 12);

async function store(
  options: { now?: () => number; willEncrypt?: () => boolean } = {},
): Promise<{ domains: LockdownStore; profile: Awaited<ReturnType<typeof resolveProfile>> }> {
  const profile = await resolveProfile({ profile: 'typical' });
  return { domains: buildDomains(profile, PKCS1_PEM, options), profile };
}

function get(domains: LockdownStore, q: { domain?: string; key?: string; sessionActive?: boolean }): PlistValue {
  const r = getValue(domains, { sessionActive: true, ...q });
  assert.ok('value' in r, `GetValue ${q.domain ?? ''}/${q.key ?? ''} failed: ${'error' in r ? r.error : ''}`);
  return r.value;
}

function dict(v: PlistValue): PlistDict {
  assert.ok(isPlistDict(v));
  return v;
}

describe('buildDomains: root values', () => {
  test('has every value ideviceinfo shows, with the right types', async () => {
    const { domains, profile } = await store();
    const root = dict(get(domains, {}));
    const strings = [
      'ActivationState',
      'BasebandVersion',
      'BluetoothAddress',
      'BuildVersion',
      'CPUArchitecture',
      'DeviceClass',
      'DeviceColor',
      'DeviceName',
      'FirmwareVersion',
      'HardwareModel',
      'HardwarePlatform',
      'InternationalMobileEquipmentIdentity',
      'MLBSerialNumber',
      'MobileEquipmentIdentifier',
      'ModelNumber',
      'PhoneNumber',
      'ProductName',
      'ProductType',
      'ProductVersion',
      'ProtocolVersion',
      'RegionInfo',
      'SerialNumber',
      'SIMStatus',
      'TimeZone',
      'UniqueDeviceID',
      'WiFiAddress',
    ];
    for (const k of strings) assert.equal(typeof root[k], 'string', `${k} should be a string`);
    for (const k of ['BoardId', 'ChipID', 'UniqueChipID'])
      assert.ok(Number.isInteger(root[k]), `${k} should be an integer`);
    for (const k of ['HostAttached', 'PasswordProtected', 'UseRaptorCerts']) assert.equal(typeof root[k], 'boolean', k);
    assert.ok(root['TimeIntervalSince1970'] instanceof PlistReal);
    assert.equal(root['ActivationState'], 'Activated');
    assert.equal(root['CPUArchitecture'], 'arm64e');
    assert.equal(root['DeviceClass'], 'iPhone');
    assert.equal(root['ProductName'], 'iPhone OS');
    assert.equal(root['ProtocolVersion'], '2');
    assert.equal(root['HostAttached'], true);
    assert.equal(root['UniqueDeviceID'], profile.identity.udid);
    assert.equal(root['UniqueChipID'], profile.identity.uniqueChipId);
    assert.equal(root['ProductType'], profile.identity.productType);
    assert.equal(root['ProductVersion'], profile.identity.productVersion);
    assert.equal(root['SerialNumber'], profile.identity.serialNumber);
    assert.equal(root['WiFiAddress'], profile.identity.wifiAddress);
  });

  test('a DeviceName saved at run time replaces the profile one', async () => {
    const profile = await resolveProfile();
    assert.equal(get(buildDomains(profile, PKCS1_PEM, { deviceName: 'Kitchen' }), { key: 'DeviceName' }), 'Kitchen');
    assert.equal(get(buildDomains(profile, PKCS1_PEM, { deviceName: null }), { key: 'DeviceName' }), 'iPhone');
  });

  test('DevicePublicKey is the PKCS#1 PEM of the device key, as data', async () => {
    const profile = await resolveProfile();
    for (const input of [PKCS1_PEM, SPKI_PEM, new TextEncoder().encode(PKCS1_PEM)]) {
      const v = get(buildDomains(profile, input), { key: 'DevicePublicKey' });
      assert.ok(v instanceof Uint8Array);
      const pem = new TextDecoder().decode(v);
      assert.ok(pem.startsWith('-----BEGIN RSA PUBLIC KEY-----\n'));
      assert.ok(pem.endsWith('-----END RSA PUBLIC KEY-----\n'));
      assert.ok(createPublicKey(pem).equals(publicKey));
    }
  });

  test('the clock and the time zone offset are computed when read', async () => {
    let now = SUMMER_MS;
    const { domains } = await store({ now: () => now });
    assert.deepEqual(get(domains, { key: 'TimeIntervalSince1970' }), new PlistReal(SUMMER_MS / 1000));
    assert.deepEqual(get(domains, { key: 'TimeZoneOffsetFromUTC' }), new PlistReal(7200));
    now = WINTER_MS;
    assert.deepEqual(get(domains, { key: 'TimeIntervalSince1970' }), new PlistReal(WINTER_MS / 1000));
    assert.deepEqual(dict(get(domains, {}))['TimeZoneOffsetFromUTC'], new PlistReal(3600));
  });
});

describe('buildDomains: other domains', () => {
  test('every domain ideviceinfo knows exists', async () => {
    const { domains } = await store();
    // The list printed by `ideviceinfo -h` (libimobiledevice 1.3.0).
    const known = [
      'com.apple.disk_usage',
      'com.apple.disk_usage.factory',
      'com.apple.mobile.battery',
      'com.apple.iqagent',
      'com.apple.purplebuddy',
      'com.apple.PurpleBuddy',
      'com.apple.mobile.chaperone',
      'com.apple.mobile.third_party_termination',
      'com.apple.mobile.lockdownd',
      'com.apple.mobile.lockdown_cache',
      'com.apple.xcode.developerdomain',
      'com.apple.international',
      'com.apple.mobile.data_sync',
      'com.apple.mobile.tethered_sync',
      'com.apple.mobile.mobile_application_usage',
      'com.apple.mobile.backup',
      'com.apple.mobile.nikita',
      'com.apple.mobile.restriction',
      'com.apple.mobile.user_preferences',
      'com.apple.mobile.sync_data_class',
      'com.apple.mobile.software_behavior',
      'com.apple.mobile.iTunes.SQLMusicLibraryPostProcessCommands',
      'com.apple.mobile.iTunes.accessories',
      'com.apple.mobile.internal',
      'com.apple.mobile.wireless_lockdown',
      'com.apple.fairplay',
      'com.apple.iTunes',
      'com.apple.mobile.iTunes.store',
      'com.apple.mobile.iTunes',
    ];
    for (const d of known) assert.ok(isPlistDict(get(domains, { domain: d })), d);
  });

  test('backup, iTunes, battery and international values', async () => {
    let encrypted = false;
    const { domains, profile } = await store({ willEncrypt: () => encrypted });
    assert.deepEqual(get(domains, { domain: 'com.apple.mobile.backup' }), {
      CloudBackupEnabled: false,
      RequiresEncryption: false,
      Version: '2.0',
      WillEncrypt: false,
    });
    encrypted = true;
    assert.equal(get(domains, { domain: 'com.apple.mobile.backup', key: 'WillEncrypt' }), true);
    assert.equal(get(domains, { domain: 'com.apple.mobile.iTunes', key: 'MinITunesVersion' }), '10.0.1');
    const battery = dict(get(domains, { domain: 'com.apple.mobile.battery' }));
    assert.equal(battery['BatteryCurrentCapacity'], profile.identity.batteryLevel);
    assert.equal(typeof battery['BatteryIsCharging'], 'boolean');
    const intl = dict(get(domains, { domain: 'com.apple.international' }));
    assert.equal(intl['Locale'], 'en_US');
    assert.equal(intl['Language'], 'en');
  });

  test('disk usage agrees with the profile capacity and used space', async () => {
    const { domains, profile } = await store();
    const d = dict(get(domains, { domain: 'com.apple.disk_usage' }));
    const n = (k: string): number => {
      const v = d[k];
      assert.equal(typeof v, 'number', k);
      return v as number;
    };
    assert.equal(n('TotalDiskCapacity'), profile.identity.totalCapacityBytes);
    assert.equal(n('TotalDiskCapacity') - n('TotalDataAvailable'), profile.identity.usedBytes);
    assert.equal(n('TotalDataCapacity') + n('TotalSystemCapacity'), n('TotalDiskCapacity'));
    assert.equal(n('AmountDataAvailable') + n('AmountDataReserved'), n('TotalDataAvailable'));
    const factory = dict(get(domains, { domain: 'com.apple.disk_usage.factory' }));
    assert.equal(factory['TotalDiskCapacity'], profile.identity.totalCapacityBytes);
  });

  test('every domain is a valid plist that Python plistlib reads back', async () => {
    const { domains, profile } = await store({ now: () => SUMMER_MS });
    const all: PlistDict = {};
    for (const [name, domain] of domains) all[name === '' ? 'ROOT' : name] = resolveDomain(domain);
    const bytes = serializeBinaryPlist(all);
    const script =
      'import plistlib,sys,json\n' +
      'd=plistlib.loads(sys.stdin.buffer.read())\n' +
      'r=d["ROOT"]\n' +
      'print(json.dumps([len(d), r["UniqueChipID"], r["TimeIntervalSince1970"], type(r["DevicePublicKey"]).__name__, d["com.apple.disk_usage"]["TotalDiskCapacity"]]))';
    const out = JSON.parse(execFileSync('python3', ['-c', script], { input: bytes }).toString()) as unknown[];
    assert.deepEqual(out, [
      domains.size,
      profile.identity.uniqueChipId,
      SUMMER_MS / 1000,
      'bytes',
      profile.identity.totalCapacityBytes,
    ]);
  });
});

describe('getValue rules', () => {
  test('before a session only the pre-session keys of the root domain', async () => {
    const { domains } = await store();
    for (const key of [
      'ProductVersion',
      'BuildVersion',
      'ProductType',
      'DeviceClass',
      'DeviceName',
      'UniqueDeviceID',
      'DevicePublicKey',
      'WiFiAddress',
      'SerialNumber',
      'ProtocolVersion',
    ]) {
      assert.ok(PRE_SESSION_KEYS.has(key), key);
      assert.ok('value' in getValue(domains, { key, sessionActive: false }), key);
    }
    assert.deepEqual(getValue(domains, { key: 'InternationalMobileEquipmentIdentity', sessionActive: false }), {
      error: 'GetProhibited',
    });
    assert.deepEqual(getValue(domains, { key: 'NoSuchKey', sessionActive: false }), { error: 'MissingValue' });
    assert.deepEqual(getValue(domains, { domain: 'com.apple.mobile.backup', sessionActive: false }), {
      error: 'GetProhibited',
    });
    const all = dict(get(domains, { sessionActive: false }));
    assert.ok(Object.keys(all).length >= 10);
    for (const k of Object.keys(all)) assert.ok(PRE_SESSION_KEYS.has(k), `${k} leaked before the session`);
    assert.equal(all['InternationalMobileEquipmentIdentity'], undefined);
  });

  test('in a session: root, whole domains, missing values', async () => {
    const { domains } = await store();
    assert.equal(typeof get(domains, { key: 'InternationalMobileEquipmentIdentity' }), 'string');
    assert.equal(get(domains, { domain: '', key: 'DeviceClass' }), 'iPhone');
    assert.deepEqual(getValue(domains, { domain: 'com.apple.nothing', sessionActive: true }), {
      error: 'MissingValue',
    });
    assert.deepEqual(getValue(domains, { key: 'toString', sessionActive: true }), { error: 'MissingValue' });
    assert.deepEqual(getValue(domains, { domain: 'com.apple.mobile.backup', key: 'Nope', sessionActive: true }), {
      error: 'MissingValue',
    });
  });
});

describe('setValue and removeValue rules', () => {
  test('DeviceName can be set in a session; identity values cannot', async () => {
    const { domains } = await store();
    assert.deepEqual(setValue(domains, { key: 'DeviceName', value: 'Kitchen', sessionActive: false }), {
      error: 'SetProhibited',
    });
    assert.deepEqual(setValue(domains, { key: 'DeviceName', value: 'Kitchen', sessionActive: true }), { ok: true });
    assert.equal(get(domains, { key: 'DeviceName' }), 'Kitchen');
    assert.deepEqual(setValue(domains, { key: 'DeviceName', value: 42, sessionActive: true }), {
      error: 'SetProhibited',
    });
    assert.deepEqual(setValue(domains, { key: 'UniqueDeviceID', value: 'x', sessionActive: true }), {
      error: 'ImmutableValue',
    });
    assert.deepEqual(setValue(domains, { key: 'ProductVersion', value: '99.0', sessionActive: true }), {
      error: 'ImmutableValue',
    });
    assert.deepEqual(setValue(domains, { key: 'Invented', value: 1, sessionActive: true }), { error: 'SetProhibited' });
    assert.deepEqual(setValue(domains, { key: '__proto__', value: {}, sessionActive: true }), {
      error: 'SetProhibited',
    });
    assert.deepEqual(setValue(domains, { value: 'x', sessionActive: true }), { error: 'MissingKey' });
    assert.deepEqual(setValue(domains, { key: 'DeviceName', sessionActive: true }), { error: 'MissingValue' });
    assert.deepEqual(
      setValue(domains, { domain: 'com.apple.mobile.backup', key: 'WillEncrypt', value: true, sessionActive: true }),
      { error: 'ImmutableValue' },
    );
  });

  test('preference domains accept new values, and they can be removed again', async () => {
    const { domains } = await store();
    const c = { domain: 'com.apple.mobile.wireless_lockdown', key: 'EnableWifiConnections', sessionActive: true };
    assert.deepEqual(setValue(domains, { ...c, value: true }), { ok: true });
    assert.equal(get(domains, c), true);
    assert.deepEqual(removeValue(domains, c), { ok: true });
    assert.deepEqual(getValue(domains, c), { error: 'MissingValue' });
    assert.deepEqual(removeValue(domains, c), { error: 'MissingValue' });
    assert.deepEqual(removeValue(domains, { key: 'DeviceName', sessionActive: true }), { error: 'RemoveProhibited' });
    assert.deepEqual(removeValue(domains, { ...c, sessionActive: false }), { error: 'RemoveProhibited' });
  });
});
