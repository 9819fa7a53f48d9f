/**
 * libimobiledevice's tools against virtual iPhones of older and newer iOS generations: the iOS 9
 * phone's TLS 1.0 server without the secure-renegotiation extension (accepted once OpenSSL allows
 * legacy renegotiation, which libimobiledevice master sets in code: idevice.c ~line 1289), the
 * iOS 12.5.7 and 17.5 phones' TLS 1.2 sessions, the latter ending with the phone's close_notify.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pairWithTool, parseInfoLines, requireTools, runTool } from '../support/interop-tools.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';

/** OpenSSL settings that do for an older libimobiledevice what master does in idevice.c. */
const LEGACY_OPENSSL_CONF = `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = UnsafeLegacyServerConnect
CipherString = DEFAULT:@SECLEVEL=0
`;

describe('libimobiledevice against phones of several iOS generations', () => {
  const started: TestEmulator[] = [];
  after(async () => {
    for (const te of started) await te.dispose();
  });

  async function phone(productVersion: string): Promise<{ te: TestEmulator; udid: string }> {
    const te = await startTestEmulator({ profile: { extends: 'tiny', identity: { productVersion } } });
    started.push(te);
    const udid = te.udids[0] as string;
    await pairWithTool(te, udid);
    return { te, udid };
  }

  test('iOS 9.3: a TLS 1.0 session without secure renegotiation, read with legacy renegotiation allowed', async (t) => {
    if (!requireTools(t)) return;
    const { te, udid } = await phone('9.3');
    const conf = join(te.root, 'legacy-openssl.cnf');
    await writeFile(conf, LEGACY_OPENSSL_CONF);
    const legacyEnv = { ...te.env, OPENSSL_CONF: conf };
    const run = (args: string[], env: NodeJS.ProcessEnv = legacyEnv) =>
      runTool('ideviceinfo', ['-u', udid, ...args], env);
    const info = parseInfoLines((await run([])).stdout);
    assert.equal(info.get('ProductVersion'), '9.3');
    assert.equal(info.get('UniqueDeviceID'), udid);
    const validate = await runTool('idevicepair', ['-u', udid, 'validate'], legacyEnv);
    assert.match(validate.stdout, /SUCCESS: Validated pairing/);
    // Without the option, a libimobiledevice older than that fix fails as the real phone of issue
    // 1270 did; a newer one sets it itself. Either way it must not hang.
    const plain = await run(['-k', 'ProductVersion'], te.env);
    assert.ok(plain.code !== 124 && plain.code !== 137, 'ideviceinfo did not hang');
    t.diagnostic(`without the option: ${(plain.stdout + plain.stderr).trim()}`);
  });

  for (const version of ['12.5.7', '17.5']) {
    test(`iOS ${version}: ideviceinfo, idevicename and idevicepair validate over TLS 1.2`, async (t) => {
      if (!requireTools(t)) return;
      const { te, udid } = await phone(version);
      const r = await te.tool('ideviceinfo', ['-u', udid]);
      assert.equal(r.stderr, '');
      assert.equal(parseInfoLines(r.stdout).get('ProductVersion'), version);
      // Several sessions in a row (each ends with StopSession and, on 17.5, the phone's close_notify).
      for (let i = 0; i < 2; i++) {
        assert.equal((await te.tool('idevicename', ['-u', udid])).stdout, `${te.emu.find(udid).deviceName}\n`);
        assert.match((await te.tool('idevicepair', ['-u', udid, 'validate'])).stdout, /SUCCESS: Validated pairing/);
      }
      const disk = parseInfoLines((await te.tool('ideviceinfo', ['-u', udid, '-q', 'com.apple.disk_usage'])).stdout);
      assert.ok(Number(disk.get('TotalDataAvailable')) > 0);
    });
  }
});
