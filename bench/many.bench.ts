/**
 * Many phones at once: N virtual iPhones (typical profile) behind one emulator process, each
 * backed up in full one after another (`ibackup -u UDID backup --full`, one process per phone),
 * then all at once (`ibackup backup --all --full --parallel N`, one process). Prints each pass's
 * wall time, the bytes received, the aggregate MB/s, and the peak RSS of the ibackup process
 * (from /usr/bin/time) against the target of 200 MB + 30 MB per phone running. ibackup runs from
 * a build made at the start. Not a test: it fails only when a backup fails.
 *
 * Run: npm run bench:many [-- --phones 8 --time-scale 0.001]
 *   (or IBACKUP_BENCH_PHONES, IBACKUP_BENCH_TIME_SCALE)
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { numberOption } from './options.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(REPO, 'dist', 'cli', 'main.js');
const MB = 1e6;

interface Timed {
  stdout: string;
  seconds: number;
  rssMb: number;
}

/** Runs ibackup under /usr/bin/time: its stdout, elapsed seconds and peak RSS. */
function timedIbackup(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((done, fail) => {
    execFile(
      '/usr/bin/time',
      ['-f', 'BENCH %e %M', process.execPath, MAIN, ...args],
      { env, maxBuffer: 64 * 1024 * 1024, cwd: REPO },
      (err, stdout, stderr) => {
        const m = /BENCH ([\d.]+) (\d+)/.exec(stderr);
        if (err || !m) fail(new Error(`ibackup ${args.join(' ')} failed: ${String(err)}\n${stderr.slice(-2000)}`));
        else done({ stdout, seconds: Number(m[1]), rssMb: Number(m[2]) / 1024 });
      },
    );
  });
}

/** Starts the emulator in its own process; resolves with its address once it listens. */
async function startEmulator(dir: string, phones: number, timeScale: number) {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'emulator',
      'start',
      '--state',
      join(dir, 'state'),
      '--listen',
      `UNIX:${join(dir, 'mux.sock')}`,
      '--profile',
      'typical',
      '--devices',
      String(phones),
      '--time-scale',
      String(timeScale),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO },
  );
  const udids: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    for (const m of s.matchAll(/UDID (\S+)/g)) udids.push(m[1] as string);
  });
  const line = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout }).once('line', done);
    child.once('exit', (code) => fail(new Error(`the emulator exited (${code})`)));
  });
  await new Promise((r) => setTimeout(r, 200));
  return { child, address: line.replace(/^USBMUXD_SOCKET_ADDRESS=/, ''), udids };
}

function report(name: string, phones: number, t: Timed, bytes: number): void {
  const target = 200 + 30 * phones;
  console.log(
    `${name.padEnd(28)} ${t.seconds.toFixed(1).padStart(6)} s  ${(bytes / MB).toFixed(0).padStart(6)} MB  ` +
      `${(bytes / MB / t.seconds).toFixed(1).padStart(6)} MB/s  peak RSS ${t.rssMb.toFixed(0).padStart(4)} MB ` +
      `(target ≤ ${target} MB: ${t.rssMb <= target ? 'met' : 'NOT met'})`,
  );
}

async function main(): Promise<void> {
  const phones = numberOption('--phones', 'IBACKUP_BENCH_PHONES') ?? 8;
  const timeScale = numberOption('--time-scale', 'IBACKUP_BENCH_TIME_SCALE') ?? 0.001;
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');
  const dir = await mkdtemp(join(tmpdir(), 'ibackup-bench-many-'));
  const emu = await startEmulator(dir, phones, timeScale);
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), NO_COLOR: '1' };
    delete env.USBMUXD_SOCKET_ADDRESS;
    const base = ['--usbmuxd', emu.address];
    for (const u of emu.udids) await timedIbackup([...base, '-u', u, '--json', 'pair'], env);
    console.log(
      `${phones} virtual iPhones (typical profile), time scale ${timeScale}, ${process.platform}, Node ${process.version}`,
    );

    let seqSeconds = 0;
    let seqBytes = 0;
    let seqRss = 0;
    for (const u of emu.udids) {
      const t = await timedIbackup(
        [...base, '--backup-dir', join(dir, 'one-by-one'), '-u', u, '--json', 'backup', '--full'],
        env,
      );
      seqSeconds += t.seconds;
      seqBytes += (JSON.parse(t.stdout) as { bytesReceived: number }).bytesReceived;
      seqRss = Math.max(seqRss, t.rssMb);
    }
    report('one after another (1 at once)', 1, { stdout: '', seconds: seqSeconds, rssMb: seqRss }, seqBytes);

    const all = await timedIbackup(
      [...base, '--backup-dir', join(dir, 'all'), '--json', 'backup', '--all', '--full', '--parallel', String(phones)],
      env,
    );
    const results = (JSON.parse(all.stdout) as { results: { ok: boolean; bytesReceived?: number }[] }).results;
    if (results.some((r) => !r.ok)) throw new Error(`backup --all: ${all.stdout}`);
    const allBytes = results.reduce((n, r) => n + (r.bytesReceived ?? 0), 0);
    report(`backup --all --parallel ${phones}`, phones, all, allBytes);
    console.log(`speed-up: ${(seqSeconds / all.seconds).toFixed(2)}×`);
  } finally {
    emu.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
