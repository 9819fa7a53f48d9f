/**
 * Info.plist of a backup run: the device's identity, its apps (with icons) and the iTunes files,
 * written before the device's own files (temp file, then rename).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupStore } from '../backup/store.js';
import type { HostDevice } from '../host/device.js';
import type { AfcClient } from '../host/services/afc.js';
import { INSTALLATION_PROXY_SERVICE, browseUserApps } from '../host/services/installation-proxy.js';
import { SPRINGBOARD_SERVICE, fetchAppIcons } from '../host/services/springboard.js';
import { isPlistDict, parsePlist, serializeXmlPlist, type PlistDict } from '../protocol/plist/index.js';
import { ITUNES_FILES, buildInfoPlist } from './info-plist.js';

/** Info.plist with the device's identity, apps and iTunes files (temp file, then rename). */
export async function writeInfoPlist(
  device: HostDevice,
  afc: AfcClient,
  store: BackupStore,
  udid: string,
  values: { root: PlistDict; itunes: PlistDict; minItunes: unknown },
  date: Date,
): Promise<void> {
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
  const itunesFiles = new Map<string, Uint8Array>();
  for (const name of ITUNES_FILES) {
    const data = await afc.readFile(`/iTunes_Control/iTunes/${name}`).catch(() => null);
    if (data) itunesFiles.set(name, data);
  }
  const previous = await readFile(join(store.deviceDir, 'Info.plist')).then(
    (b) => parsePlist(b),
    () => undefined,
  );
  const guid = isPlistDict(previous) && typeof previous.GUID === 'string' ? previous.GUID : undefined;
  const info = buildInfoPlist({
    udid,
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
  await store.mkdirp(udid);
  const file = await store.createFile(`${udid}/Info.plist`);
  try {
    await file.write(serializeXmlPlist(info));
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}
