/**
 * The backup browser on a big backup: a generated Manifest.db of 1 000 000 rows (202 domains,
 * folders of about a hundred files, and one folder ten levels deep). Prints:
 *  - opening it the first time (reading every row and building the browser's index, once) and
 *    again (the index checked against the backup and reused);
 *  - once open: the first page (the domains and the top of the first one; target < 200 ms), a
 *    search by name (trigram index, and a two-letter one), the deep folder.
 * A plain backup: decryption (the password's key derivation, Manifest.db's decryption) is not
 * part of these times; it is what `npm run bench:crypto` measures.
 *
 * Run: npm run bench:browse [-- --rows 1000000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowse, type BrowseSession } from '../src/app/browse.js';
import { encodeMBFile, type MBFile } from '../src/protocol/nskeyed.js';
import { buildBackup, fileIdOf, writeManifestDb } from '../test/support/backup-fixtures.js';
import { numberOption } from './options.js';

const ROWS = numberOption('--rows', 'BENCH_ROWS') ?? 1_000_000;
const DEEP = 'Library/a/b/c/d/e/f/g/h/i/j';

function record(relativePath: string, kind: 'file' | 'directory', size: number): Uint8Array {
  const f: MBFile = {
    relativePath,
    lastModified: 1_700_000_000 + (size % 86_400),
    lastStatusChange: 1_700_000_000,
    birth: 1_700_000_000,
    mode: kind === 'file' ? 0o100644 : 0o40755,
    userId: 501,
    groupId: 501,
    inodeNumber: 1,
    flags: 0,
    size: kind === 'file' ? size : 0,
    protectionClass: 0,
  };
  return encodeMBFile(f);
}

/** The rows: the deep folder's path and 1 000 files in it, then domains of folders of files. */
function rows(total: number): Array<[string, string, string, number, Uint8Array]> {
  const out: Array<[string, string, string, number, Uint8Array]> = [];
  const dir = record('', 'directory', 0);
  const files = Array.from({ length: 64 }, (_, i) => record('', 'file', 1000 + i * 4099));
  const add = (domain: string, rel: string, kind: 'file' | 'directory'): void => {
    out.push([
      fileIdOf(domain, rel),
      domain,
      rel,
      kind === 'file' ? 1 : 2,
      kind === 'file' ? files[out.length % 64]! : dir,
    ]);
  };
  const parts = DEEP.split('/');
  for (let i = 1; i <= parts.length; i++) add('HomeDomain', parts.slice(0, i).join('/'), 'directory');
  for (let i = 0; i < 1000; i++) add('HomeDomain', `${DEEP}/photo_${i}.jpg`, 'file');
  const domains = [
    'HomeDomain',
    'CameraRollDomain',
    ...Array.from({ length: 200 }, (_, i) => `AppDomain-com.example.app${String(i).padStart(3, '0')}`),
  ];
  for (const domain of domains) add(domain, 'Documents', 'directory');
  for (let n = 0; out.length < total; n++) {
    const domain = domains[n % domains.length]!;
    const folder = `Documents/folder${Math.floor(n / domains.length)}`;
    add(domain, folder, 'directory');
    for (let i = 0; i < 99 && out.length < total; i++) add(domain, `${folder}/item_${n}_${i}.dat`, 'file');
  }
  return out;
}

async function timed<T>(label: string, work: () => T | Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await work();
  console.log(`${label.padEnd(52)} ${(performance.now() - t).toFixed(1).padStart(9)} ms`);
  return r;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-bench-browse-'));
  try {
    const { dir } = buildBackup(root, { entries: [] });
    await timed(`generating Manifest.db (${ROWS.toLocaleString('en')} rows)`, async () => {
      await rm(join(dir, 'Manifest.db'));
      writeManifestDb(join(dir, 'Manifest.db'), rows(ROWS), false);
    });
    const cacheDir = join(root, 'cache');
    const first = await timed('open, first time (reads every row, builds the index)', () =>
      openBrowse(dir, { cacheDir }),
    );
    first.close();
    const s: BrowseSession = await timed('open again (index checked and reused)', () => openBrowse(dir, { cacheDir }));
    const page = await timed('first page: the domains and the top of the first', () => {
      const domains = s.domains();
      return { domains, top: s.children(domains[0]!.domain, '', 0, 200) };
    });
    console.log(
      `  (${page.domains.length} domains; ${page.top.total} entries at the top of ${page.domains[0]!.domain})`,
    );
    const found = await timed('search "photo_99" (trigram index)', () => s.search('photo_99', 0, 200));
    console.log(`  (${found.total} matches)`);
    const short = await timed('search "_7" (two letters: a scan)', () => s.search('_7', 0, 200));
    console.log(`  (${short.total} matches)`);
    const deep = await timed(`the deep folder ${DEEP}`, () => s.children('HomeDomain', DEEP, 0, 200));
    console.log(`  (${deep.total} entries)`);
    await timed('a page further into a folder of 99 (offset 50)', () =>
      s.children('HomeDomain', 'Documents/folder3', 50, 200),
    );
    s.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
