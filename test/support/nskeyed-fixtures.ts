/**
 * Test-only fixtures for the MBFile archive tests, produced by Python's plistlib (an independent
 * binary plist writer/reader) in a subprocess.
 */
import { spawnSync } from 'node:child_process';

const PY_COMMON = `
import base64, json, plistlib, sys
from plistlib import UID

MBFILE_CLASS = {'$classname': 'MBFile', '$classes': ['MBFile', 'NSObject']}
MDATA_CLASS = {'$classname': 'NSMutableData', '$classes': ['NSMutableData', 'NSData', 'NSObject']}

def archive(objects, root=1):
    top = {'$version': 100000, '$archiver': 'NSKeyedArchiver', '$top': {'root': UID(root)}, '$objects': objects}
    return plistlib.dumps(top, fmt=plistlib.FMT_BINARY, sort_keys=False)

def b64(b):
    return base64.b64encode(b).decode()
`;

/** Archives laid out like real device records (see the test file for the expected fields). */
const PY_MAKE = `${PY_COMMON}
ek = bytes([3, 0, 0, 0]) + bytes(range(40))
digest = bytes(range(100, 120))
xattrs = plistlib.dumps({'com.apple.TextEncoding': b'utf-8;134217984', 'com.apple.rootless': b''}, fmt=plistlib.FMT_BINARY)
out = {}

# An encrypted regular file of a system domain, in the object order real devices use.
mb = {'LastModified': 1608900000, 'Flags': 0, 'GroupID': 501, 'LastStatusChange': 1608900001,
      'Birth': 1608800000, 'Size': 1234, 'InodeNumber': 123456, 'Mode': 0o100644,
      'ProtectionClass': 3, 'RelativePath': UID(2), 'UserID': 501, 'Digest': UID(3),
      'EncryptionKey': UID(4), 'ExtendedAttributes': UID(6), '$class': UID(7)}
out['file'] = b64(archive(['$null', mb, 'Library/SMS/sms.db', digest,
                           {'NS.data': ek, '$class': UID(5)}, MDATA_CLASS, xattrs, MBFILE_CLASS]))

# A symbolic link owned by nobody (-2).
mb = {'LastModified': 1600000000, 'Flags': 0, 'GroupID': -2, 'LastStatusChange': 1600000000,
      'Birth': 1600000000, 'Size': 0, 'InodeNumber': 77, 'Mode': 0o120755, 'ProtectionClass': 0,
      'RelativePath': UID(2), 'UserID': -2, 'Target': UID(3), '$class': UID(4)}
out['symlink'] = b64(archive(['$null', mb, 'Library/Caches/link', '/var/mobile/Containers/Data/x', MBFILE_CLASS]))

# A domain root directory (relativePath "").
mb = {'LastModified': 1500000000, 'Flags': 128, 'GroupID': 501, 'LastStatusChange': 1500000000,
      'Birth': 1500000000, 'Size': 0, 'InodeNumber': 5, 'Mode': 0o40755, 'ProtectionClass': 4,
      'RelativePath': UID(2), 'UserID': 501, '$class': UID(3)}
out['dir'] = b64(archive(['$null', mb, '', MBFILE_CLASS]))

# Another writer: root not at index 1, a shared NSData class dict, the digest as an NSData object,
# absent Birth/GroupID/UserID, an unknown key, a size beyond 2^53 and a real timestamp.
mb = {'$class': UID(1), 'RelativePath': UID(2), 'Size': 2**60, 'InodeNumber': 2**62,
      'Mode': 0o100600, 'LastModified': 1700000000.75, 'LastStatusChange': 1700000000,
      'EncryptionKey': UID(5), 'Digest': UID(6), 'Unknown': 'x', 'Flags': 0, 'ProtectionClass': 4}
data_class = {'$classname': 'NSData', '$classes': ['NSData', 'NSObject']}
out['reordered'] = b64(archive(['$null', MBFILE_CLASS, 'Media/DCIM/IMG_0001.JPG', mb, data_class,
                                {'$class': UID(4), 'NS.data': ek}, {'NS.data': digest, '$class': UID(4)}], root=3))

# A writer that stores negative IDs as unsigned 64-bit values.
mb = {'UserID': 2**64 - 2, 'GroupID': 2**64 - 2, 'RelativePath': UID(0), '$class': UID(2)}
out['unsigned-ids'] = b64(archive(['$null', mb, MBFILE_CLASS]))

print(json.dumps(out))
`;

/** Reads a binary plist and prints it as JSON: UIDs as {"$uid": n}, data as {"$data": hex}. */
const PY_DUMP = `${PY_COMMON}
def conv(v):
    if isinstance(v, UID): return {'$uid': v.data}
    if isinstance(v, bytes): return {'$data': v.hex()}
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, list): return [conv(x) for x in v]
    return v
top = plistlib.loads(base64.b64decode(sys.stdin.read()))
objs = top.get('$objects', [])
# Expand ExtendedAttributes (a nested binary plist) so tests can check it too.
for o in objs:
    if isinstance(o, dict) and isinstance(o.get('ExtendedAttributes'), UID):
        i = o['ExtendedAttributes'].data
        objs[i] = {'$xattrs': conv(plistlib.loads(objs[i]))}
print(json.dumps(conv(top)))
`;

function python(script: string, input = ''): string | undefined {
  const r = spawnSync('python3', ['-c', script], { input, encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    if (r.error !== undefined) return undefined; // python3 not installed
    throw new Error(`python3 failed: ${r.stderr}`);
  }
  return r.stdout;
}

/** True when python3 can be run (the fixture tests are skipped otherwise). */
export const HAVE_PYTHON = spawnSync('python3', ['-c', 'import plistlib'], { encoding: 'utf8' }).status === 0;

/** The archives made by plistlib, by name. */
export function pythonArchives(): Record<string, Uint8Array> {
  const out = python(PY_MAKE);
  if (out === undefined) return {};
  const parsed = JSON.parse(out) as Record<string, string>;
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How plistlib reads `bytes` (see PY_DUMP for the notation). */
export function pythonDump(bytes: Uint8Array): Json {
  const out = python(PY_DUMP, Buffer.from(bytes).toString('base64'));
  if (out === undefined) throw new Error('python3 is not available');
  return JSON.parse(out) as Json;
}
