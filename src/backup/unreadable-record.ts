/**
 * Files the iPhone could not read to the end during a backup (it ended their upload with an error
 * block: iOS 17 FileProvider databases, pymobiledevice3 issues 755 and 507). Their blobs hold what
 * the phone sent, as libimobiledevice and pymobiledevice3 keep them, so `verify` must not mistake
 * them for damage on this computer. The run that completes records them in
 * `<root>/.ibackup/unreadable/<UDID>/<Status.plist UUID>.json`: the UUID names the run, so the
 * version of an earlier backup (`.ibackup/versions/<UDID>/<id>`) and an archive of it find theirs.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VERSIONS_DIR, versionFolderIds, versionDir } from './versions.js';
import { readStatusPlist } from './status.js';

const RECORD_DIR = join('.ibackup', 'unreadable');
const FILE_ID = /^[0-9a-f]{40}$/;
/** `<UDID>` or an archive's `<UDID>-YYYYMMDD-HHMMSS`. */
const FOLDER_NAME = /^(.+?)(?:-\d{8}-\d{6})?$/;

export interface UnreadableFile {
  fileId: string;
  /** The file's path on the iPhone, as it named it. */
  devicePath: string;
  /** The phone's own words. */
  reason: string;
}

function deviceRecords(root: string, udid: string): string {
  return join(root, RECORD_DIR, udid);
}

/** The backup root and UDID of a backup folder: `<root>/<UDID>[-date]` or `<root>/.ibackup/versions/<UDID>/<id>`. */
function rootAndUdid(backupDir: string): { root: string; udid: string } {
  const parent = dirname(backupDir);
  if (dirname(parent).endsWith(VERSIONS_DIR))
    return { root: dirname(dirname(dirname(parent))), udid: basename(parent) };
  const udid = FOLDER_NAME.exec(basename(backupDir))?.[1] ?? basename(backupDir);
  return { root: parent, udid };
}

async function statusUuid(backupDir: string): Promise<string | undefined> {
  const uuid = await readStatusPlist(backupDir).then(
    (s) => s.uuid,
    () => undefined,
  );
  return uuid !== undefined && /^[0-9A-Fa-f-]{8,64}$/.test(uuid) ? uuid : undefined;
}

/** The unreadable files of the backup in `backupDir` (none when there is no record, or it is damaged). */
export async function readUnreadableRecord(backupDir: string): Promise<UnreadableFile[]> {
  const uuid = await statusUuid(backupDir);
  if (uuid === undefined) return [];
  const { root, udid } = rootAndUdid(backupDir);
  const text = await readFile(join(deviceRecords(root, udid), `${uuid}.json`), 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as { files?: unknown };
    return Array.isArray(parsed.files) ? parsed.files.filter(isUnreadableFile) : [];
  } catch {
    return [];
  }
}

function isUnreadableFile(v: unknown): v is UnreadableFile {
  const f = v as Partial<UnreadableFile> | null;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.fileId === 'string' &&
    FILE_ID.test(f.fileId) &&
    typeof f.devicePath === 'string' &&
    typeof f.reason === 'string'
  );
}

/**
 * Saves what the run that wrote `<root>/<UDID>/Status.plist` leaves unreadable: the files of the
 * backup it started from that it did not send again, plus its own. Written whole (temp, then
 * rename). Records no backup of this device names any more are removed.
 */
export async function saveUnreadableRecord(
  root: string,
  udid: string,
  earlier: readonly UnreadableFile[],
  resent: ReadonlySet<string>,
  now: readonly UnreadableFile[],
): Promise<void> {
  const byId = new Map<string, UnreadableFile>();
  for (const f of earlier) if (!resent.has(f.fileId)) byId.set(f.fileId, f);
  for (const f of now) byId.set(f.fileId, f);
  const uuid = await statusUuid(join(root, udid));
  const dir = deviceRecords(root, udid);
  if (uuid !== undefined && byId.size > 0) {
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${uuid}.json`);
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify({ files: [...byId.values()] }, null, 1)}\n`);
    await rename(tmp, file);
  }
  await pruneRecords(root, udid);
}

/** Removes the records whose run no backup of the device (current, version, archive) holds now. */
export async function pruneUnreadableRecords(root: string, udid: string): Promise<void> {
  await pruneRecords(root, udid);
}

async function pruneRecords(root: string, udid: string): Promise<void> {
  const dir = deviceRecords(root, udid);
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.length === 0) return;
  const folders = [join(root, udid), ...(await versionFolderIds(root, udid)).map((id) => versionDir(root, udid, id))];
  for (const n of await readdir(root).catch(() => [] as string[]))
    if (n.startsWith(`${udid}-`) && FOLDER_NAME.exec(n)?.[1] === udid) folders.push(join(root, n));
  const live = new Set(
    (await Promise.all(folders.map(statusUuid))).filter((u): u is string => u !== undefined).map((u) => `${u}.json`),
  );
  for (const n of names) if (!live.has(n)) await rm(join(dir, n), { force: true });
}

/**
 * The record as a run goes: saved under the run's UUID each time the device uploads its
 * Status.plist (it does so as the run starts and at each stage) and when a file comes in
 * unreadable, so that a run killed after the device's last word still leaves it beside the folder.
 */
export class UnreadableLog {
  readonly now: UnreadableFile[] = [];
  private readonly resent = new Set<string>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly root: string,
    private readonly udid: string,
    private readonly earlier: readonly UnreadableFile[],
  ) {}

  /** A file came in whole (a file of the earlier record sent again is whole now). */
  received(fileId: string): void {
    if (this.earlier.length > 0) this.resent.add(fileId);
  }

  unreadable(f: UnreadableFile): void {
    this.now.push(f);
    this.save();
  }

  statusUploaded(): void {
    if (this.earlier.length > 0 || this.now.length > 0) this.save();
  }

  private save(): void {
    this.writes = this.writes
      .then(() => saveUnreadableRecord(this.root, this.udid, this.earlier, this.resent, this.now))
      .catch(() => undefined);
  }

  /** Saves the final record (and waits for the earlier saves). */
  async finish(): Promise<void> {
    this.save();
    await this.writes;
  }
}
