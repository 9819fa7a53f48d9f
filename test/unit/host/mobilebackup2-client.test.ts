// The host side of mobilebackup2 against a scripted device over a real socket pair: what it
// answers, what it ignores, what it keeps, and how long it waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Link } from '../../../src/transport/link.js';
import { DlConnection } from '../../../src/transport/dl-connection.js';
import { MobileBackup2Client, type Mb2Observer } from '../../../src/host/services/mobilebackup2.js';
import {
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  type DeviceLinkMessage,
} from '../../../src/protocol/devicelink.js';
import {
  encodeDlDataBlocks,
  encodeDlErrorBlock,
  encodeDlUploadFileHeader,
  encodeDlSuccessBlock,
  DL_STREAM_TERMINATOR,
} from '../../../src/protocol/dl-file-stream.js';
import { BackupStore } from '../../../src/backup/store.js';
import { storeTarget } from '../../../src/app/backup-target.js';
import { deviceWaitMs, parseWait } from '../../../src/app/device-wait.js';
import { isIbackupError } from '../../../src/errors.js';
import { socketPair } from '../../support/socket-pair.js';

const UDID = '00008030-001a2b3c4d5e802e';

interface Bench {
  host: MobileBackup2Client;
  dev: DlConnection;
  root: string;
  store: BackupStore;
  send(m: DeviceLinkMessage): Promise<void>;
  status(): Promise<{ code: number; value: unknown }>;
  close(): Promise<void>;
}

async function bench(): Promise<Bench> {
  const { a, b, close } = await socketPair();
  const root = await mkdtemp(join(tmpdir(), 'ibackup-mb2-'));
  await mkdir(join(root, UDID), { recursive: true });
  const dev = new DlConnection(new Link(b), { format: 'binary', timeoutMs: 10_000 });
  return {
    host: new MobileBackup2Client(new Link(a)),
    dev,
    root,
    store: new BackupStore(root, UDID),
    send: (m) => dev.send(encodeDeviceLinkMessage(m)),
    status: async () => {
      const m = decodeDeviceLinkMessage(await dev.receive());
      assert.equal(m.name, 'DLMessageStatusResponse');
      return {
        code: m.name === 'DLMessageStatusResponse' ? m.code : NaN,
        value: m.name === 'DLMessageStatusResponse' ? m.value : undefined,
      };
    },
    close: async () => {
      close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

const done = (code = 0): DeviceLinkMessage => ({
  name: 'DLMessageProcessMessage',
  message: { MessageName: 'Response', ErrorCode: code },
});

test('a ping and a message the host does not know are ignored, not answered (as libimobiledevice does)', async () => {
  const b = await bench();
  try {
    const ignored: string[] = [];
    const running = b.host.run(
      { MessageName: 'Backup' },
      storeTarget(b.store),
      { ignored: (n) => ignored.push(n) },
      { waitMs: 5000 },
    );
    await b.dev.receive(); // the request
    await b.send({ name: 'DLMessagePing', message: 'Preparing backup' });
    await b.send({ name: 'unknown', messageName: 'DLMessageSomethingNew', raw: ['DLMessageSomethingNew', 1] });
    // Had the host answered either, this status would be the first thing the device reads.
    await b.send({ name: 'DLMessageCreateDirectory', path: `${UDID}/Snapshot`, options: {}, progress: 1 });
    assert.equal((await b.status()).code, 0);
    await b.send(done());
    assert.equal((await running).ErrorCode, 0);
    assert.deepEqual(ignored, ['DLMessagePing', 'DLMessageSomethingNew']);
  } finally {
    await b.close();
  }
});

test("a file whose upload ends with the device's error block is kept as sent, reported, and can be moved later", async () => {
  const b = await bench();
  try {
    const seen: string[] = [];
    const obs: Mb2Observer = { unreadable: (p, d, why) => seen.push(`${p}|${d}|${why}`) };
    const running = b.host.run({ MessageName: 'Backup' }, storeTarget(b.store), obs, { waitMs: 5000 });
    await b.dev.receive();
    await b.send({ name: 'DLMessageCreateDirectory', path: `${UDID}/Snapshot/ab`, options: {}, progress: 1 });
    await b.status();
    await b.send({ name: 'DLMessageUploadFiles', options: {}, progress: 10, totalBytes: 8 });
    const blob = `${UDID}/Snapshot/ab/ab${'0'.repeat(38)}`;
    await b.dev.writeRaw(
      encodeDlUploadFileHeader('/var/mobile/Library/FileProvider/db.sqlite', blob),
      ...encodeDlDataBlocks(new TextEncoder().encode('half')),
      encodeDlErrorBlock('Operation not permitted', 'remote'),
      encodeDlUploadFileHeader('/var/mobile/ok', `${UDID}/Snapshot/ab/ab${'1'.repeat(38)}`),
      ...encodeDlDataBlocks(new TextEncoder().encode('whole')),
      encodeDlSuccessBlock(),
      DL_STREAM_TERMINATOR,
    );
    assert.equal((await b.status()).code, 0, 'the stream is answered with success');
    await b.send({
      name: 'DLMessageMoveItems',
      moves: [{ from: blob, to: `${UDID}/ab/ab${'0'.repeat(38)}` }],
      options: {},
      progress: 90,
    });
    assert.equal((await b.status()).code, 0, 'moving the kept file succeeds');
    await b.send(done());
    await running;
    assert.equal(await readFile(join(b.root, UDID, 'ab', `ab${'0'.repeat(38)}`), 'utf8'), 'half');
    assert.deepEqual(seen, [`${blob}|/var/mobile/Library/FileProvider/db.sqlite|Operation not permitted`]);
  } finally {
    await b.close();
  }
});

test('CopyItem: a missing source answers 0; a folder is copied whole, inside the backup folder only', async () => {
  const b = await bench();
  try {
    await mkdir(join(b.root, UDID, 'src', 'deep'), { recursive: true });
    await writeFile(join(b.root, UDID, 'src', 'a'), 'A');
    await writeFile(join(b.root, UDID, 'src', 'deep', 'b'), 'B');
    const running = b.host.run({ MessageName: 'Backup' }, storeTarget(b.store), {}, { waitMs: 5000 });
    await b.dev.receive();
    await b.send({ name: 'DLMessageCopyItem', from: `${UDID}/nothing-here`, to: `${UDID}/copy-of-nothing` });
    assert.equal((await b.status()).code, 0);
    await b.send({ name: 'DLMessageCopyItem', from: `${UDID}/src`, to: `${UDID}/dst` });
    assert.equal((await b.status()).code, 0);
    await b.send({ name: 'DLMessageCopyItem', from: `${UDID}/src`, to: '../outside' });
    assert.notEqual((await b.status()).code, 0, 'a destination outside the backup folder is refused');
    await b.send(done());
    await running;
    assert.equal(await readFile(join(b.root, UDID, 'dst', 'deep', 'b'), 'utf8'), 'B');
    assert.equal(await readFile(join(b.root, UDID, 'dst', 'a'), 'utf8'), 'A');
  } finally {
    await b.close();
  }
});

test('the device may stay silent up to the wait; past it the error names the wait and --wait', async () => {
  const b = await bench();
  try {
    const quiet = b.host.run({ MessageName: 'Backup' }, storeTarget(b.store), {}, { waitMs: 1500 });
    await b.dev.receive();
    await new Promise((r) => setTimeout(r, 600)); // silent, but within the wait
    await b.send(done());
    assert.equal((await quiet).ErrorCode, 0);
    await assert.rejects(
      b.host.run({ MessageName: 'Backup' }, storeTarget(b.store), {}, { waitMs: 300 }),
      (err: unknown) => {
        assert.ok(isIbackupError(err) && err.code === 'TIMEOUT');
        assert.match(err.message, /sent nothing for 300 ms, the longest this backup waits/);
        assert.match(err.remedy, /--wait/);
        return true;
      },
    );
  } finally {
    await b.close();
  }
});

test('the default wait is 60 minutes, scaled by IBACKUP_TIME_SCALE; --wait takes durations', () => {
  const saved = process.env.IBACKUP_TIME_SCALE;
  try {
    delete process.env.IBACKUP_TIME_SCALE;
    assert.equal(deviceWaitMs(), 60 * 60_000);
    process.env.IBACKUP_TIME_SCALE = '0.001';
    assert.equal(deviceWaitMs(), 3600);
    assert.equal(deviceWaitMs(1234), 1234);
  } finally {
    if (saved === undefined) delete process.env.IBACKUP_TIME_SCALE;
    else process.env.IBACKUP_TIME_SCALE = saved;
  }
  assert.equal(parseWait('2h'), 2 * 3_600_000);
  assert.equal(parseWait('90s'), 90_000);
  assert.equal(parseWait('45'), 45 * 60_000);
  assert.throws(
    () => parseWait('soon'),
    (e: unknown) => isIbackupError(e) && e.code === 'USAGE',
  );
});

test("free space counts blocks in the file system's fragment size (f_frsize), not its preferred I/O size", async () => {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-frsize-'));
  try {
    const { nodeFs } = await import('../../../src/backup/fs-layer.js');
    const fake = {
      ...nodeFs,
      statfs: async () => ({ type: 0, bsize: 1 << 20, blocks: 1000, bfree: 500, bavail: 400, files: 0, ffree: 0 }),
      fragmentSize: async () => 4096,
    };
    const store = new BackupStore(root, UDID, { fs: fake });
    assert.equal(await store.freeSpace(), 400 * 4096);
    const noFragment = new BackupStore(root, UDID, { fs: { ...fake, fragmentSize: async () => undefined } });
    assert.equal(await noFragment.freeSpace(), 400 * (1 << 20));
    if (process.platform === 'linux')
      assert.equal(
        await nodeFs.fragmentSize?.(root),
        Number((await import('node:child_process')).execFileSync('stat', ['-f', '-c', '%S', root]).toString().trim()),
      );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
