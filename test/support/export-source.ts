/**
 * A virtual iPhone's content seen as a backup an export reads (entries and their bytes), without
 * making a backup: the files under the given prefixes are written once into a folder as blobs.
 * The exporters' tests read the generated databases through it and compare with the content
 * model, fast enough to cover every modelled iOS generation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BackupEntry } from '../../src/backup/browse.js';
import { DeviceContent } from '../../src/emulator/content/index.js';
import { builtInProfile } from '../../src/emulator/profile.js';
import type { ExportSource } from '../../src/export/source.js';

export interface ContentBackup {
  content: DeviceContent;
  source: ExportSource;
  /** A scratch folder for the test's output (removed by dispose). */
  scratch: string;
  /** Removes a file's blob, as when it is listed but its data is missing. */
  dropBlob(domain: string, relativePath: string): void;
  dispose(): void;
}

const PREFIXES: readonly [string, string][] = [
  ['HomeDomain', 'Library/AddressBook/'],
  ['HomeDomain', 'Library/SMS/'],
  ['HomeDomain', 'Library/CallHistoryDB/'],
  ['HomeDomain', 'Library/Voicemail/'],
  ['MediaDomain', 'Library/SMS/Attachments/'],
  ['AppDomainGroup-group.com.apple.notes', ''],
];

async function bytesOf(content: DeviceContent, e: ReturnType<DeviceContent['get']>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of content.openContent(e as NonNullable<typeof e>)) parts.push(c);
  return Buffer.concat(parts);
}

/** The personal files of a content (see the module comment); `files` sets the profile's size. */
export async function contentBackup(iosVersion = '17.5.1', files = 2000): Promise<ContentBackup> {
  const content = DeviceContent.build({ ...builtInProfile('tiny').content, files }, { iosVersion });
  const root = mkdtempSync(path.join(tmpdir(), 'ibackup-export-'));
  const entries: BackupEntry[] = [];
  let n = 0;
  for (const [domain, prefix] of PREFIXES) {
    for (const e of content.under(domain, prefix)) {
      if (e.kind !== 'file') continue;
      const blobPath = path.join(root, `blob-${n++}`);
      writeFileSync(blobPath, await bytesOf(content, e));
      entries.push({
        domain: e.domain,
        relativePath: e.relativePath,
        fileID: String(n),
        type: 'file',
        size: e.size,
        mode: e.mode,
        mtime: new Date(e.mtime * 1000),
        protectionClass: e.protectionClass,
        blobPath,
        source: { row: {} as never },
      });
    }
  }
  const scratch = path.join(root, 'out');
  const source: ExportSource = {
    dir: root,
    *entries(filter = {}) {
      for (const e of entries) if (filter.domain === undefined || filter.domain === e.domain) yield e;
    },
    async *chunks(e) {
      const { readFile } = await import('node:fs/promises');
      yield new Uint8Array(await readFile(e.blobPath as string));
    },
  };
  return {
    content,
    source,
    scratch,
    dropBlob(domain, relativePath) {
      const e = entries.find((x) => x.domain === domain && x.relativePath === relativePath);
      if (e?.blobPath !== undefined) rmSync(e.blobPath);
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}
