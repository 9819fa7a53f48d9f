/**
 * Apps a restore brings back. A host that wants the phone to reinstall the backup's apps writes
 * the backup's Info.plist "Applications" dict (bundle id → ApplicationSINF, iTunesMetadata,
 * PlaceholderIcon) to /iTunesRestore/RestoreApplications.plist through AFC: libimobiledevice
 * before the Restore request (idevicebackup2.c (master fa0f791) write_restore_applications,
 * ~lines 553-600, called ~line 2326: "so that the device will start restoring applications once
 * the rest of the restore process is finished"), pymobiledevice3 right after it
 * (services/mobilebackup2.py restore, ~lines 408-415); libimobiledevice removes the file itself
 * when the restore fails (~line 2836). So the virtual iPhone reads the list when a restore has
 * succeeded, installs the apps it names, and (our model: no source says what a phone does with the
 * file afterwards) removes it, so a later restore does not reinstall them again unasked. The apps
 * it reinstalled are kept in its state folder and listed by installation_proxy.
 */
import { join } from 'node:path';
import {
  isPlistDict,
  parsePlist,
  serializeBinaryPlist,
  type PlistDict,
  type PlistValue,
} from '../../../protocol/plist/index.js';
import { readPlistDict, writeFileAtomic } from '../../state-files.js';
import type { AfcFileSystem } from '../afc-fs.js';
import type { InstalledApp } from '../installation-proxy.js';

export const RESTORE_APPLICATIONS_DIR = '/iTunesRestore';
export const RESTORE_APPLICATIONS_PATH = `${RESTORE_APPLICATIONS_DIR}/RestoreApplications.plist`;
export const REINSTALLED_APPS_FILE = 'reinstalled-apps.plist';

/** Largest list the device reads (a phone's worth of apps with icons). */
const MAX_LIST_BYTES = 64 * 1024 * 1024;

/** The apps a restore reinstalled, kept in the device's state folder. */
export class ReinstalledApps {
  private apps = new Map<string, InstalledApp>();

  private constructor(private readonly path: string) {}

  static async open(stateDir: string): Promise<ReinstalledApps> {
    const r = new ReinstalledApps(join(stateDir, REINSTALLED_APPS_FILE));
    const saved = await readPlistDict(r.path);
    const list = saved && isPlistDict(saved.Apps) ? saved.Apps : {};
    for (const [bundleId, v] of Object.entries(list)) {
      const app = isPlistDict(v) ? appOf(bundleId, v) : undefined;
      if (app) r.apps.set(bundleId, app);
    }
    return r;
  }

  list(): InstalledApp[] {
    return [...this.apps.values()];
  }

  async add(apps: readonly InstalledApp[]): Promise<void> {
    if (apps.length === 0) return;
    for (const a of apps) this.apps.set(a.bundleId, a);
    const out: PlistDict = {};
    for (const a of this.apps.values()) out[a.bundleId] = { ApplicationSINF: a.sinf, iTunesMetadata: a.itunesMetadata };
    await writeFileAtomic(this.path, serializeBinaryPlist({ Apps: out }));
  }
}

/**
 * After a successful restore: the apps the host listed in RestoreApplications.plist are
 * installed and the list is removed. Returns the bundle ids installed (none without a list).
 */
export async function reinstallListedApps(afc: AfcFileSystem, installed: ReinstalledApps): Promise<string[]> {
  const st = afc.stat(RESTORE_APPLICATIONS_PATH);
  if (st?.type !== 'file' || st.size > MAX_LIST_BYTES) return [];
  const bytes = await afc.read(RESTORE_APPLICATIONS_PATH, 0, st.size);
  afc.remove(RESTORE_APPLICATIONS_PATH);
  afc.remove(RESTORE_APPLICATIONS_DIR);
  const apps = bytes === undefined ? [] : appsOfList(bytes);
  await installed.add(apps);
  return apps.map((a) => a.bundleId);
}

/** The apps of a RestoreApplications.plist; entries without purchase data are skipped (as idevicebackup2 writes only those with both). */
export function appsOfList(bytes: Uint8Array): InstalledApp[] {
  let list: PlistValue;
  try {
    list = parsePlist(bytes);
  } catch {
    return [];
  }
  if (!isPlistDict(list)) return [];
  const out: InstalledApp[] = [];
  for (const [bundleId, v] of Object.entries(list)) {
    const app = isPlistDict(v) ? appOf(bundleId, v) : undefined;
    if (app) out.push(app);
  }
  return out;
}

function appOf(bundleId: string, v: PlistDict): InstalledApp | undefined {
  const sinf = v.ApplicationSINF;
  const meta = v.iTunesMetadata;
  if (bundleId === '' || !(sinf instanceof Uint8Array) || !(meta instanceof Uint8Array)) return undefined;
  const m = metadataOf(meta);
  const name = typeof m.itemName === 'string' ? m.itemName : (bundleId.split('.').pop() ?? bundleId);
  const version =
    typeof m.bundleShortVersionString === 'string'
      ? m.bundleShortVersionString
      : typeof m.bundleVersion === 'string'
        ? m.bundleVersion
        : '1.0';
  return { bundleId, name, version, sinf, itunesMetadata: meta };
}

function metadataOf(bytes: Uint8Array): PlistDict {
  try {
    const v = parsePlist(bytes);
    return isPlistDict(v) ? v : {};
  } catch {
    return {};
  }
}
