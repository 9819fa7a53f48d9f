/**
 * Info.plist of a backup run: the device's identity, its apps (with icons) and the iTunes files,
 * written before the device's own files (temp file, then rename).
 */
import { previousHostGuid } from '../backup/info-plist.js';
import type { BackupRun } from '../backup/run.js';
import type { HostDevice } from '../host/device.js';
import type { AfcClient } from '../host/services/afc.js';
import { INSTALLATION_PROXY_SERVICE, browseUserApps } from '../host/services/installation-proxy.js';
import { SPRINGBOARD_SERVICE, fetchAppIcons } from '../host/services/springboard.js';
import { serializeXmlPlist, type PlistDict } from '../protocol/plist/index.js';
import { ITUNES_FILES, buildInfoPlist } from './info-plist.js';

/** The user's apps, and the icons of those with store data (none when a service fails). */
async function appsAndIcons(device: HostDevice): Promise<{ apps: PlistDict[]; icons: Map<string, Uint8Array> }> {
  const apps = await device.startService(INSTALLATION_PROXY_SERVICE).then(
    (l) => browseUserApps(l),
    () => [],
  );
  const withIcons = apps.filter(
    (a) => a.ApplicationSINF instanceof Uint8Array && a.iTunesMetadata instanceof Uint8Array,
  );
  const ids = withIcons.map((a) => a.CFBundleIdentifier).filter((id): id is string => typeof id === 'string');
  const icons =
    ids.length === 0
      ? new Map<string, Uint8Array>()
      : await device.startService(SPRINGBOARD_SERVICE).then(
          (l) => fetchAppIcons(l, ids),
          () => new Map<string, Uint8Array>(),
        );
  return { apps, icons };
}

/** The iTunes_Control files the device has (each one it cannot give is left out). */
async function itunesFilesOf(afc: AfcClient): Promise<Map<string, Uint8Array>> {
  const itunesFiles = new Map<string, Uint8Array>();
  for (const name of ITUNES_FILES) {
    const data = await afc.readFile(`/iTunes_Control/iTunes/${name}`).catch(() => null);
    if (data) itunesFiles.set(name, data);
  }
  return itunesFiles;
}

/** Info.plist with the device's identity, apps and iTunes files (temp file, then rename). */
export async function writeInfoPlist(
  device: HostDevice,
  afc: AfcClient,
  run: BackupRun,
  values: { root: PlistDict; itunes: PlistDict; minItunes: unknown },
  date: Date,
): Promise<void> {
  const { apps, icons } = await appsAndIcons(device);
  const itunesFiles = await itunesFilesOf(afc);
  const guid = await previousHostGuid(run.deviceDir);
  const info = buildInfoPlist({
    udid: run.udid,
    root: values.root,
    itunesSettings: values.itunes,
    minItunesVersion: typeof values.minItunes === 'string' ? values.minItunes : null,
    apps,
    icons,
    itunesFiles,
    iBooksData: await afc.readFile('/Books/iBooksData2.plist').catch(() => null),
    date,
    ...(guid ? { guid } : {}),
  });
  await run.store.mkdirp(run.udid);
  await run.writeFile(`${run.udid}/Info.plist`, serializeXmlPlist(info));
}
