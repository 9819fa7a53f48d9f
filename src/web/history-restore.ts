/**
 * POST /api/history/restore: Restore Backup… with a version of a phone's history as the source.
 * The target iPhone must be connected, trusted and not busy, as for any restore; the version is
 * one the history of a listed phone names (every version is complete); then the restore job of
 * the device routes, the password checked before the phone is touched (a wrong one for a version
 * made under an earlier password says so).
 */
import { withVersionPassword } from '../app/history.js';
import { onlyFields, optionalPassword, readJson, requiredString } from './body.js';
import type { Deps } from './deps.js';
import { badField } from './http-errors.js';
import { pickedVersion } from './history-pick.js';
import type { Job } from './jobs.js';
import { ready, startRestoreJob } from './routes-devices.js';

const UDID = /^[A-Za-z0-9-]{1,100}$/;

export async function startVersionRestore(deps: Deps, raw: Request): Promise<Job> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version', 'udid', 'password']);
  const password = optionalPassword(body, 'password');
  const udid = requiredString(body, 'udid', 100);
  if (!UDID.test(udid)) throw badField('udid', 'is not a device identifier');
  ready(deps, udid);
  const { version } = await pickedVersion(deps, body);
  return withVersionPassword(version.path, () => startRestoreJob(deps, udid, version.path, password));
}
