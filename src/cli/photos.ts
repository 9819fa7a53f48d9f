/**
 * `ibackup photos status` and `ibackup photos export`: what the phone's photo library holds and
 * what computer backups leave out while iCloud Photos is on, and copying the originals (from the
 * phone over AFC, or from a backup with --from) into a folder.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { formatBytes } from '../app/format-bytes.js';
import { resolveBackupArg } from '../app/open-backup.js';
import { KeyCache } from '../app/password.js';
import {
  exportBackupPhotos,
  exportDevicePhotos,
  type PhotoExportOptions,
  type PhotoExportResult,
} from '../app/photos-export.js';
import { photosStatus } from '../app/photos-status.js';
import { IbackupError } from '../errors.js';
import { backupRootsOf } from './globals.js';
import { printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';
import { photosStatusText } from './photos-text.js';
import { withDevice, withWork, type WorkRun } from './with-device.js';

interface ExportFlags {
  out?: string;
  since?: string;
  album?: string;
  edited?: boolean;
  hidden?: boolean;
  from?: string;
  at?: string;
  passwordStdin?: boolean;
}

/** The folder photos go to without --out. */
export const DEFAULT_PHOTOS_DIR = 'iPhone Photos';

/** --since: a date (YYYY-MM-DD, local midnight) or an ISO date and time. */
export function parseSince(text: string): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const t = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])).getTime() : Date.parse(text);
  if (!Number.isFinite(t))
    throw new IbackupError('USAGE', {
      message: `"${text}" is not a date.`,
      remedy: 'Give --since as YYYY-MM-DD (e.g. 2024-05-01) or an ISO date and time.',
    });
  return t;
}

export function exportText(r: PhotoExportResult): string {
  const lines = [
    `Copied ${r.copied} ${r.copied === 1 ? 'file' : 'files'} (${formatBytes(r.bytes)}) into ${r.out}.`,
    `Already there from an earlier export: ${r.skipped} ${r.skipped === 1 ? 'file' : 'files'}.`,
  ];
  if (r.notOnDevice > 0)
    lines.push(
      `Left in iCloud: ${r.notOnDevice} ${r.notOnDevice === 1 ? 'photo or video whose original is' : 'photos and videos whose originals are'} not on this source (turn on Download and Keep Originals on the iPhone, wait, and export again).`,
    );
  for (const p of r.problems.slice(0, 10)) lines.push(`Not copied: ${p.file} (${p.reason})`);
  if (r.problems.length > 10) lines.push(`… and ${r.problems.length - 10} more not copied`);
  return lines.join('\n');
}

function exportOptions(flags: ExportFlags, run: Pick<WorkRun, 'signal' | 'progress'>): PhotoExportOptions {
  return {
    out: path.resolve(flags.out ?? DEFAULT_PHOTOS_DIR),
    ...(flags.since === undefined ? {} : { since: parseSince(flags.since) }),
    ...(flags.album === undefined ? {} : { album: flags.album }),
    ...(flags.edited ? { edited: true } : {}),
    ...(flags.hidden ? { hidden: true } : {}),
    signal: run.signal,
    onProgress: (p) =>
      run.progress.update({
        phase: p.etaSeconds === null ? 'Copying photos' : `Copying photos (about ${p.etaSeconds} s left)`,
        percent: p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100,
        bytesDone: p.bytesDone,
        bytesTotal: p.bytesTotal,
        filesDone: p.filesDone,
        filesTotal: p.filesTotal,
      }),
  };
}

function printExport(json: boolean | undefined, r: PhotoExportResult): void {
  if (json)
    printJson({
      copied: r.copied,
      skipped: r.skipped,
      notOnDevice: r.notOnDevice,
      bytes: r.bytes,
      out: r.out,
      problems: r.problems,
    });
  else process.stdout.write(`${exportText(r)}\n`);
}

async function runExport(flags: ExportFlags, c: Command): Promise<void> {
  if (flags.from === undefined) {
    if (flags.at !== undefined)
      throw new IbackupError('USAGE', {
        message: '--at goes with --from BACKUP.',
        remedy: 'Add --from BACKUP, or leave --at out.',
      });
    await withWork(c, async (run) => {
      await withDevice(c, async ({ g, device }) => {
        printExport(g.json, await exportDevicePhotos(device, exportOptions(flags, run)));
      });
    });
    return;
  }
  const from = flags.from;
  await withWork(c, async (run) => {
    const dir = await resolveBackupArg(from, backupRootsOf(run.g), flags.at);
    const r = await exportBackupPhotos(dir, {
      ...exportOptions(flags, run),
      unlock: { password: passwordSource(flags), keyCache: new KeyCache() },
    });
    run.progress.stop();
    printExport(run.g.json, r);
  });
}

export function registerPhotos(program: Command): void {
  const photos = program
    .command('photos')
    .description('the photo library: what the iPhone holds and computer backups leave out, and copying the originals');
  photos
    .command('status')
    .description("the iPhone's photo library, whether iCloud Photos is on, and what the last backup holds of it")
    .action(async (_opts: unknown, c: Command) => {
      await withDevice(c, async ({ g, signal, device }) => {
        const s = await photosStatus(device, { backupRoots: backupRootsOf(g), signal });
        if (g.json) printJson(s);
        else process.stdout.write(`${photosStatusText(s)}\n`);
      });
    });
  const exp = photos
    .command('export')
    .description('copy the originals into a folder (YYYY/MM), like Image Capture; again later: only the new ones')
    .option('--out <dir>', `where the photos go (default ./${DEFAULT_PHOTOS_DIR})`)
    .option('--since <date>', 'only photos taken on or after this date (YYYY-MM-DD)')
    .option('--album <name>', 'only the photos of this album')
    .option('--edited', 'also copy the edited versions (IMG_E0001.jpg)')
    .option('--hidden', 'also copy the photos of the Hidden album')
    .option('--from <backup>', 'copy out of a backup (folder, UDID or device name) instead of the iPhone')
    .option('--at <version>', 'with --from: a version of that backup (an id, latest, previous, latest~N)');
  addPasswordOption(exp).action((flags: ExportFlags, c: Command) => runExport(flags, c));
}
