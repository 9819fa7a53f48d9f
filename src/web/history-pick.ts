/**
 * Which version a history request names: the phone's row as the backup list shows it, and a
 * version id its history names (404 for anything else: the page never names a folder itself).
 */
import { keybagFingerprint, showHistory, type HistoryResult, type HistoryVersion } from '../app/history.js';
import { IbackupError } from '../errors.js';
import type { BackupView, HistoryView } from './api.js';
import { requiredString, type JsonObject } from './body.js';
import { backupViews, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { unknownBackup } from './routes-devices.js';

const VERSION_ID = /^\d{8}-\d{6}(?:-\d{1,4})?$/;

/** A phone's row of the backup list (not an archive: it has no history). */
export async function phoneRow(deps: Deps, body: JsonObject): Promise<BackupView> {
  const path = requiredString(body, 'path');
  const row = (await backupViews(deps.roots)).find((b) => b.path === path && b.kind !== 'archive');
  if (row === undefined) throw unknownBackup(path);
  return row;
}

function unknownVersion(id: string): IbackupError {
  return new IbackupError('BACKUP_NOT_FOUND', {
    message: `The phone's backup history has no version ${id}.`,
    remedy: 'Reload the page and choose a version from the list (it may have been deleted or removed by the policy).',
    details: { version: id },
  });
}

export interface PickedVersion {
  row: BackupView;
  history: HistoryResult;
  version: HistoryVersion;
}

/** The listed phone and the version of its history the page names (404 for any other). */
export async function pickedVersion(deps: Deps, body: JsonObject): Promise<PickedVersion> {
  const id = requiredString(body, 'version', 40);
  if (!VERSION_ID.test(id)) throw badField('version', 'is not a version id');
  const row = await phoneRow(deps, body);
  const history = await showHistory(row.path);
  const version = history.versions.find((v) => v.id === id);
  if (version === undefined) throw unknownVersion(id);
  return { row, history, version };
}

export async function historyView(h: HistoryResult): Promise<HistoryView> {
  const groups = await Promise.all(
    h.versions.map((v) => (v.encrypted ? keybagFingerprint(v.path).catch(() => undefined) : undefined)),
  );
  return {
    udid: h.device,
    deviceName: h.deviceName,
    versions: h.versions.map((v, i) => ({
      id: v.id,
      date: v.date,
      iosVersion: v.iosVersion,
      full: v.full,
      encrypted: v.encrypted,
      earlierPassword: v.earlierPassword === true,
      passwordGroup: v.encrypted ? (groups[i] ?? v.id) : null,
      files: v.files,
      sizeBytes: v.sizeBytes,
      uniqueBytes: v.uniqueBytes,
      pinned: v.pinned,
      current: v.current,
    })),
    sharedBytes: h.sharedBytes,
    totalBytes: h.totalBytes,
    unfinished: h.unfinished !== null,
    policy: { ...h.policy },
  };
}
