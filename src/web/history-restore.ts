/**
 * POST /api/history/restore: Restore Backup… with a version of a phone's history as the source.
 * As the device route does: the target iPhone connected, trusted and not busy, the version
 * complete (every version is), its password checked on the computer before the phone is touched;
 * then a restore job.
 */
import { withVersionPassword } from '../app/history.js';
import { checkBackupPassword } from '../app/password.js';
import { restoreDevice } from '../app/restore.js';
import { IbackupError } from '../errors.js';
import { onlyFields, optionalPassword, readJson, requiredString } from './body.js';
import type { Deps } from './deps.js';
import { badField } from './http-errors.js';
import { pickedVersion } from './history-pick.js';
import { busyError, type Job } from './jobs.js';

const UDID = /^[A-Za-z0-9-]{1,100}$/;

/** The target device: connected, trusted, nothing running on it. */
function readyTarget(deps: Deps, udid: string): string {
  if (!UDID.test(udid)) throw badField('udid', 'is not a device identifier');
  const entry = deps.monitor.entry(udid);
  const busy = deps.jobs.runningOn(entry.udid);
  if (busy) throw busyError(busy);
  if (!entry.summary.paired) {
    throw new IbackupError('NOT_PAIRED', {
      message: 'This computer is not trusted by the iPhone yet.',
      remedy: 'Unlock the iPhone, press Trust on its page and tap "Trust" on the iPhone.',
    });
  }
  return entry.udid;
}

export async function startVersionRestore(deps: Deps, raw: Request): Promise<Job> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version', 'udid', 'password']);
  const password = optionalPassword(body, 'password');
  const udid = readyTarget(deps, requiredString(body, 'udid', 100));
  const { version } = await pickedVersion(deps, body);
  const ask = password === undefined ? {} : { password: async () => password };
  await withVersionPassword(version.path, () => checkBackupPassword(version.path, ask));
  const device = deps.monitor.device(udid);
  return deps.jobs.start(udid, 'restore', 'preparing', async (ctl) => {
    const r = await restoreDevice(device, {
      backupDir: version.path,
      ...ask,
      signal: ctl.signal,
      onProgress: (p) =>
        ctl.progress({
          phase: p.phase === 'backing-up' ? 'restoring' : p.phase,
          ...(p.percent === undefined ? {} : { percent: p.percent }),
          bytesDone: p.bytesDone,
          ...(p.bytesTotal === undefined ? {} : { bytesTotal: p.bytesTotal }),
          filesDone: p.filesDone,
        }),
    });
    return { path: r.from, encrypted: r.encrypted };
  });
}
