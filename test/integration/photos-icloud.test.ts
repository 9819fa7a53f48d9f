import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBackupView } from '../../src/app/backup-view.js';
import { runDoctor } from '../../src/app/doctor.js';
import { backupText } from '../../src/cli/backup.js';
import { photosStatusText } from '../../src/cli/photos-text.js';
import { photoCountsOf } from '../../src/app/photos-record.js';
import { photosStatus, readDeviceLibrary } from '../../src/app/photos-status.js';
import { photoShape } from '../../src/emulator/content/domains.js';
import { builtInProfile } from '../../src/emulator/profile.js';
import {
  generatedRecord,
  libraryPaths,
  type IcloudPhotos,
  type LibraryRecord,
} from '../../src/emulator/content/photo-library.js';
import { backupInto, json, pairedDevice, startBench } from '../support/bench.js';

/** The emulator's own model of a tiny phone's library: the oracle the host's reading is checked against. */
function modelLibrary(icloud: IcloudPhotos): LibraryRecord[] {
  const count = photoShape(builtInProfile('tiny').content.files).count;
  return Array.from({ length: count }, (_, i) => generatedRecord(i + 1, 0, icloud, i + 1 > count - 2));
}

function expectedCounts(lib: LibraryRecord[]) {
  const kept = lib.filter((r) => !r.trashed);
  return {
    library: {
      photos: kept.filter((r) => r.format !== 'MOV').length,
      videos: kept.filter((r) => r.format === 'MOV').length,
      hidden: kept.filter((r) => r.hidden).length,
      recentlyDeleted: lib.filter((r) => r.trashed).length,
    },
    originalsNotOnDevice: kept.filter((r) => !r.local).length,
  };
}

interface StatusDoc {
  udid: string;
  library: { photos: number; videos: number; hidden: number; recentlyDeleted: number };
  icloudPhotos: string;
  originalsNotOnDevice: number;
  inLastBackup: { inBackup: { photos: number; videos: number }; notInBackup: number; measured: boolean } | null;
}

const STATES: IcloudPhotos[] = ['off', 'keep-originals', 'optimize'];

describe('photo library and iCloud Photos, per state', () => {
  for (const icloud of STATES) {
    test(`iCloud Photos ${icloud}: exact counts, what the backup holds, the warning only when photos are missing`, async () => {
      const started = Date.now();
      const b = await startBench({ profile: { extends: 'tiny', content: { icloudPhotos: icloud } } });
      const root = await mkdtemp(join(tmpdir(), 'ibackup-photos-root-'));
      try {
        const udid = b.te.udids[0] as string;
        const device = await pairedDevice(b, udid);
        const model = modelLibrary(icloud);
        const want = expectedCounts(model);
        const on = icloud !== 'off';

        // Before any backup: read over AFC.
        const before = await photosStatus(device, { backupRoots: [root] });
        assert.deepEqual(before.library, want.library);
        assert.equal(before.icloudPhotos, on ? 'on' : 'off');
        assert.equal(before.originalsNotOnDevice, want.originalsNotOnDevice);
        assert.equal(before.inLastBackup, null);
        assert.equal(before.advice !== null, on, 'the warning appears only while iCloud Photos keeps photos out');
        const doctor = await runDoctor(b.ctx, { backupRoots: [root], udid, freeBytes: async () => 1e12 });
        const check = doctor.checks.find((c) => c.id === 'photos');
        assert.equal(check?.warning === true, on, check?.message);
        assert.equal(/not in computer backups while iCloud Photos is on/.test(check?.remedy ?? ''), on);
        if (icloud === 'optimize') assert.ok(want.originalsNotOnDevice > 0);
        else assert.equal(want.originalsNotOnDevice, 0);

        // What the backup holds: the phone's own rule, checked in the backup's Manifest.
        const result = await backupInto(device, root);
        const view = await openBackupView(result.path);
        const camera = new Set<string>();
        for (const e of view.entries({ domain: 'CameraRollDomain' })) if (e.type === 'file') camera.add(e.relativePath);
        view.close();
        const local = model.filter((r) => r.local);
        for (const r of local) {
          assert.equal(camera.has(libraryPaths.original(r)), !on, `${libraryPaths.original(r)} in the backup`);
          if (r.live) assert.equal(camera.has(libraryPaths.liveVideo(r)), !on);
          if (r.edited && r.format !== 'MOV') assert.equal(camera.has(libraryPaths.render(r)), !on);
        }
        for (const r of model)
          assert.ok(camera.has(libraryPaths.thumbnail(r)), 'the small versions stay in every backup');
        assert.ok(camera.has('Media/PhotoData/Photos.sqlite') && camera.has('Media/PhotoData/Photos.sqlite-wal'));
        assert.equal([...camera].filter((p) => p.startsWith('Media/DCIM/')).length === 0, on);

        // Counted from the backup's own copy of the library: nothing is read from the phone. An
        // encrypted backup's counts need the phone's library.
        let fromPhone = 0;
        const phoneLibrary = () => {
          fromPhone++;
          return readDeviceLibrary(device);
        };
        const made = { udid, path: result.path, date: result.date, encrypted: false };
        assert.deepEqual(await photoCountsOf(made, phoneLibrary), result.photos);
        assert.equal(fromPhone, 0, 'an unencrypted backup is counted without the phone');
        await photoCountsOf({ ...made, encrypted: true }, phoneLibrary);
        assert.equal(fromPhone, 1, "an encrypted backup's counts come from the phone's library");

        // The counts recorded with the backup, and shown without reading the backup again.
        const inBackup = on ? { photos: 0, videos: 0 } : { photos: want.library.photos, videos: want.library.videos };
        assert.deepEqual(result.photos?.inBackup, inBackup);
        assert.equal(result.photos?.measured, true);
        assert.equal(result.photos?.notInBackup, on ? want.library.photos + want.library.videos : 0);
        const summary = backupText(result);
        assert.match(
          summary,
          new RegExp(`^Photos: +${inBackup.photos} photos?, ${inBackup.videos} videos? in this backup`, 'm'),
        );
        assert.equal(/not in computer backups while iCloud Photos is on/.test(summary), on, summary);
        const r = await b.cli(['--json', '--backup-dir', root, 'photos', 'status']);
        assert.equal(r.code, 0, r.stderr);
        const doc = json<StatusDoc>(r.stdout);
        assert.equal(doc.udid, udid);
        assert.deepEqual(doc.library, want.library);
        assert.equal(doc.icloudPhotos, on ? 'on' : 'off');
        assert.equal(doc.originalsNotOnDevice, want.originalsNotOnDevice);
        assert.deepEqual(doc.inLastBackup?.inBackup, inBackup);
        const text = photosStatusText(await photosStatus(device, { backupRoots: [root] }));
        assert.equal(/not in computer backups while iCloud Photos is on/.test(text), on, text);
        assert.match(text, new RegExp(`^Last backup: +${inBackup.photos} photos?, ${inBackup.videos} videos?`, 'm'));
      } finally {
        await rm(root, { recursive: true, force: true });
        await b.dispose();
        console.log(`# photos-icloud ${icloud}: ${Date.now() - started} ms`);
      }
    });
  }
});
