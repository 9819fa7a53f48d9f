import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { changeEncryption } from '../../src/app/encryption.js';
import { exportBackupPhotos } from '../../src/app/photos-export.js';
import type { DeviceEntry } from '../../src/emulator/content/index.js';
import { INDEX_NAME } from '../../src/export/photos-index.js';
import { backupInto, json, pairedDevice, startBench } from '../support/bench.js';
import { FAST_PROFILE } from '../support/test-emulator.js';

const PW = 'photo backup pw 42';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface ExportDoc {
  copied: number;
  skipped: number;
  notOnDevice: number;
  bytes: number;
  out: string;
}

describe('photos export out of a backup', () => {
  test('an encrypted backup: the password opens it, --at picks the version, the bytes are the phone’s; counts shown without it', async () => {
    const started = Date.now();
    const b = await startBench({ profile: FAST_PROFILE });
    const out = await mkdtemp(join(tmpdir(), 'ibackup-photos-from-'));
    try {
      const udid = b.te.udids[0] as string;
      const device = await pairedDevice(b, udid);
      await changeEncryption(device, 'on', { root: b.backupDir, password: PW });
      const made = await backupInto(device, b.backupDir);
      assert.equal(made.encrypted, true);
      // Recorded with the backup: predicted from the library (its list of files needs the password).
      assert.equal(made.photos?.measured, false);
      assert.ok((made.photos?.inBackup.photos ?? 0) > 0);

      await assert.rejects(exportBackupPhotos(made.path, { out }), { code: 'PASSWORD_REQUIRED' });

      const env = { IBACKUP_PASSWORD: PW };
      const r = await b.cli(['--json', 'photos', 'export', '--from', udid, '--at', 'latest', '--out', out], { env });
      assert.equal(r.code, 0, r.stderr);
      const doc = json<ExportDoc>(r.stdout);
      const written = (await readdir(out, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && e.name !== INDEX_NAME)
        .map((e) => relative(out, join(e.parentPath, e.name)).split(sep).join('/'));
      assert.equal(doc.copied, written.length);
      assert.ok(doc.copied > 0);
      const content = b.te.emu.find(udid).runtime?.content;
      assert.ok(content);
      for (const rel of written) {
        const name = rel.split('/').pop() as string;
        const e = [...content.under('CameraRollDomain', 'Media/DCIM/')].find((x) =>
          x.relativePath.endsWith(`/${name}`),
        );
        assert.ok(e, `${name} is on the phone`);
        const phoneBytes = await content.read(e as DeviceEntry, 0, (e as DeviceEntry).size);
        assert.equal(sha(await readFile(join(out, rel))), sha(phoneBytes), `${rel} bytes`);
      }
      const again = await exportBackupPhotos(made.path, { out, unlock: { password: async () => PW } });
      assert.deepEqual({ copied: again.copied, skipped: again.skipped }, { copied: 0, skipped: doc.copied });
    } finally {
      await rm(out, { recursive: true, force: true });
      await b.dispose();
      console.log(`# photos-backup-export: ${Date.now() - started} ms`);
    }
  });
});
