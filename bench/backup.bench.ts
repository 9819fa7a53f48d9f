/**
 * Backup throughput: four clients back up the same virtual iPhone, with the same emulator
 * settings (printed, service TLS included), each in its own process under /usr/bin/time:
 *  - a null client that receives the mobilebackup2 stream and discards it (this machine's limit),
 *  - a minimal durable writer (see clientSource: the limit for a client that keeps the backup),
 *  - `ibackup backup --full`,
 *  - `idevicebackup2 backup --full` (skipped when not installed),
 * then an incremental `ibackup backup` after 1% of the files changed, then a restore of that
 * backup (system files included, no reboot) with `ibackup restore`, whose time includes its check
 * of the backup, and with `idevicebackup2 restore`. A first null-client pass
 * warms the emulator's content. ibackup and the null client run from a build made at the start. Prints wall time, MB/s,
 * files/s, CPU time (also per GiB and per 1 000 files), peak RSS and the ratios. Not a test: it fails only when a client fails.
 *
 * Run: npm run bench:backup [-- --files 20000 --mib 2048]
 *   (or IBACKUP_BENCH_FILES, IBACKUP_BENCH_MIB); --no-idevicebackup2 skips the third client;
 *   --no-restore skips the restores (the virtual iPhone's side of a restore takes minutes at
 *   the big size); --no-wait starts at once after a previous run (see waitAfterLastCleanup);
 *   IBACKUP_BENCH_IBACKUP_ARGS passes Node.js options to ibackup's runs only (e.g. `--cpu-prof
 *   --cpu-prof-dir=/tmp/prof`), IBACKUP_BENCH_IBACKUP_WRAP a command to run them under (e.g.
 *   `perf record -g -o /tmp/perf.data --`; its own CPU time is then counted in ibackup's).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { numberOption } from './options.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1e6;

function option(name: string, envName: string, dflt: number): number {
  return numberOption(name, envName) ?? dflt;
}

interface Run {
  name: string;
  seconds: number;
  /** CPU seconds of the client's process (user + system). */
  cpu: number;
  /** Of those, the seconds spent in the kernel (system time). */
  sys: number;
  rssMb: number;
  bytes: number;
  files: number;
}

/** Runs a command under /usr/bin/time; returns its output, elapsed seconds, CPU seconds and peak RSS. */
function timed(
  cmd: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; seconds: number; cpu: number; sys: number; rssMb: number }> {
  return new Promise((done, fail) => {
    execFile(
      '/usr/bin/time',
      ['-f', 'BENCH %e %M %U %S', ...cmd],
      { env, maxBuffer: 64 * 1024 * 1024, cwd: REPO },
      (err, stdout, stderr) => {
        const m = /BENCH ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
        if (err || !m) {
          fail(new Error(`${cmd.join(' ')} failed: ${String(err)}\n${stderr.slice(-2000)}`));
          return;
        }
        done({
          stdout,
          seconds: Number(m[1]),
          cpu: Number(m[3]) + Number(m[4]),
          sys: Number(m[4]),
          rssMb: Number(m[2]) / 1024,
        });
      },
    );
  });
}

/**
 * The null client, run from the built modules like ibackup: receives every file of a full
 * backup and keeps nothing (Status.plist absent, so the device sends everything).
 * With `writer`, the minimal durable writer instead: each file is written once under the name it
 * is uploaded to (no temporary name, no check of the path, nothing kept about it, data written as
 * it comes a megabyte at a time), the device's folder requests are carried out as asked (folders
 * made, its uploads moved out of Snapshot/ into place, Snapshot/ removed: without them there is
 * no backup, only staged uploads), then the disk is flushed once (syncfs): the least any client
 * that stores a backup safely must do, so its rate is the most such a client can reach here.
 */
function clientSource(dist: string, writer = false): string {
  const mod = (p: string): string => JSON.stringify(pathToFileURL(join(dist, p)).href);
  const createFile = writer
    ? `async (p) => {
    const local = join(out, p);
    const dir = dirname(local);
    if (!dirs.has(dir)) { mkdirSync(dir, { recursive: true }); dirs.add(dir); }
    const fd = openSync(local, 'w');
    let parts = [], n = 0;
    return {
      write: async (c) => { bytes += c.length; parts.push(c); n += c.length; if (n >= 1048576) { writevSync(fd, parts); parts = []; n = 0; } },
      commit: async () => { if (parts.length > 0) writevSync(fd, parts); closeSync(fd); files++; },
      abort: async () => { closeSync(fd); },
    };
  }`
    : `async () => ({ write: async (c) => { bytes += c.length; }, commit: async () => { files++; }, abort: async () => {} })`;
  return `
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writevSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { openHost } from ${mod('app/context.js')};
import { selectDevice } from ${mod('app/select-device.js')};
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client } from ${mod('host/services/mobilebackup2.js')};
const udid = process.env.BENCH_UDID;
const ctx = openHost({ usbmuxd: process.env.USBMUXD_SOCKET_ADDRESS, ownDir: process.env.XDG_CONFIG_HOME + '/ibackup/lockdown', systemDirs: [], timeoutMs: 10000 });
const device = await selectDevice(ctx, udid);
const mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
await mb2.handshake();
let bytes = 0, files = 0;
const out = process.env.BENCH_OUT;
const dirs = new Set();
const enoent = () => Object.assign(new Error('absent'), { code: 'ENOENT' });
const target = {
  createFile: ${createFile},
  readFile: async function* () { throw enoent(); },
  ...(out ? {
    mkdirp: async (p) => { mkdirSync(join(out, p), { recursive: true }); },
    move: async (a, b) => { renameSync(join(out, a), join(out, b)); },
    remove: async (p) => { rmSync(join(out, p), { recursive: true, force: true }); },
  } : { mkdirp: async () => {}, move: async () => {}, remove: async () => {} }),
  copy: async () => {},
  list: async () => [], freeSpace: async () => 2 ** 52,
};
const r = await mb2.run({ MessageName: 'Backup', TargetIdentifier: udid, SourceIdentifier: udid, Options: { ForceFullBackup: true } }, target);
await mb2.disconnect();
if (r.ErrorCode !== 0) throw new Error('the device answered ' + JSON.stringify(r));
if (out) execFileSync('sync', ['--file-system', out]);
process.stdout.write(JSON.stringify({ bytes, files }) + '\\n');
process.exit(0);
`;
}

const GIB = 1024 ** 3;
const cpuPerGib = (r: Run): number => r.cpu / (r.bytes / GIB);
const cpuPerKfiles = (r: Run): number => r.cpu / (r.files / 1000);

function row(r: Run): string {
  return [
    r.name.padEnd(36),
    `${r.seconds.toFixed(1).padStart(7)} s`,
    `${(r.bytes / MB / r.seconds).toFixed(0).padStart(6)} MB/s`,
    `${(r.files / r.seconds).toFixed(0).padStart(7)} files/s`,
    `${r.cpu.toFixed(1).padStart(6)} s CPU (${r.sys.toFixed(1)} s kernel)`,
    `(${cpuPerGib(r).toFixed(2)} s/GiB, ${cpuPerKfiles(r).toFixed(3)} s/1 000 files)`,
    `${r.rssMb.toFixed(0).padStart(5)} MB peak RSS`,
  ].join(' ');
}

type Timed = Awaited<ReturnType<typeof timed>>;

/** A client's run in the table: its name, its timing, and the bytes and files it received. */
function asRun(name: string, t: Timed, got: { bytes: number; files: number }): Run {
  return { name, seconds: t.seconds, cpu: t.cpu, sys: t.sys, rssMb: t.rssMb, bytes: got.bytes, files: got.files };
}

/**
 * Restores the ibackup backup (the full and the incremental) to the same virtual iPhone, system
 * files included, no reboot: `ibackup restore` (which checks the backup first), then
 * `idevicebackup2 restore` from the same folder. The files and bytes are the full backup's.
 */
async function restores(
  ibackup: (args: string[]) => string[],
  env: NodeJS.ProcessEnv,
  udid: string,
  dir: string,
  withIdb: boolean,
  full: Run,
): Promise<Run[]> {
  const out: Run[] = [];
  settle();
  const ib = await timed(ibackup(['--backup-dir', dir, 'restore', '--system', '--no-reboot']), env);
  out.push(asRun('ibackup restore', ib, full));
  if (withIdb) {
    settle();
    const cmd = ['idevicebackup2', '-u', udid, 'restore', '--system', '--no-reboot', dir];
    const idb = await timed(cmd, env);
    out.push(asRun('idevicebackup2 restore', idb, full));
  }
  return out;
}

/**
 * Each client starts with nothing of another's waiting to be written: a client that flushes the
 * disk (ibackup's syncfs) would otherwise also pay for the data the previous client left dirty.
 * Where allowed (root on Linux), the clean page cache is dropped too, so each client finds the
 * same free memory: once earlier runs have filled memory with cached file data, every page a
 * client writes must first be reclaimed from that cache, in the writer's own kernel time (seen
 * here: 5.9 s of system time for ibackup's full backup with memory full of cached data, 3–4 s
 * after dropping it).
 */
function settle(): void {
  spawnSync('sync', [], { stdio: 'ignore' });
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    // not root, or not Linux: the figures then depend on what earlier runs left in memory
  }
}

/**
 * The least a complete earlier version costs: the incremental keeps the backup it replaced as a
 * complete folder in Apple's format (backup history), which needs a name for every file the run
 * left unchanged, each a hard link to the current file. `cp -al` (GNU coreutils) of the backup
 * does exactly that (one look and one link per file) without anything else: its CPU time is the
 * floor of that part of an incremental on this machine. Undefined where `cp -al` is missing.
 */
async function versionFloor(
  from: string,
  to: string,
  env: NodeJS.ProcessEnv,
): Promise<{ files: number; cpu: number; seconds: number } | undefined> {
  if (spawnSync('cp', ['-al', '--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const r = await timed(['cp', '-al', from, to], env);
  const counted = spawnSync('find', [to, '-type', 'f'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const files = counted.stdout.split('\n').filter(Boolean).length;
  await rm(to, { recursive: true, force: true });
  return { files, cpu: r.cpu, seconds: r.seconds };
}

/**
 * idevicebackup2's incremental over its own full backup, after the same change: the phone's side of
 * an incremental (its Manifest.db down and up, the changed files, the moves) with nothing kept and
 * nothing flushed — the least any client pays for that part. Both backups held the phone's state
 * before the change, so the phone sends both the same files: the bytes are ibackup's count of them.
 */
async function idbIncrementalRun(
  env: NodeJS.ProcessEnv,
  udid: string,
  dir: string,
  changed: number,
  bytes: number,
): Promise<Run> {
  settle();
  const r = await timed(['idevicebackup2', '-u', udid, 'backup', dir], env);
  const files = Number(/Received (\d+) files/.exec(r.stdout)?.[1] ?? NaN);
  return asRun(`idevicebackup2 incremental (${changed} changed)`, r, { bytes, files });
}

/** Where a run notes when it deleted its backups (its modification time). */
const CLEANUP_MARK = join(tmpdir(), 'ibackup-bench-backup.cleanup');
const QUIET_MS = 6 * 60_000;

/**
 * Waits until the previous run's deletion of its backups is QUIET_MS old. Reason, measured: ext4
 * without a journal will not reuse an inode freed in the last 60 s (360 s while its inode-table
 * block is unwritten), and its allocator looks at every such inode again for each new file:
 * right after a 20 000-file backup was deleted, creating 20 000 empty files cost 2.7 s of kernel
 * time instead of 0.3 s, and ibackup's full backup took 10 CPU-seconds and more instead of about
 * 7, by chance of which block groups the new folders land in. Any client of a run that starts
 * too soon pays for it, unevenly.
 */
async function waitAfterLastCleanup(): Promise<void> {
  const mark = await stat(CLEANUP_MARK).catch(() => undefined);
  const wait = mark ? mark.mtimeMs + QUIET_MS - Date.now() : 0;
  if (wait <= 0 || wait > QUIET_MS) return;
  const recent = `the previous run deleted its backups less than ${QUIET_MS / 60_000} minutes ago, and some file systems (ext4 without a journal) create files slower until then`;
  if (process.argv.includes('--no-wait')) {
    process.stdout.write(`Note: ${recent}.\n`);
    return;
  }
  process.stdout.write(`Waiting ${Math.ceil(wait / 1000)} s: ${recent} (--no-wait skips this).\n`);
  await new Promise((r) => setTimeout(r, wait));
}

async function main(): Promise<void> {
  await waitAfterLastCleanup();
  const files = option('--files', 'IBACKUP_BENCH_FILES', 20_000);
  const mib = option('--mib', 'IBACKUP_BENCH_MIB', 2048);
  const withIdb =
    !process.argv.includes('--no-idevicebackup2') &&
    spawnSync('sh', ['-c', 'command -v idevicebackup2'], { stdio: 'ignore' }).status === 0;
  const tmp = await mkdtemp(join(tmpdir(), 'ibackup-bench-'));
  // Built modules and the bundled CLI, as users run them (tsx would add its start-up time and memory
  // to every figure).
  // Inside the repository, so the built modules find its node_modules.
  const dist = join(REPO, 'node_modules', '.cache', `ibackup-bench-${process.pid}`);
  process.stdout.write('Building into a temporary folder…\n');
  const built = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', dist],
    { cwd: REPO, stdio: 'inherit' },
  );
  const bundled =
    built.status === 0 &&
    spawnSync(process.execPath, [join(REPO, 'scripts/bundle-cli.mjs'), dist], { cwd: REPO, stdio: 'inherit' })
      .status === 0;
  if (!bundled) throw new Error('the build failed');
  const CLI = [process.execPath, join(dist, 'cli/main.js')];
  // Node.js options, and a command to run it under, for ibackup's own runs only (see the top).
  const ibackupArgs = (process.env.IBACKUP_BENCH_IBACKUP_ARGS ?? '').split(' ').filter(Boolean);
  const wrap = (process.env.IBACKUP_BENCH_IBACKUP_WRAP ?? '').split(' ').filter(Boolean);
  const IBACKUP = [...wrap, process.execPath, ...ibackupArgs, join(dist, 'cli/main.js')];
  await writeFile(join(tmp, 'null-client.mjs'), clientSource(dist));
  await writeFile(join(tmp, 'writer-client.mjs'), clientSource(dist, true));
  const profile = { extends: 'big', content: { seed: 3, files, bytes: mib * 1024 * 1024, hugeFiles: [] } };
  await writeFile(join(tmp, 'profile.json'), JSON.stringify(profile));
  const emu = spawn(
    CLI[0] as string,
    [
      ...CLI.slice(1),
      'emulator',
      'start',
      '--listen',
      `UNIX:${join(tmp, 'mux.sock')}`,
      '--state',
      join(tmp, 'state'),
      '--profile',
      join(tmp, 'profile.json'),
      '--time-scale',
      '0.001',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const first = await new Promise<string>((done) => createInterface({ input: emu.stdout }).once('line', done));
    const address = first.replace(/^USBMUXD_SOCKET_ADDRESS=/, '');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      USBMUXD_SOCKET_ADDRESS: address,
      XDG_CONFIG_HOME: join(tmp, 'config'),
      NO_COLOR: '1',
    };
    const cli = (args: string[]): string[] => [...CLI, ...args];
    const ibackup = (args: string[]): string[] => [...IBACKUP, ...args];
    const devices = JSON.parse((await timed(cli(['--json', 'devices']), env)).stdout) as {
      devices: Array<{ udid: string }>;
    };
    const udid = devices.devices[0]?.udid as string;
    await timed(cli(['pair']), env);
    process.stdout.write(
      `Settings: ${files} files, ${mib} MiB (profile big, no huge file), mobilebackup2 TLS on, loopback UNIX socket, ${process.platform} ${process.arch}\n`,
    );

    const runs: Run[] = [];
    // A first pass warms the emulator's content (generated on first read), so no client pays for it.
    const nullCmd = [process.execPath, join(tmp, 'null-client.mjs')];
    await timed(nullCmd, { ...env, BENCH_UDID: udid });
    settle();
    const n = await timed(nullCmd, { ...env, BENCH_UDID: udid });
    const nr = JSON.parse(n.stdout) as { bytes: number; files: number };
    runs.push(asRun('null client', n, nr));
    settle();
    const w = await timed([process.execPath, join(tmp, 'writer-client.mjs')], {
      ...env,
      BENCH_UDID: udid,
      BENCH_OUT: join(tmp, 'writer'),
    });
    const wr = JSON.parse(w.stdout) as { bytes: number; files: number };
    runs.push(asRun('minimal durable writer', w, wr));
    const dir = join(tmp, 'ibackup');
    settle();
    const ib = await timed(ibackup(['--json', '--backup-dir', dir, 'backup', '--full']), env);
    const ir = JSON.parse(ib.stdout) as { bytesReceived: number; filesReceived: number };
    runs.push(asRun('ibackup', ib, { bytes: ir.bytesReceived, files: ir.filesReceived }));
    if (withIdb) {
      await mkdir(join(tmp, 'idb'));
      settle();
      const idb = await timed(['idevicebackup2', '-u', udid, 'backup', '--full', join(tmp, 'idb')], env);
      runs.push(asRun('idevicebackup2', idb, nr));
      // Kept until the end: deleting 20 000 files just before the incremental would slow its
      // file creation (ext4 skips recently freed inodes) for a reason of the benchmark's own.
    }
    const full = runs.find((r) => r.name === 'ibackup') as Run;
    const changed = Math.max(1, Math.round(files / 100));
    await timed(cli(['emulator', 'ctl', address, 'mutate', udid, 'modify', String(changed)]), env);
    settle();
    const inc = await timed(ibackup(['--json', '--backup-dir', dir, 'backup']), env);
    const incr = JSON.parse(inc.stdout) as { bytesReceived: number; filesReceived: number };
    runs.push(
      asRun(`ibackup incremental (${changed} changed)`, inc, { bytes: incr.bytesReceived, files: incr.filesReceived }),
    );
    const idbIncremental = withIdb
      ? await idbIncrementalRun(env, udid, join(tmp, 'idb'), changed, incr.bytesReceived)
      : undefined;
    if (idbIncremental !== undefined) runs.push(idbIncremental);
    const links = await versionFloor(join(dir, udid), join(tmp, 'links'), env);

    if (!process.argv.includes('--no-restore')) runs.push(...(await restores(ibackup, env, udid, dir, withIdb, full)));

    process.stdout.write(`${runs.map(row).join('\n')}\n`);
    const rate = (name: string): number | undefined => {
      const r = runs.find((x) => x.name === name);
      return r ? r.bytes / r.seconds : undefined;
    };
    const nul = rate('null client') as number;
    const ibk = rate('ibackup') as number;
    const idb = rate('idevicebackup2');
    process.stdout.write(
      `ibackup / null client: ${(ibk / nul).toFixed(2)} (target >= 0.90); ibackup ${(ibk / MB).toFixed(0)} MB/s (target >= 300)\n`,
    );
    const floor = rate('minimal durable writer') as number;
    process.stdout.write(
      `minimal durable writer / null client: ${(floor / nul).toFixed(2)} (${(floor / MB).toFixed(0)} MB/s: the most a client that keeps the backup safely reaches here); ibackup / minimal durable writer: ${(ibk / floor).toFixed(2)}\n`,
    );
    if (idb !== undefined)
      process.stdout.write(
        `ibackup / idevicebackup2: ${(ibk / idb).toFixed(2)} (target >= 1.5 where the null client leaves room)\n`,
      );
    const writer = runs.find((r) => r.name === 'minimal durable writer') as Run;
    process.stdout.write(
      `ibackup / minimal durable writer, rate: ${(ibk / floor).toFixed(2)} (target >= 0.95); CPU per GiB: ${(cpuPerGib(full) / cpuPerGib(writer)).toFixed(2)}, per 1 000 files: ${(cpuPerKfiles(full) / cpuPerKfiles(writer)).toFixed(2)} (target <= 1.3)\n`,
    );
    const ibr = runs.find((r) => r.name === 'ibackup restore');
    const idr = runs.find((r) => r.name === 'idevicebackup2 restore');
    if (ibr && idr)
      process.stdout.write(
        `restore, ibackup (its check included) / idevicebackup2, wall time: ${(ibr.seconds / idr.seconds).toFixed(2)} (target <= 1.1); CPU time: ${(ibr.cpu / idr.cpu).toFixed(1)}\n`,
      );
    const last = runs.find((r) => r.name.startsWith('ibackup incremental')) as Run;
    // The host's own time is its CPU time: the wall time of an incremental also holds the
    // device's work (finding what changed, building its Manifest.db), which the host only waits for.
    process.stdout.write(
      `incremental / full, host CPU time: ${((last.cpu / full.cpu) * 100).toFixed(1)}% (target <= 5%); wall time: ${((last.seconds / full.seconds) * 100).toFixed(1)}%\n`,
    );
    if (links !== undefined)
      process.stdout.write(
        `  of which no client keeping a complete earlier version can do without: ${links.files} hard links (cp -al of the backup, ${links.cpu.toFixed(2)} s CPU, ${links.seconds.toFixed(2)} s) = ${((links.cpu / full.cpu) * 100).toFixed(1)}% of the full's host CPU time\n`,
      );
    if (links !== undefined && idbIncremental !== undefined) {
      const floor = links.cpu + idbIncremental.cpu;
      process.stdout.write(
        `  the least any client keeping a complete earlier version spends: idevicebackup2's incremental (the phone's protocol, nothing kept) + those links = ${floor.toFixed(2)} s CPU = ${((floor / full.cpu) * 100).toFixed(1)}% of the full's; ibackup's incremental / that floor: ${(last.cpu / floor).toFixed(2)}\n`,
      );
    }
  } finally {
    emu.kill('SIGTERM');
    await new Promise((r) => emu.once('exit', r));
    await rm(tmp, { recursive: true, force: true });
    await rm(dist, { recursive: true, force: true });
    await writeFile(CLEANUP_MARK, `${new Date().toISOString()}\n`);
  }
}

await main();
