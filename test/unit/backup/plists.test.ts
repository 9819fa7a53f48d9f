import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { hasCode } from '../../../src/errors.js';
import { parseInfoPlist } from '../../../src/backup/info-plist.js';
import { missingManifestKeys, parseManifestPlist } from '../../../src/backup/manifest.js';
import { isSnapshotFinished, parseStatusPlist } from '../../../src/backup/status.js';

const te = new TextEncoder();

const ENCRYPTED = `{'BackupKeyBag': b'VERS', 'ManifestKey': b'\\x04\\x00\\x00\\x00' + bytes(40), 'IsEncrypted': True, 'WasPasscodeSet': False,
      'Date': datetime.datetime(2024, 5, 1, 10, 0, 0), 'Version': '10.0', 'SystemDomainsVersion': '24.0',
      'Lockdown': {'BuildVersion': '21E219', 'DeviceName': 'P', 'ProductType': 'iPhone15,2', 'ProductVersion': '17.4',
        'SerialNumber': 'S', 'UniqueDeviceID': '00008110-000A1B2C3D4E5F6A', 'com.apple.mobile.data_sync': {}},
      'Applications': {'com.apple.mobilesafari': {'CFBundleIdentifier': 'com.apple.mobilesafari', 'ContainerContentClass': 'Data/Application', 'Path': '/Applications/MobileSafari.app'},
        'group.x': {'CFBundleIdentifier': 'group.x', 'ContainerContentClass': 'Shared/AppGroup'}}}`;

/** Python literals written as binary plists by plistlib (an independent writer), in one Python run. */
const PY_LITERALS: string[] = [
  ENCRYPTED,
  `{'IMEI 2': '1', 'GUID': bytes(range(16)), 'Phone Number': 5}`,
  '{}',
  '[1, 2]',
  `{'Device Name': 5}`,
  `{'Last Backup Date': 'yesterday'}`,
  `{'Installed Applications': ['a', 1]}`,
  `{'Applications': {'x': {'ApplicationSINF': 'str'}}}`,
  `{'Lockdown': {'DeviceName': 'x'}}`,
  `{'IsEncrypted': True}`,
  `{'IsEncrypted': 1}`,
  `{'Lockdown': {'ProductVersion': 17}}`,
  `{'IsFullBackup': False, 'Version': '3.3', 'BackupState': 'new', 'Date': datetime.datetime(2024, 1, 2, 3, 4, 5), 'UUID': 'AB-CD', 'SnapshotState': 'finished'}`,
  `{'SnapshotState': 'uploading'}`,
  `{'SnapshotState': True}`,
];
let pyCache: Map<string, Uint8Array> | undefined;

/** The plistlib bytes of a literal of PY_LITERALS. */
function pyBinaryPlist(literal: string): Uint8Array {
  if (pyCache === undefined) {
    const script = [
      'import plistlib, sys, datetime, json',
      `vals = [${PY_LITERALS.join(',\n')}]`,
      'sys.stdout.write(json.dumps([plistlib.dumps(v, fmt=plistlib.FMT_BINARY).hex() for v in vals]))',
    ].join('\n');
    const hexes = JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' })) as string[];
    pyCache = new Map(PY_LITERALS.map((l, i) => [l, new Uint8Array(Buffer.from(hexes[i] ?? '', 'hex'))]));
  }
  const bytes = pyCache.get(literal);
  if (bytes === undefined) throw new Error(`literal not registered: ${literal}`);
  return bytes;
}

// Shaped like the iTunes-written XML of backup-format.md §2 (hand-written here).
const INFO_XML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Applications</key>
	<dict>
		<key>com.example.app</key>
		<dict>
			<key>ApplicationSINF</key><data>AAEC</data>
			<key>iTunesMetadata</key><data>AwQF</data>
			<key>PlaceholderIcon</key><data>iVBORw==</data>
		</dict>
	</dict>
	<key>Build Version</key><string>13G37</string>
	<key>Device Name</key><string>Ana's iPhone</string>
	<key>Display Name</key><string>Ana's iPhone</string>
	<key>GUID</key><string>FAE633ADAB6B9777CD59DA12B747CE59</string>
	<key>ICCID</key><string>8933000000000000000</string>
	<key>IMEI</key><string>350000000000000</string>
	<key>IMEI2</key><string>350000000000001</string>
	<key>Installed Applications</key>
	<array><string>com.example.app</string></array>
	<key>Last Backup Date</key><date>2020-12-23T10:11:12Z</date>
	<key>Phone Number</key><string>+33 6 00 00 00 00</string>
	<key>Product Name</key><string>iPhone 4S</string>
	<key>Product Type</key><string>iPhone4,1</string>
	<key>Product Version</key><string>9.3.6</string>
	<key>Serial Number</key><string>DNPAAAAAAAAA</string>
	<key>Target Identifier</key><string>5e8dfbc7f9f29a7645d66ef70b6f2d3f5dad8583</string>
	<key>Target Type</key><string>Device</string>
	<key>Unique Identifier</key><string>5E8DFBC7F9F29A7645D66EF70B6F2D3F5DAD8583</string>
	<key>iTunes Files</key>
	<dict><key>VoiceMemos.plist</key><data>AAA=</data></dict>
	<key>iTunes Settings</key><dict/>
	<key>iTunes Version</key><string>12.11.0.26</string>
</dict>
</plist>
`;

describe('Info.plist', () => {
  test('reads every key of an iTunes-style XML file', () => {
    const i = parseInfoPlist(te.encode(INFO_XML));
    assert.equal(i.deviceName, "Ana's iPhone");
    assert.equal(i.displayName, "Ana's iPhone");
    assert.equal(i.productName, 'iPhone 4S');
    assert.equal(i.productType, 'iPhone4,1');
    assert.equal(i.productVersion, '9.3.6');
    assert.equal(i.buildVersion, '13G37');
    assert.equal(i.serialNumber, 'DNPAAAAAAAAA');
    assert.equal(i.targetIdentifier, '5e8dfbc7f9f29a7645d66ef70b6f2d3f5dad8583');
    assert.equal(i.uniqueIdentifier, '5E8DFBC7F9F29A7645D66EF70B6F2D3F5DAD8583');
    assert.equal(i.targetType, 'Device');
    assert.equal(i.guid, 'FAE633ADAB6B9777CD59DA12B747CE59');
    assert.equal(i.imei, '350000000000000');
    assert.equal(i.imei2, '350000000000001');
    assert.equal(i.iccid, '8933000000000000000');
    assert.equal(i.phoneNumber, '+33 6 00 00 00 00');
    assert.equal(i.iTunesVersion, '12.11.0.26');
    assert.deepEqual(i.lastBackupDate, new Date('2020-12-23T10:11:12Z'));
    assert.deepEqual(i.installedApplications, ['com.example.app']);
    assert.deepEqual(i.applications?.get('com.example.app'), {
      applicationSinf: new Uint8Array([0, 1, 2]),
      iTunesMetadata: new Uint8Array([3, 4, 5]),
      placeholderIcon: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    });
    assert.deepEqual(i.iTunesSettings, {});
    assert.deepEqual(i.iTunesFiles?.get('VoiceMemos.plist'), new Uint8Array([0, 0]));
  });

  test('binary form; "IMEI 2" spelling; GUID as 16 raw bytes; every key optional', () => {
    const i = parseInfoPlist(pyBinaryPlist(`{'IMEI 2': '1', 'GUID': bytes(range(16)), 'Phone Number': 5}`));
    assert.equal(i.imei2, '1');
    assert.equal(i.guid, '000102030405060708090A0B0C0D0E0F');
    assert.equal(i.phoneNumber, undefined);
    assert.equal(i.deviceName, undefined);
    assert.deepEqual(Object.keys(parseInfoPlist(pyBinaryPlist('{}'))), ['raw']);
  });

  test('damaged files → BACKUP_CORRUPT naming the file and the key', () => {
    const bad = (bytes: Uint8Array, re: RegExp): void => {
      assert.throws(
        () => parseInfoPlist(bytes),
        (e) => hasCode(e, 'BACKUP_CORRUPT') && re.test(e.message) && e.message.startsWith('Info.plist'),
      );
    };
    bad(te.encode('<plist><dict><key>a</key>'), /not a valid plist/);
    bad(pyBinaryPlist('[1, 2]'), /top level is an array/);
    bad(pyBinaryPlist(`{'Device Name': 5}`), /"Device Name" should be a string, found a number/);
    bad(pyBinaryPlist(`{'Last Backup Date': 'yesterday'}`), /"Last Backup Date" should be a date/);
    bad(pyBinaryPlist(`{'Installed Applications': ['a', 1]}`), /"Installed Applications\[1\]" should be a string/);
    bad(
      pyBinaryPlist(`{'Applications': {'x': {'ApplicationSINF': 'str'}}}`),
      /"Applications\.x\.ApplicationSINF" should be data/,
    );
    bad(new Uint8Array(0), /not a valid plist/);
  });
});

describe('Manifest.plist', () => {
  test('reads the keys of §3', () => {
    const m = parseManifestPlist(pyBinaryPlist(ENCRYPTED));
    assert.equal(m.isEncrypted, true);
    assert.deepEqual(m.backupKeyBag, te.encode('VERS'));
    assert.equal(m.manifestKey?.length, 44);
    assert.equal(m.wasPasscodeSet, false);
    assert.deepEqual(m.date, new Date('2024-05-01T10:00:00Z'));
    assert.equal(m.version, '10.0');
    assert.equal(m.systemDomainsVersion, '24.0');
    assert.equal(m.lockdown?.uniqueDeviceId, '00008110-000A1B2C3D4E5F6A');
    assert.equal(m.lockdown?.productVersion, '17.4');
    assert.deepEqual(m.lockdown?.raw['com.apple.mobile.data_sync'], {});
    assert.deepEqual(m.applications?.get('group.x'), {
      bundleIdentifier: 'group.x',
      containerContentClass: 'Shared/AppGroup',
    });
    assert.equal(m.applications?.get('com.apple.mobilesafari')?.path, '/Applications/MobileSafari.app');
    assert.deepEqual(missingManifestKeys(m), []);
  });

  test('missing keys are listed; IsEncrypted defaults to false; wrong types throw', () => {
    const m = parseManifestPlist(pyBinaryPlist(`{'Lockdown': {'DeviceName': 'x'}}`));
    assert.equal(m.isEncrypted, false);
    assert.deepEqual(missingManifestKeys(m), [
      'IsEncrypted',
      'Version',
      'Date',
      'WasPasscodeSet',
      'Lockdown.BuildVersion',
      'Lockdown.ProductType',
      'Lockdown.ProductVersion',
      'Lockdown.SerialNumber',
      'Lockdown.UniqueDeviceID',
    ]);
    assert.deepEqual(missingManifestKeys(parseManifestPlist(pyBinaryPlist(`{'IsEncrypted': True}`))), [
      'Version',
      'Date',
      'WasPasscodeSet',
      'Lockdown',
      'BackupKeyBag',
      'ManifestKey',
    ]);
    assert.throws(
      () => parseManifestPlist(pyBinaryPlist(`{'IsEncrypted': 1}`)),
      (e) => hasCode(e, 'BACKUP_CORRUPT') && /Manifest\.plist: key "IsEncrypted" should be a boolean/.test(e.message),
    );
    assert.throws(
      () => parseManifestPlist(pyBinaryPlist(`{'Lockdown': {'ProductVersion': 17}}`)),
      (e) => hasCode(e, 'BACKUP_CORRUPT') && /"Lockdown\.ProductVersion"/.test(e.message),
    );
  });
});

describe('Status.plist', () => {
  test('reads the keys of §4', () => {
    const s = parseStatusPlist(
      pyBinaryPlist(
        `{'IsFullBackup': False, 'Version': '3.3', 'BackupState': 'new', 'Date': datetime.datetime(2024, 1, 2, 3, 4, 5), 'UUID': 'AB-CD', 'SnapshotState': 'finished'}`,
      ),
    );
    assert.deepEqual(
      { ...s, raw: undefined },
      {
        isFullBackup: false,
        version: '3.3',
        backupState: 'new',
        date: new Date('2024-01-02T03:04:05Z'),
        uuid: 'AB-CD',
        snapshotState: 'finished',
        raw: undefined,
      },
    );
    assert.equal(isSnapshotFinished(s), true);
    assert.equal(isSnapshotFinished(parseStatusPlist(pyBinaryPlist(`{'SnapshotState': 'uploading'}`))), false);
    assert.equal(isSnapshotFinished(parseStatusPlist(pyBinaryPlist('{}'))), false);
    assert.throws(
      () => parseStatusPlist(pyBinaryPlist(`{'SnapshotState': True}`)),
      (e) => hasCode(e, 'BACKUP_CORRUPT') && e.message.startsWith('Status.plist'),
    );
  });
});
