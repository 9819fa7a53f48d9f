/**
 * Backup history: what a version costs. An in-process virtual iPhone (20 000 files, 2 GiB by
 * default) is backed up in full, then 49 times more with 1% of its files changed before each, so
 * that 50 versions are kept. Prints:
 *  - the time to make a version (from the phone's "finished" to the end of the run: completing
 *    the version of the backup replaced — a hard link per unchanged file —, recording the new
 *    one, applying the retention policy), per run and per unchanged file, against the full
 *    backup's time (target ≤ 5%);
 *  - the bytes each version adds on disk, and how much of them is its Manifest.db and folders;
 *  - the time of `history` (50 versions) and of `diff` between two versions (target < 1 s).
 * The phone and the computer share this process (and this machine's two cores): the times are
 * the computer's work plus the phone's, which makes the ratio conservative.
 *
 * Run: npm run bench:history [-- --files 20000 --mib 2048 --versions 50]
 */
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupDevice, type BackupResult } from '../src/app/backup.js';
import { openHost } from '../src/app/context.js';
import { diffVersions, showHistory } from '../src/app/history.js';
import { pairDevice } from '../src/app/pair.js';
import { selectDevice } from '../src/app/select-device.js';
import { nodeFs, type FsLayer } from '../src/backup/fs-layer.js';
import { versionsDir } from '../src/backup/versions.js';
import { Emulator } from '../src/emulator/emulator.js';
import { numberOption } from './options.js';

const MB = 1e6;

function du(...dirs: string[]): number {
  const there = dirs.filter((d) => lstatSync(d, { throwIfNoEntry: false }) !== undefined);
  const out = execFileSync('du', ['-sbc', ...there], { encoding: 'utf8' })
    .trim()
    .split('\n');
  return Number((out[out.length - 1] as string).split('\t')[0]);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** A file system that notes when the phone's backup was declared complete (the version's making starts). */
function timedFs(): FsLayer & { completeAt: number } {
  const fs = { ...nodeFs, completeAt: 0 };
  fs.event = (name: string) => {
    if (name === 'complete') fs.completeAt = performance.now();
  };
  return fs;
}

async function timedBackup(
  run: (fs: FsLayer) => Promise<BackupResult>,
): Promise<{ r: BackupResult; total: number; version: number }> {
  const fs = timedFs();
  const started = performance.now();
  const r = await run(fs);
  const end = performance.now();
  return { r, total: (end - started) / 1000, version: (end - fs.completeAt) / 1000 };
}

async function main(): Promise<void> {
  const files = numberOption('--files', 'IBACKUP_BENCH_FILES') ?? 20_000;
  const mib = numberOption('--mib', 'IBACKUP_BENCH_MIB') ?? 2048;
  const versions = numberOption('--versions', 'IBACKUP_BENCH_VERSIONS') ?? 50;
  const changed = Math.max(1, Math.round(files / 100));
  const tmp = await mkdtemp(join(tmpdir(), 'ibackup-bench-history-'));
  const emu = await Emulator.start({
    stateDir: join(tmp, 'state'),
    listen: `UNIX:${join(tmp, 'mux.sock')}`,
    profile: { extends: 'big', content: { seed: 3, files, bytes: mib * 1024 * 1024, hugeFiles: [] } },
    timeScale: 0.001,
  });
  try {
    process.stdout.write(
      `Settings: ${files} files, ${mib} MiB, ${versions} versions, ${changed} files changed before each\n`,
    );
    const ctx = openHost({
      usbmuxd: emu.socketAddress,
      ownDir: join(tmp, 'lockdown'),
      systemDirs: [],
      timeoutMs: 60_000,
    });
    const device = await selectDevice(ctx);
    await pairDevice(device);
    const root = join(tmp, 'backups');
    let clock = Date.UTC(2026, 0, 1, 0, 0, 0);
    const now = (): Date => new Date((clock += 60_000));
    const full = await timedBackup((fs) => backupDevice(device, { root, now, fs }));
    const current = full.r.path;
    const one = du(current);
    process.stdout.write(`Full backup: ${full.total.toFixed(1)} s, ${(one / MB).toFixed(0)} MB on disk\n`);
    const steps: number[] = [];
    const added: number[] = [];
    const runtime = emu.find(device.udid).runtime;
    if (runtime === undefined) throw new Error('the virtual iPhone has no content');
    let before = du(current, versionsDir(root, device.udid));
    let manifest = 0;
    let brought = 0;
    for (let i = 1; i < versions; i++) {
      manifest = lstatSync(join(current, 'Manifest.db')).size;
      await runtime.mutate('modify', changed);
      const inc = await timedBackup((fs) => backupDevice(device, { root, now, fs }));
      steps.push(inc.version);
      const d = await diffVersions(current, 'previous', 'latest');
      const changedBytes = [...d.added, ...d.changed].reduce((n, e) => n + e.size, 0);
      brought += changedBytes;
      const after = du(current, versionsDir(root, device.udid));
      added.push(after - before - changedBytes);
      before = after;
      if (i % 10 === 0) process.stdout.write(`  ${i + 1} versions; last incremental ${inc.total.toFixed(1)} s\n`);
    }
    const step = median(steps);
    const perFile = (step / files) * 1e6;
    process.stdout.write(
      `Making a version: median ${(step * 1000).toFixed(0)} ms (min ${(Math.min(...steps) * 1000).toFixed(0)}, max ${(Math.max(...steps) * 1000).toFixed(0)}) = ` +
        `${perFile.toFixed(1)} µs per file; ${((step / full.total) * 100).toFixed(1)}% of the full backup's ${full.total.toFixed(1)} s (target ≤ 5%)\n`,
    );
    process.stdout.write(
      `Bytes a version adds besides the changed files' own: median ${(median(added) / MB).toFixed(2)} MB ` +
        `(its Manifest.db: ${(manifest / MB).toFixed(2)} MB; the rest is its plists and folders); changed files brought ${(brought / MB).toFixed(0)} MB in all\n`,
    );
    const h0 = performance.now();
    const h = await showHistory(current);
    const historyMs = performance.now() - h0;
    const duNow = du(current, versionsDir(root, device.udid));
    const d0 = performance.now();
    const d = await diffVersions(current, `latest~${h.versions.length - 1}`, 'latest');
    const diffMs = performance.now() - d0;
    process.stdout.write(
      `history: ${h.versions.length} versions in ${historyMs.toFixed(0)} ms; diff oldest → latest (${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed) in ${diffMs.toFixed(0)} ms (target < 1 s each)\n`,
    );
    process.stdout.write(
      `On disk: ${(h.totalBytes / MB).toFixed(0)} MB for ${h.versions.length} versions = one backup (${(one / MB).toFixed(0)} MB) + ${(((h.totalBytes - one) / MB) | 0).toString()} MB; du ${(duNow / MB).toFixed(0)} MB (the same in bytes: ${h.totalBytes === duNow ? 'yes' : `no, ${duNow - h.totalBytes}`})\n`,
    );
  } finally {
    await emu.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
