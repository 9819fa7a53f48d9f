/**
 * Encrypted-backup benchmark: ibackup's reader against OpenSSL on the same machine.
 *  1. Extraction: every file of an encrypted backup (>= 1 GiB by default, made by ibackup from an
 *     in-process virtual iPhone) written out by `files extract`'s code, against
 *     `openssl enc -d -aes-256-cbc` over the same ciphertext bytes as one CBC stream (file to
 *     file, on the same disk). A few of the largest blobs are also decrypted by OpenSSL with their
 *     own keys and compared byte for byte with what ibackup wrote.
 *  2. Key derivation: the two PBKDF2 stages of backup-format.md §6.4 (10 000 000 rounds of
 *     HMAC-SHA256 over DPSL, then 10 000 rounds of HMAC-SHA1 over SALT, the backup's own salts)
 *     against `openssl kdf` (both stages) and Python's hashlib.pbkdf2_hmac, all giving the same key.
 *  3. Reopening the backup with a cached derived key (`--save-key`): keybag, Manifest.db, ready.
 * Targets: extraction >= 80% of OpenSSL's throughput, derivation <= 1.1x OpenSSL, reopen < 100 ms.
 * Not a test: it fails only when something does not work; SLOW marks a missed target.
 *
 * Run: npm run bench:crypto [-- --mib 1024 --rounds 10000000]
 *   (or IBACKUP_BENCH_MIB, IBACKUP_BENCH_ROUNDS); e.g. `-- --mib 64 --rounds 100000` for a quick run.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { backupDevice } from '../src/app/backup.js';
import { openBackupView } from '../src/app/backup-view.js';
import { openHost } from '../src/app/context.js';
import { changeEncryption } from '../src/app/encryption.js';
import { extractFiles } from '../src/app/extract.js';
import { KeyCache } from '../src/backup/crypto/key-cache.js';
import { pairDevice } from '../src/app/pair.js';
import { selectDevice } from '../src/app/select-device.js';
import { fileKeyOf } from '../src/backup/crypto/decrypt.js';
import { deriveBackupKek, readBackupKeybag } from '../src/backup/crypto/keybag-unlock.js';
import { openBackup } from '../src/backup/open.js';
import { Emulator } from '../src/emulator/emulator.js';
import { numberOption } from './options.js';

const MB = 1e6;
const MIB = 2 ** 20;
const PW = 'a backup password for the benchmark';
const ZERO_IV = '0'.repeat(32);
const SHA1_ROUNDS = 10_000;

function option(name: string, envName: string, dflt: number): number {
  return numberOption(name, envName) ?? dflt;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v "${tool}"`], { stdio: 'ignore' }).status === 0;
}

/** Runs a program; resolves with its stdout and wall time (start-up included), rejects on failure. */
function run(cmd: string, args: readonly string[]): Promise<{ stdout: string; ms: number }> {
  const started = performance.now();
  return new Promise((done, fail) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * MIB }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || String(err)}`));
      else done({ stdout, ms: performance.now() - started });
    });
  });
}

function verdict(ok: boolean): string {
  return ok ? 'OK' : 'SLOW';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** An encrypted backup of an in-process virtual iPhone holding about `mib` MiB, made by ibackup. */
async function makeBackup(tmp: string, mib: number): Promise<{ dir: string; seconds: number }> {
  const emu = await Emulator.start({
    stateDir: join(tmp, 'state'),
    listen: `UNIX:${join(tmp, 'mux.sock')}`,
    // A little over the size asked for: the generator's total is approximate.
    profile: {
      extends: 'typical',
      content: { bytes: Math.round(mib * MIB * 1.04) },
      behaviour: { keyDerivationIterations: 1000 },
    },
    // The phone's modelled waits (passcode prompt, the minute an iOS 16.1+ phone prepares) are not what is measured.
    timeScale: 0.001,
  });
  try {
    const ctx = openHost({
      usbmuxd: emu.socketAddress,
      ownDir: join(tmp, 'lockdown'),
      systemDirs: [],
      timeoutMs: 60_000,
    });
    const device = await selectDevice(ctx);
    await pairDevice(device);
    const root = join(tmp, 'backups');
    await changeEncryption(device, 'on', { root, password: PW });
    const started = performance.now();
    const r = await backupDevice(device, { root });
    if (!r.encrypted) throw new Error('the backup is not encrypted');
    return { dir: r.path, seconds: (performance.now() - started) / 1000 };
  } finally {
    await emu.close();
  }
}

interface Blob {
  name: string;
  path: string;
  size: number;
  key: Uint8Array;
}

/** Every blob of the backup with its file key, read with the derived key. */
async function blobsOf(dir: string, kek: Uint8Array): Promise<Blob[]> {
  const backup = await openBackup(dir, { derivedKey: kek });
  try {
    const keys = backup.keys;
    if (keys === undefined) throw new Error('the backup did not unlock');
    const blobs: Blob[] = [];
    for (const row of backup.db.iterate({ flags: 1 })) {
      if (row.blobPath === undefined) continue;
      blobs.push({
        name: `${row.domain}/${row.relativePath}`,
        path: row.blobPath,
        size: (await stat(row.blobPath)).size,
        key: fileKeyOf(keys, row),
      });
    }
    return blobs;
  } finally {
    backup.close();
  }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: MIB })) h.update(c as Uint8Array);
  return h.digest('hex');
}

interface ExtractFigures {
  files: number;
  bytes: number;
  ibackupSeconds: number;
  opensslSeconds: number | undefined;
  checked: number;
}

async function benchExtraction(tmp: string, dir: string, keyCache: KeyCache, blobs: Blob[]): Promise<ExtractFigures> {
  const out = join(tmp, 'extracted');
  const cipherBytes = blobs.reduce((n, b) => n + b.size, 0);
  const started = performance.now();
  const view = await openBackupView(dir, {
    keyCache,
    password: () => Promise.reject(new Error('the cached key should open the backup')),
  });
  let result;
  try {
    result = await extractFiles(view, { out });
  } finally {
    view.close();
  }
  const ibackupSeconds = (performance.now() - started) / 1000;
  if (!result.ok)
    throw new Error(`extraction skipped ${result.skipped.length} files: ${JSON.stringify(result.skipped.slice(0, 3))}`);
  if (result.filesWritten !== blobs.length)
    throw new Error(`${result.filesWritten} files extracted, ${blobs.length} in the backup`);

  let opensslSeconds: number | undefined;
  let checked = 0;
  if (has('openssl')) {
    // The same ciphertext as one CBC stream, file to file: OpenSSL's throughput on this disk.
    const stream = join(tmp, 'stream.bin');
    const fh = await open(stream, 'w');
    try {
      for (const b of blobs) await fh.write(await readFile(b.path));
    } finally {
      await fh.close();
    }
    const first = blobs[0];
    if (first !== undefined) {
      const plain = join(tmp, 'stream.plain');
      const r = await run('openssl', [
        'enc',
        '-d',
        '-aes-256-cbc',
        '-nopad',
        '-K',
        hex(first.key),
        '-iv',
        ZERO_IV,
        '-in',
        stream,
        '-out',
        plain,
      ]);
      opensslSeconds = r.ms / 1000;
      await rm(plain, { force: true });
    }
    await rm(stream, { force: true });
    // Correctness: the largest blobs, each with its own key, give what ibackup wrote.
    const renamed = new Set(result.renamed.map((x) => x.path));
    const largest = [...blobs]
      .filter((b) => !renamed.has(b.name))
      .sort((a, b) => b.size - a.size)
      .slice(0, 5);
    for (const b of largest) {
      const plain = join(tmp, 'check.plain');
      await run('openssl', [
        'enc',
        '-d',
        '-aes-256-cbc',
        '-K',
        hex(b.key),
        '-iv',
        ZERO_IV,
        '-in',
        b.path,
        '-out',
        plain,
      ]);
      const [theirs, ours] = await Promise.all([sha256File(plain), sha256File(join(out, ...b.name.split('/')))]);
      await rm(plain, { force: true });
      if (theirs !== ours) throw new Error(`${b.name}: OpenSSL and ibackup decrypt it differently`);
      checked++;
    }
  }
  await rm(out, { recursive: true, force: true });
  return { files: result.filesWritten, bytes: cipherBytes, ibackupSeconds, opensslSeconds, checked };
}

interface KdfFigures {
  ibackupMs: number;
  opensslMs: number | undefined;
  pythonMs: number | undefined;
}

async function benchDerivation(dir: string, rounds: number): Promise<KdfFigures> {
  const manifest = await openBackup(dir, { password: PW });
  const bag = manifest.manifest?.backupKeyBag;
  manifest.close();
  if (bag === undefined) throw new Error('Manifest.plist has no BackupKeyBag');
  const keybag = readBackupKeybag(bag);
  if (keybag.dpsl === undefined) throw new Error('the keybag has no DPSL (iOS 10.2+ double derivation expected)');
  const dpsl = keybag.dpsl;
  // The backup's own salts, with the iPhone's real first-stage count and iOS's SHA-1 count.
  const params = { ...keybag, dpic: rounds, iterations: SHA1_ROUNDS };
  const started = performance.now();
  const ours = hex(await deriveBackupKek(params, PW));
  const ibackupMs = performance.now() - started;

  let opensslMs: number | undefined;
  const kdf = (
    digest: string,
    pass: string[],
    salt: Uint8Array,
    iter: number,
  ): Promise<{ stdout: string; ms: number }> =>
    run('openssl', [
      'kdf',
      '-keylen',
      '32',
      '-kdfopt',
      `digest:${digest}`,
      ...pass,
      '-kdfopt',
      `hexsalt:${hex(salt)}`,
      '-kdfopt',
      `iter:${iter}`,
      'PBKDF2',
    ]);
  const kdfHex = (s: string): string => s.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (has('openssl') && spawnSync('openssl', ['kdf', '-help'], { stdio: 'ignore' }).status === 0) {
    const one = await kdf('SHA256', ['-kdfopt', `pass:${PW}`], dpsl, rounds);
    const two = await kdf('SHA1', ['-kdfopt', `hexpass:${kdfHex(one.stdout)}`], keybag.salt, SHA1_ROUNDS);
    if (kdfHex(two.stdout) !== ours) throw new Error('openssl kdf derives another key');
    opensslMs = one.ms + two.ms;
  }

  let pythonMs: number | undefined;
  if (has('python3')) {
    const script = [
      'import hashlib, sys, time',
      'pw, dpsl, salt, n = sys.argv[1].encode(), bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])',
      't = time.perf_counter()',
      `k = hashlib.pbkdf2_hmac('sha1', hashlib.pbkdf2_hmac('sha256', pw, dpsl, n, 32), salt, ${SHA1_ROUNDS}, 32)`,
      'print(k.hex(), (time.perf_counter() - t) * 1000)',
    ].join('\n');
    const r = await run('python3', ['-c', script, PW, hex(dpsl), hex(keybag.salt), String(rounds)]);
    const [key, ms] = r.stdout.trim().split(' ');
    if (key !== ours) throw new Error('hashlib derives another key');
    pythonMs = Number(ms);
  }
  return { ibackupMs, opensslMs, pythonMs };
}

/** Milliseconds to reopen the backup with the cached key: median of several runs, both APIs. */
async function benchReopen(
  dir: string,
  keyCache: KeyCache,
  kek: Uint8Array,
): Promise<{ viewMs: number; openMs: number }> {
  const view: number[] = [];
  const open: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    const v = await openBackupView(dir, {
      keyCache,
      password: () => Promise.reject(new Error('the cached key should open the backup')),
    });
    const entries = v.entries();
    const n = entries.next();
    entries.return(undefined);
    v.close();
    if (v.keySource !== 'cache' || n.done === true) throw new Error('the cached key did not open the backup');
    view.push(performance.now() - t);
    t = performance.now();
    const b = await openBackup(dir, { derivedKey: kek });
    b.close();
    open.push(performance.now() - t);
  }
  return { viewMs: median(view), openMs: median(open) };
}

async function main(): Promise<void> {
  const mib = option('--mib', 'IBACKUP_BENCH_MIB', 1024);
  const rounds = option('--rounds', 'IBACKUP_BENCH_ROUNDS', 10_000_000);
  const tmp = await mkdtemp(join(tmpdir(), 'ibackup-crypto-bench-'));
  try {
    const made = await makeBackup(tmp, mib);
    const manifestDb = (await stat(join(made.dir, 'Manifest.db'))).size;
    // First open with the password (the emulated keybag derives quickly) and --save-key.
    const keyCache = new KeyCache({ dir: join(tmp, 'keys') });
    const first = await openBackupView(made.dir, { keyCache, saveKey: true, password: () => Promise.resolve(PW) });
    first.close();
    if (first.savedKeyTo === undefined) throw new Error('the derived key was not saved');
    const kek = new Uint8Array(Buffer.from((await readFile(first.savedKeyTo, 'utf8')).trim(), 'hex'));
    const blobs = await blobsOf(made.dir, kek);
    const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout?.trim() ?? 'not installed';
    process.stdout.write(
      `Settings: encrypted backup of ${blobs.length} files, ${(blobs.reduce((n, b) => n + b.size, 0) / MIB).toFixed(0)} MiB of blobs, ` +
        `Manifest.db ${(manifestDb / MIB).toFixed(1)} MiB (made in ${made.seconds.toFixed(1)} s); ${openssl}; node ${process.version}; ${process.platform} ${process.arch}\n`,
    );

    const x = await benchExtraction(tmp, made.dir, keyCache, blobs);
    const ourRate = x.bytes / x.ibackupSeconds;
    process.stdout.write(
      `extract ibackup   ${x.ibackupSeconds.toFixed(2).padStart(7)} s ${(ourRate / MB).toFixed(0).padStart(5)} MB/s (${x.files} files, open + decrypt + write)\n`,
    );
    if (x.opensslSeconds !== undefined) {
      const theirRate = x.bytes / x.opensslSeconds;
      process.stdout.write(
        `extract openssl   ${x.opensslSeconds.toFixed(2).padStart(7)} s ${(theirRate / MB).toFixed(0).padStart(5)} MB/s (same bytes as one CBC stream; ${x.checked} largest files cross-checked)\n`,
      );
      process.stdout.write(
        `  ibackup / openssl throughput: ${((ourRate / theirRate) * 100).toFixed(0)}% (target >= 80%) ${verdict(ourRate >= 0.8 * theirRate)}\n`,
      );
    } else {
      process.stdout.write('  openssl not installed: no comparison\n');
    }

    const k = await benchDerivation(made.dir, rounds);
    const label = `PBKDF2 ${rounds} x SHA-256 + ${SHA1_ROUNDS} x SHA-1`;
    process.stdout.write(`derive ibackup    ${(k.ibackupMs / 1000).toFixed(2).padStart(7)} s (${label})\n`);
    if (k.opensslMs !== undefined)
      process.stdout.write(`derive openssl kdf${(k.opensslMs / 1000).toFixed(2).padStart(7)} s\n`);
    if (k.pythonMs !== undefined)
      process.stdout.write(`derive hashlib    ${(k.pythonMs / 1000).toFixed(2).padStart(7)} s\n`);
    const ref = k.opensslMs ?? k.pythonMs;
    if (ref !== undefined) {
      const refName = k.opensslMs !== undefined ? 'openssl kdf' : 'hashlib';
      process.stdout.write(
        `  ibackup / ${refName}: ${(k.ibackupMs / ref).toFixed(2)}x (target <= 1.10x) ${verdict(k.ibackupMs <= 1.1 * ref)}\n`,
      );
    }

    const r = await benchReopen(made.dir, keyCache, kek);
    process.stdout.write(
      `reopen cached key ${r.viewMs.toFixed(1).padStart(7)} ms (openBackupView + first entry; openBackup alone ${r.openMs.toFixed(1)} ms; median of 7) (target < 100 ms) ${verdict(r.viewMs < 100)}\n`,
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
