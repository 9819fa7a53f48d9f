/**
 * `ibackup files ls|extract|cat BACKUP [PATTERN] [--domain D] [--out DIR]`: browse and extract a
 * backup's files, encrypted ones too. PATTERN is a case-sensitive glob over
 * `<domain>/<relativePath>`; `--domain` a glob over the domain.
 */
import { once } from 'node:events';
import path from 'node:path';
import type { Command } from 'commander';
import { openBackupView, type BackupView } from '../app/backup-view.js';
import { extractFiles, type ExtractResult } from '../app/extract.js';
import { findOne, listFiles, type FileListing, type FilesWarning } from '../app/files.js';
import { KeyCache } from '../app/password.js';
import { formatBytes } from '../app/format-bytes.js';
import { resolveBackupArg } from '../app/open-backup.js';
import { AT_OPTION } from './backup-choice.js';
import { backupRootsOf, globalsOf, type GlobalOptions } from './globals.js';
import { EXIT_FAILED, printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';
import { withWork } from './with-device.js';

interface FilesFlags {
  domain?: string;
  passwordStdin?: boolean;
  saveKey?: boolean;
  out?: string;
  windowsNames?: boolean;
  at?: string;
}

const TYPE_CHAR = { file: '-', directory: 'd', symlink: 'l', unknown: '?' } as const;

/** `-rw-r--r--` from st_mode. */
export function modeString(type: FileListing['type'], mode: number | null): string {
  if (mode === null) return `${TYPE_CHAR[type]}?????????`;
  const bits = 'rwxrwxrwx';
  let s = TYPE_CHAR[type] as string;
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

function localTime(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function lsText(files: readonly FileListing[]): string {
  const rows = files.map((f) => [
    modeString(f.type, f.mode),
    f.type === 'file' ? formatBytes(f.size) : '',
    localTime(f.mtime),
    `${f.domain}/${f.relativePath}${f.type === 'symlink' && f.target !== undefined ? ` -> ${f.target}` : ''}${f.type === 'file' && !f.blobPresent ? '  (missing from the backup)' : ''}`,
  ]);
  const head = ['Mode', 'Size', 'Modified', 'Domain/Path'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) =>
        i === r.length - 1 ? c : i === 1 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number),
      )
      .join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

function warn(g: GlobalOptions, warnings: readonly FilesWarning[]): void {
  if (g.json || g.quiet) return;
  for (const w of warnings) process.stderr.write(`Warning: ${w.message}\n`);
}

function common(cmd: Command): Command {
  return addPasswordOption(cmd)
    .option('--domain <glob>', 'only domains matching this glob (e.g. "AppDomain-*")')
    .option(
      '--save-key',
      "keep the key derived from the password (in ibackup's own folder) so later commands need no password",
    )
    .option(...AT_OPTION);
}

async function withView<T>(
  g: GlobalOptions,
  backup: string,
  flags: FilesFlags,
  use: (view: BackupView) => Promise<T>,
): Promise<T> {
  const dir = await resolveBackupArg(backup, backupRootsOf(g), flags.at);
  const view = await openBackupView(dir, {
    password: passwordSource(flags),
    keyCache: new KeyCache(),
    saveKey: flags.saveKey === true,
  });
  try {
    if (view.savedKeyTo !== undefined && !g.json && !g.quiet)
      process.stderr.write(`The key of this backup is saved in ${view.savedKeyTo}: later commands need no password.\n`);
    return await use(view);
  } finally {
    view.close();
  }
}

function filterOf(pattern: string | undefined, flags: FilesFlags): { pattern?: string; domain?: string } {
  return {
    ...(pattern === undefined ? {} : { pattern }),
    ...(flags.domain === undefined ? {} : { domain: flags.domain }),
  };
}

export function extractText(r: ExtractResult): string {
  const lines = [`Extracted ${r.filesWritten} files (${formatBytes(r.bytesWritten)}) into ${r.out}.`];
  if (r.links.length > 0)
    lines.push(
      `${r.links.length === 1 ? '1 link was' : `${r.links.length} links were`} not created (see "files ls" for where they point).`,
    );
  for (const x of r.renamed.slice(0, 20)) lines.push(`Renamed: ${x.path} -> ${x.writtenAs}`);
  if (r.renamed.length > 20) lines.push(`… and ${r.renamed.length - 20} more renamed.`);
  if (r.skipped.length > 0) {
    lines.push(`Not extracted (${r.skipped.length}):`);
    for (const s of r.skipped.slice(0, 50)) lines.push(`  ${s.code} ${s.path}: ${s.message}`);
    if (r.skipped.length > 50) lines.push(`  … and ${r.skipped.length - 50} more (--json lists them)`);
  }
  return lines.join('\n');
}

async function writeOut(chunk: Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}

/** `files ls`: one line per Manifest row, then the counts. */
async function ls(backup: string, pattern: string | undefined, flags: FilesFlags, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  await withView(g, backup, flags, async (view) => {
    const r = listFiles(view, filterOf(pattern, flags));
    if (g.json) {
      printJson({ files: r.files, warnings: r.warnings });
      return;
    }
    warn(g, r.warnings);
    const c = r.counts;
    if (r.files.length > 0) process.stdout.write(`${lsText(r.files)}\n`);
    const n = (k: number, one: string): string => `${k} ${one}${k === 1 ? '' : 's'}`;
    process.stdout.write(
      `${n(c.entries, 'entry').replace(/entrys$/, 'entries')}: ${n(c.files, 'file')} (${formatBytes(c.bytes)}), ${n(c.directories, 'folder')}, ${n(c.symlinks, 'link')}.\n`,
    );
  });
}

/** `files extract`: writes `<out>/<domain>/<relativePath>`, with progress; exit 1 when some were not. */
async function extract(backup: string, pattern: string | undefined, flags: FilesFlags, cmd: Command): Promise<void> {
  await withWork(cmd, ({ g, signal, progress }) =>
    withView(g, backup, flags, async (view) => {
      const out = path.resolve(flags.out ?? `${path.basename(view.dir)}-files`);
      const r = await extractFiles(view, {
        ...filterOf(pattern, flags),
        out,
        ...(flags.windowsNames === true ? { windowsNames: true } : {}),
        signal,
        onProgress: (p) => progress.update(p),
      });
      progress.stop();
      if (g.json) printJson(r);
      else {
        warn(g, r.warnings);
        process.stdout.write(`${extractText(r)}\n`);
      }
      if (!r.ok) process.exitCode = EXIT_FAILED;
    }),
  );
}

/** `files cat`: the one matching file on stdout (base64 in JSON with --json). */
async function cat(backup: string, pattern: string, flags: FilesFlags, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  await withView(g, backup, flags, async (view) => {
    const entry = findOne(view, filterOf(pattern, flags));
    if (g.json) {
      const parts: Uint8Array[] = [];
      for await (const c of view.chunks(entry)) parts.push(c);
      printJson({
        domain: entry.domain,
        relativePath: entry.relativePath,
        fileID: entry.fileID,
        size: entry.size,
        base64: Buffer.concat(parts).toString('base64'),
      });
      return;
    }
    // A reader that stops early (`| head`) closes the pipe: stop quietly.
    const ignore = (): void => undefined;
    process.stdout.on('error', ignore);
    try {
      for await (const c of view.chunks(entry)) await writeOut(c);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    } finally {
      process.stdout.off('error', ignore);
    }
  });
}

export function registerFiles(program: Command): void {
  const files = program.command('files').description('browse and extract the files of a backup, encrypted ones too');

  common(
    files
      .command('ls <backup> [pattern]')
      .description('list the files (one entry per Manifest row, folders and links included)'),
  ).action(ls);

  common(files.command('extract <backup> [pattern]').description('write the files as <out>/<domain>/<relativePath>'))
    .option('--out <dir>', 'output folder (default ./<backup folder name>-files)')
    .option('--windows-names', 'make names valid on Windows (always on Windows)')
    .action(extract);

  common(
    files
      .command('cat <backup> <pattern>')
      .description('print one file to standard output (the pattern must match exactly one file)'),
  ).action(cat);
}
