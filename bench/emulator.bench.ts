/**
 * Virtual iPhone backup benchmark: how fast the emulator streams a full mobilebackup2 backup to a
 * host that discards the bytes, over loopback TCP, with the service's TLS off (target >= 1 GB/s)
 * and then on.
 *
 * The emulator runs in a child process and the null client in this one, so the device side
 * (generating and sending) and the host side (receiving and parsing) each have a core, as a real
 * phone and computer would. `--in-process` runs both in this process instead. After each run a
 * bare TCP socket pair between the same two processes moves 1 GiB, for reference: no stream over
 * loopback can beat it, so it tells a slow machine from slow code.
 *
 * Run: npm run bench:emulator [-- --files 20000 --gib 2] [--no-tls-run] [--in-process]
 *   --files N   files on the phone (default: the big profile, 200 000)
 *   --gib G     size of the video, GiB (default: the big profile, 4.5)
 *   --mib M     bytes of the other files together, MiB (default: the big profile, 2048)
 *   --default-malloc  the allocator's default settings (see KEEP_FREED_MEMORY)
 *   IBACKUP_BENCH_CHILD_ARGS  extra node options for the emulator's process (e.g. --cpu-prof)
 * The same settings can be given as IBACKUP_BENCH_FILES, IBACKUP_BENCH_GIB, IBACKUP_BENCH_MIB.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openHost } from '../src/app/context.js';
import { pairDevice } from '../src/app/pair.js';
import { selectDevice } from '../src/app/select-device.js';
import { DeviceContent, type DeviceEntry } from '../src/emulator/content/index.js';
import { Emulator } from '../src/emulator/emulator.js';
import { builtInProfile, type ProfileOverrides } from '../src/emulator/profile.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client, type BackupTarget } from '../src/host/services/mobilebackup2.js';
import { numberValue } from '../src/protocol/plist/index.js';
import { numberOption } from './options.js';

const TARGET = 1e9;

/** CPU time this process has used (user + system), ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The part of it spent in the kernel (system calls, page faults), ms. */
function sysMs(): number {
  return process.cpuUsage().system / 1000;
}

/** Minor page faults of this process so far (each a page of memory the kernel had to map in). */
function faults(): number {
  return process.resourceUsage().minorPageFault;
}
const GIB = 2 ** 30;

interface Settings {
  files: number;
  bytes: number;
  video: number;
}

/** Messages from the emulator process. */
type ChildMessage =
  | {
      type: 'ready';
      address: string;
      blastPort: number;
      generatorRate: number;
      cpuMs: number;
      sysMs: number;
      faults: number;
    }
  | { type: 'stats'; maxRssKb: number; cpuMs: number; sysMs: number; faults: number };

function option(name: string, envName: string): number | undefined {
  return numberOption(name, envName, { allowZero: true });
}

function settings(): Settings {
  const big = builtInProfile('big').content;
  const gib = option('--gib', 'IBACKUP_BENCH_GIB');
  const mib = option('--mib', 'IBACKUP_BENCH_MIB');
  return {
    files: Math.round(option('--files', 'IBACKUP_BENCH_FILES') ?? big.files),
    bytes: mib === undefined ? big.bytes : Math.round(mib * 2 ** 20),
    video: gib === undefined ? (big.hugeFiles[0] ?? 0) : Math.round(gib * GIB),
  };
}

function profileFor(s: Settings, tls: boolean): ProfileOverrides {
  return {
    name: 'big',
    extends: 'big',
    behaviour: { serviceTls: { mobilebackup2: tls } },
    content: { files: s.files, bytes: s.bytes, hugeFiles: s.video > 0 ? [s.video] : [] },
  };
}

/** The content generator alone: 1 GiB of a generated video's bytes. */
async function generatorRate(): Promise<number> {
  const size = GIB;
  const content = DeviceContent.build({ seed: 3, files: 1, bytes: 1024, hugeFiles: [size] });
  const entry = [...content.entries()].find((e) => e.kind === 'file' && e.size === size) as DeviceEntry;
  const t = performance.now();
  let n = 0;
  for await (const chunk of content.openContent(entry)) n += chunk.length;
  return n / ((performance.now() - t) / 1000);
}

/** Starts an emulator listening on loopback TCP; returns its address and a way to stop it. */
async function startEmulator(s: Settings, tls: boolean, stateDir: string): Promise<Emulator> {
  // The phone's modelled waits (the minute an iOS 16.1+ phone prepares) are not what is measured.
  return Emulator.start({ stateDir, profile: profileFor(s, tls), listen: '127.0.0.1:0', timeScale: 0.001 });
}

// ---- the bare socket reference ----

/** Bytes the bare TCP reference sends. */
const BLAST_BYTES = GIB;

/** A loopback server that sends BLAST_BYTES of one reused 1 MiB buffer to each client, then ends. */
async function startBlaster(): Promise<Server> {
  const buf = Buffer.alloc(1 << 20, 0x5a);
  const server = createServer((socket) => {
    let sent = 0;
    const pump = (): void => {
      while (sent < BLAST_BYTES) {
        sent += buf.length;
        if (!socket.write(buf)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    socket.on('error', () => socket.destroy());
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** What a bare TCP socket pair moves between the two processes now: the ceiling of any stream. */
async function bareSocketRate(port: number): Promise<number> {
  const t = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (d: Buffer) => {
      n += d.length;
    });
    socket.once('end', () => resolve());
    socket.once('error', reject);
  });
  return n / ((performance.now() - t) / 1000);
}

// ---- the emulator process ----

async function serveChild(): Promise<void> {
  const s = JSON.parse(process.env.IBACKUP_BENCH_SETTINGS ?? '{}') as Settings;
  const tls = process.env.IBACKUP_BENCH_TLS === '1';
  const stateDir = process.env.IBACKUP_BENCH_STATE ?? '';
  const rate = await generatorRate();
  const emulator = await startEmulator(s, tls, stateDir);
  const blaster = await startBlaster();
  const send = (m: ChildMessage): void => void process.send?.(m);
  process.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    send({ type: 'stats', maxRssKb: process.resourceUsage().maxRSS, cpuMs: cpuMs(), sysMs: sysMs(), faults: faults() });
    blaster.close();
    void emulator.close().then(() => process.disconnect());
  });
  send({
    type: 'ready',
    address: emulator.socketAddress,
    blastPort: (blaster.address() as AddressInfo).port,
    generatorRate: rate,
    cpuMs: cpuMs(),
    sysMs: sysMs(),
    faults: faults(),
  });
}

// ---- the host process ----

/** A backup target that keeps nothing: every byte is discarded. */
function nullTarget(): BackupTarget {
  const enoent = (): Error => Object.assign(new Error('No such file or directory'), { code: 'ENOENT' });
  // One writer for every file (it keeps nothing), so no objects are made per file.
  const sink = { write: async () => undefined, commit: async () => undefined, abort: async () => undefined };
  return {
    createFile: async () => sink,
    readFile: (): AsyncIterable<Uint8Array> => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(enoent()) }),
    }),
    mkdirp: async () => undefined,
    move: async () => undefined,
    remove: async () => undefined,
    copy: async () => undefined,
    list: async () => [],
    freeSpace: async () => 2 ** 52,
  };
}

interface RunResult {
  seconds: number;
  /** From the first byte of file data to the last (the steady part of the stream), s. */
  streamSeconds: number;
  /** Bytes received in that span. */
  streamBytes: number;
  /** CPU time of this process during the run, ms. */
  hostCpuMs: number;
  /** The kernel's part of it, ms. */
  hostSysMs: number;
  hostFaults: number;
  bytes: number;
  files: number;
  code: number;
}

/** Pairs with the emulator at `address` and runs one full backup into the null target. */
async function backupOnce(address: string, hostDir: string): Promise<RunResult> {
  const ctx = openHost({ usbmuxd: address, ownDir: hostDir, systemDirs: [] });
  const device = await selectDevice(ctx);
  await pairDevice(device, { retryMs: 100 });
  const mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
  try {
    await mb2.handshake();
    let bytes = 0;
    let files = 0;
    let firstAt = 0;
    let lastAt = 0;
    let firstBytes = 0;
    const request = {
      MessageName: 'Backup',
      TargetIdentifier: device.udid,
      SourceIdentifier: device.udid,
      Options: { ForceFullBackup: true },
    };
    const t = performance.now();
    const cpu0 = cpuMs();
    const sys0 = sysMs();
    const faults0 = faults();
    const trace =
      process.env.IBACKUP_BENCH_TRACE === '1'
        ? setInterval(
            () =>
              console.log(
                `  ${((performance.now() - t) / 1000).toFixed(1)} s: ${files} files, ${(bytes / 1e6).toFixed(0)} MB`,
              ),
            1000,
          )
        : undefined;
    const response = await mb2.run(request, nullTarget(), {
      bytes: (n) => {
        if (firstAt === 0) {
          firstAt = performance.now();
          firstBytes = bytes;
        }
        bytes += n;
        lastAt = performance.now();
      },
      fileReceived: () => {
        files++;
      },
    });
    const seconds = (performance.now() - t) / 1000;
    clearInterval(trace);
    const stream = { streamSeconds: (lastAt - firstAt) / 1000, streamBytes: bytes - firstBytes };
    return {
      seconds,
      ...stream,
      hostCpuMs: cpuMs() - cpu0,
      hostSysMs: sysMs() - sys0,
      hostFaults: faults() - faults0,
      bytes,
      files,
      code: numberValue(response.ErrorCode) ?? -1,
    };
  } finally {
    await mb2.disconnect();
  }
}

function waitFor<T extends ChildMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ChildMessage): void => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`the emulator process ended (${code ?? 'signal'})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

interface Measured extends RunResult {
  generatorRate: number;
  emulatorRssKb: number;
  /** CPU time of the emulator process from its start of service to its end, ms (0 in-process). */
  emulatorCpuMs: number;
  /** The kernel's part of it, ms. */
  emulatorSysMs: number;
  emulatorFaults: number;
  /** A bare TCP socket pair between the same processes right after the run, bytes/s. */
  bareRate: number;
}

async function measure(s: Settings, tls: boolean, dir: string, inProcess: boolean): Promise<Measured> {
  const stateDir = join(dir, tls ? 'phone-tls' : 'phone');
  const hostDir = join(dir, tls ? 'host-tls' : 'host');
  if (inProcess) {
    const generator = await generatorRate();
    const emulator = await startEmulator(s, tls, stateDir);
    const blaster = await startBlaster();
    try {
      const run = await backupOnce(emulator.socketAddress, hostDir);
      const bareRate = await bareSocketRate((blaster.address() as AddressInfo).port);
      return {
        ...run,
        generatorRate: generator,
        emulatorRssKb: 0,
        emulatorCpuMs: 0,
        emulatorSysMs: 0,
        emulatorFaults: 0,
        bareRate,
      };
    } finally {
      blaster.close();
      await emulator.close();
    }
  }
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: [...process.execArgv, ...(process.env.IBACKUP_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean)],
    env: {
      ...process.env,
      IBACKUP_BENCH_SETTINGS: JSON.stringify(s),
      IBACKUP_BENCH_TLS: tls ? '1' : '0',
      IBACKUP_BENCH_STATE: stateDir,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await waitFor(child, 'ready');
    const run = await backupOnce(ready.address, hostDir);
    const bareRate = await bareSocketRate(ready.blastPort);
    const stats = waitFor(child, 'stats');
    child.send('stop');
    const end = await stats;
    return {
      ...run,
      generatorRate: ready.generatorRate,
      emulatorRssKb: end.maxRssKb,
      emulatorCpuMs: end.cpuMs - ready.cpuMs,
      emulatorSysMs: end.sysMs - ready.sysMs,
      emulatorFaults: end.faults - ready.faults,
      bareRate,
    };
  } finally {
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

const gb = (n: number): string => `${(n / 1e9).toFixed(2)} GB/s`;
const mbs = (n: number): string => `${(n / 1e6).toFixed(0)} MB/s`;
const rss = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;

function report(label: string, m: Measured, inProcess: boolean): void {
  const rate = m.bytes / m.seconds;
  console.log(`${label}:`);
  console.log(
    `  ${m.files} files, ${(m.bytes / GIB).toFixed(2)} GiB in ${m.seconds.toFixed(2)} s (response code ${m.code})`,
  );
  console.log(`  ${mbs(rate)} = ${gb(rate)}, ${(m.files / m.seconds).toFixed(0)} files/s (the whole run)`);
  if (m.streamSeconds > 0) {
    const start = m.seconds - m.streamSeconds;
    console.log(
      `  while data streamed: ${gb(m.streamBytes / m.streamSeconds)} over ${m.streamSeconds.toFixed(2)} s (planning before it and the rest of the run: ${start.toFixed(2)} s)`,
    );
  }
  console.log(`  content generator alone: ${gb(m.generatorRate)}`);
  console.log(
    `  a bare TCP socket pair between the same processes right after: ${gb(m.bareRate)} (the ceiling of any stream on this machine now)`,
  );
  const perGib = (ms: number): string => `${(ms / 1000 / (m.bytes / GIB)).toFixed(2)} s`;
  const side = (ms: number, sys: number): string => `${perGib(ms)} (${perGib(sys)} of it in the kernel)`;
  console.log(
    inProcess
      ? `  CPU per GiB: ${side(m.hostCpuMs, m.hostSysMs)} (both sides)`
      : `  CPU per GiB: emulator ${side(m.emulatorCpuMs, m.emulatorSysMs)} (pairing included), null client ${side(m.hostCpuMs, m.hostSysMs)}`,
  );
  if (!inProcess) console.log(`  minor page faults: emulator ${m.emulatorFaults}, null client ${m.hostFaults}`);
  const host = `host ${rss(process.resourceUsage().maxRSS)}`;
  console.log(
    `  peak RSS: ${inProcess ? `${host} (emulator and host in one process)` : `${host}, emulator ${rss(m.emulatorRssKb)}`}`,
  );
}

async function main(): Promise<void> {
  const s = settings();
  const inProcess = process.argv.includes('--in-process');
  const withTls = !process.argv.includes('--no-tls-run');
  const dir = await mkdtemp(join(tmpdir(), 'ibackup-bench-'));
  console.log(
    `load average (1, 5, 15 min) at the start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')} on ${cpus().length} cores`,
  );
  console.log(
    `virtual iPhone backup over loopback TCP: ${s.files} files + ${(s.bytes / GIB).toFixed(2)} GiB, video ${(s.video / GIB).toFixed(2)} GiB; ` +
      `${inProcess ? 'emulator and null client in one process' : 'emulator in a child process, null client here'}`,
  );
  try {
    const plain = await measure(s, false, dir, inProcess);
    report('mobilebackup2 without TLS', plain, inProcess);
    const rate = plain.bytes / plain.seconds;
    const met = rate >= TARGET && plain.code === 0;
    console.log(
      met
        ? `  target >= ${gb(TARGET)}: OK`
        : `  target >= ${gb(TARGET)}: SLOW — NOT MET (${gb(rate)} for the whole run${plain.code === 0 ? '' : `, response code ${plain.code}`})`,
    );
    if (withTls) report('mobilebackup2 with TLS', await measure(s, true, dir, inProcess), inProcess);
    console.log(
      `load average (1, 5, 15 min) at the end: ${loadavg()
        .map((n) => n.toFixed(2))
        .join(', ')} on ${cpus().length} cores`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * glibc's allocator gives freed memory at the top of its heap back to the kernel, and Node's
 * 64 KiB socket read buffers are freed by the hundred thousand in a run: each time the memory is
 * taken again the kernel maps it in page by page (up to 700 000 page faults a run, doubling the
 * null client's kernel time, and differently from run to run). Both processes are run with the
 * allocator keeping what it frees (the settings are ignored elsewhere); `--default-malloc` runs
 * without them.
 */
const KEEP_FREED_MEMORY = { MALLOC_TRIM_THRESHOLD_: String(2 ** 32), MALLOC_TOP_PAD_: String(2 ** 28) };

if (process.argv.includes('--serve')) await serveChild();
else if (!process.argv.includes('--default-malloc') && process.env.MALLOC_TRIM_THRESHOLD_ === undefined) {
  const again = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, ...KEEP_FREED_MEMORY },
    },
  );
  process.exitCode = again.status ?? 1;
} else {
  if (process.env.MALLOC_TRIM_THRESHOLD_ !== undefined)
    console.log(
      'allocator: freed memory kept (MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_); --default-malloc runs without',
    );
  await main();
}
