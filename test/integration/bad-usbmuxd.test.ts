/**
 * A usbmuxd that misbehaves (garbage, an oversized packet, a reply cut off, silence) gives a
 * typed error with a remedy, never a hang: every wait has a timeout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost } from '../../src/app/context.js';
import { listDevices, watchDevices } from '../../src/app/devices.js';
import { runDoctor } from '../../src/app/doctor.js';
import { isIbackupError, type ErrorCode } from '../../src/errors.js';
import { cliEnv, json, runCli, type ErrorDoc } from '../support/bench.js';

/** A usbmuxd packet header (little-endian length, version 1, message 8 = plist, tag). */
function header(length: number, tag = 1): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(length, 0);
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(8, 8);
  h.writeUInt32LE(tag, 12);
  return h;
}

const LISTEN_OK = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>MessageType</key><string>Result</string><key>Number</key><integer>0</integer></dict></plist>',
);

type Behaviour = (sock: Socket) => void;

const BEHAVIOURS: Record<string, { act: Behaviour; code: ErrorCode }> = {
  garbage: {
    act: (s) => s.end(Buffer.concat([header(16 + 12), Buffer.from('not a plist!')])),
    code: 'PROTOCOL_DECODE',
  },
  'random bytes': {
    act: (s) =>
      s.end(
        Buffer.from([
          0x03, 0x00, 0x00, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
        ]),
      ),
    code: 'PROTOCOL_DECODE',
  },
  'oversized packet': {
    act: (s) => s.write(header(0x7fff_fff0)),
    code: 'FRAME_TOO_LARGE',
  },
  'drops mid-reply': {
    act: (s) => s.end(Buffer.concat([header(16 + LISTEN_OK.length), LISTEN_OK.subarray(0, 20)])),
    code: 'CONNECTION_CLOSED',
  },
  silent: {
    act: () => undefined,
    code: 'TIMEOUT',
  },
};

async function fakeUsbmuxd(
  dir: string,
  behaviour: Behaviour,
): Promise<{ address: string; close: () => Promise<void> }> {
  const path = join(dir, `mux-${Math.random().toString(16).slice(2)}.sock`);
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.once('data', () => behaviour(sock));
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    address: `UNIX:${path}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('a misbehaving usbmuxd', () => {
  for (const [name, { act, code }] of Object.entries(BEHAVIOURS)) {
    test(`${name}: ${code} with a remedy, within the timeout`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ibackup-fake-mux-'));
      const fake = await fakeUsbmuxd(dir, act);
      try {
        const ctx = openHost({ usbmuxd: fake.address, systemDirs: [], ownDir: join(dir, 'own'), timeoutMs: 500 });
        const started = Date.now();
        await assert.rejects(listDevices(ctx), (e) => isIbackupError(e) && e.code === code && e.remedy.length > 0);
        await assert.rejects(
          watchDevices(ctx, () => undefined),
          (e) => isIbackupError(e) && e.remedy.length > 0,
        );
        const doctor = await runDoctor(ctx, { backupRoots: [dir] });
        const mux = doctor.checks.find((c) => c.id === 'usbmuxd');
        assert.equal(mux?.ok, false);
        assert.ok(mux.remedy.length > 0);
        assert.ok(Date.now() - started < 5_000, 'answered within the timeouts');
      } finally {
        await fake.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('the CLI prints the typed error as JSON and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-fake-mux-'));
    const fake = await fakeUsbmuxd(dir, BEHAVIOURS.garbage!.act);
    const dropper = await fakeUsbmuxd(dir, BEHAVIOURS['drops mid-reply']!.act);
    try {
      const env = cliEnv(join(dir, 'cfg'), join(dir, 'backups'));
      const r = await runCli(['--json', '--usbmuxd', fake.address, 'devices'], env);
      assert.equal(r.code, 1);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'PROTOCOL_DECODE');
      assert.ok(err.remedy.length > 0);
      const cut = await runCli(['--usbmuxd', dropper.address, 'info'], env);
      assert.equal(cut.code, 1);
      assert.match(cut.stderr, /^Error: .+\n.+/);
    } finally {
      await fake.close();
      await dropper.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a Listen stream that turns to garbage ends watchDevices with a typed error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-fake-mux-'));
    const fake = await fakeUsbmuxd(dir, (s) => {
      s.write(Buffer.concat([header(16 + LISTEN_OK.length), LISTEN_OK]));
      setTimeout(() => s.write(Buffer.concat([header(16 + 5, 0), Buffer.from('junk!')])), 50);
    });
    try {
      const ctx = openHost({ usbmuxd: fake.address, systemDirs: [], ownDir: join(dir, 'own'), timeoutMs: 500 });
      await assert.rejects(
        watchDevices(ctx, () => undefined),
        (e) => isIbackupError(e) && e.code === 'PROTOCOL_DECODE',
      );
    } finally {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
