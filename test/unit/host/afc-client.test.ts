// The AFC client against a scripted AFC service over an in-memory connection: each reply (status,
// file handle, file info, file data) is decoded the same whatever the chunking, and each request
// reaches the device as the protocol says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIbackupError } from '../../../src/errors.js';
import { AfcClient, SYNC_LOCK_FILE } from '../../../src/host/services/afc.js';
import {
  AfcDecoder,
  AfcFileMode,
  AfcLockOp,
  AfcOp,
  AfcStatus,
  decodeAfcFileLock,
  decodeAfcFileOpen,
  decodeAfcFileRead,
  decodeAfcFileWrite,
  decodeAfcPath,
  decodeAfcU64,
  encodeAfcKeyValues,
  encodeAfcPacket,
  encodeAfcU64,
  type AfcPacket,
} from '../../../src/protocol/afc.js';
import { Link } from '../../../src/transport/link.js';
import { ScriptedDevice, everyCut, memoryConnection, whole, together, type Cut } from '../../support/duplex.js';

const PATH = '/iTunes_Control/iTunes/Info.plist';
const CONTENT = Uint8Array.from({ length: 300 }, (_, i) => (i * 31 + 7) & 0xff);
const WRITTEN = new TextEncoder().encode('<plist><dict/></plist>');
const HANDLE = 7;

type Device = ScriptedDevice<AfcPacket>;

function connect(cut: Cut): { client: AfcClient; device: Device } {
  const { host, device } = memoryConnection();
  return { client: new AfcClient(new Link(host), 5_000), device: new ScriptedDevice(device, new AfcDecoder(), cut) };
}

/** The device reads the next request, checks its operation, and answers it with the same packet number. */
async function answer(
  device: Device,
  operation: number,
  reply: { operation: number; headerPayload?: Uint8Array; payload?: Uint8Array },
): Promise<AfcPacket> {
  const p = await device.receive();
  assert.equal(p.operation, operation, `operation ${p.operation}`);
  await device.send(encodeAfcPacket({ packetNum: p.packetNum, ...reply }));
  return p;
}

const status = (code: number) => ({ operation: AfcOp.Status, headerPayload: encodeAfcU64(code) });
const data = (payload: Uint8Array) => ({ operation: AfcOp.Data, payload });

/** readFile, a missing file, the sync lock held elsewhere, writeFile and a refused makeDir. */
async function conversation(cut: Cut): Promise<void> {
  const { client, device } = connect(cut);
  const script = (async () => {
    const info = await answer(
      device,
      AfcOp.GetFileInfo,
      data(encodeAfcKeyValues({ st_ifmt: 'S_IFREG', st_size: '300' })),
    );
    assert.equal(decodeAfcPath(info.body), PATH);
    const open = await answer(device, AfcOp.FileOpen, {
      operation: AfcOp.FileOpenResult,
      headerPayload: encodeAfcU64(HANDLE),
    });
    assert.deepEqual(decodeAfcFileOpen(open.body), { mode: AfcFileMode.ReadOnly, path: PATH });
    assert.equal(decodeAfcFileRead((await answer(device, AfcOp.FileRead, data(CONTENT))).body).handle, HANDLE);
    await answer(device, AfcOp.FileRead, data(new Uint8Array(0)));
    assert.equal(decodeAfcU64((await answer(device, AfcOp.FileClose, status(AfcStatus.Success))).body), HANDLE);

    await answer(device, AfcOp.GetFileInfo, status(AfcStatus.ObjectNotFound));

    await answer(device, AfcOp.FileOpen, { operation: AfcOp.FileOpenResult, headerPayload: encodeAfcU64(HANDLE + 1) });
    const lock = await answer(device, AfcOp.FileLock, status(AfcStatus.OpWouldBlock));
    assert.deepEqual(decodeAfcFileLock(lock.body), { handle: HANDLE + 1, op: AfcLockOp.Exclusive });

    const wopen = await answer(device, AfcOp.FileOpen, {
      operation: AfcOp.FileOpenResult,
      headerPayload: encodeAfcU64(HANDLE + 2),
    });
    assert.deepEqual(decodeAfcFileOpen(wopen.body), { mode: AfcFileMode.WriteRead, path: '/new.plist' });
    const write = await answer(device, AfcOp.FileWrite, status(AfcStatus.Success));
    const written = decodeAfcFileWrite(write.body);
    assert.equal(written.handle, HANDLE + 2);
    assert.deepEqual(Uint8Array.from(written.data), WRITTEN);
    await answer(device, AfcOp.FileClose, status(AfcStatus.Success));

    await answer(device, AfcOp.MakeDir, status(AfcStatus.PermDenied));
  })();
  const hostSide = (async () => {
    assert.deepEqual(Uint8Array.from((await client.readFile(PATH)) ?? []), CONTENT);
    assert.equal(await client.readFile('/missing'), null);
    const h = await client.open(SYNC_LOCK_FILE, AfcFileMode.ReadWrite);
    assert.equal(h, HANDLE + 1);
    assert.equal(await client.lock(h, AfcLockOp.Exclusive), false, 'held by another computer');
    await client.writeFile('/new.plist', WRITTEN);
    await assert.rejects(client.makeDir('/iTunesRestore'), (err: unknown) => {
      assert.ok(isIbackupError(err) && err.code === 'DEVICE_ERROR', String(err));
      assert.deepEqual(err.details, { afcStatus: AfcStatus.PermDenied });
      assert.match(err.message, /PermDenied/);
      return true;
    });
  })();
  try {
    await together(hostSide, script);
  } finally {
    client.disconnect();
  }
}

test('every AFC reply is decoded whatever the chunking', async () => {
  const longest = encodeAfcPacket({ packetNum: 1, operation: AfcOp.Data, payload: CONTENT }).length;
  for (const cut of everyCut(longest)) {
    await conversation(cut).catch((err: unknown) => {
      throw new Error(`${cut.name}: ${String(err)}`, { cause: err });
    });
  }
});

test('a reply to another request is refused (PROTOCOL_DECODE)', async () => {
  for (const cut of everyCut(48)) {
    const { client, device } = connect(cut);
    try {
      const made = client.makeDir('/a');
      made.catch(() => undefined); // checked below
      const p = await device.receive();
      await device.send(encodeAfcPacket({ packetNum: p.packetNum + 1, ...status(AfcStatus.Success) }));
      await assert.rejects(made, (err: unknown) => isIbackupError(err) && err.code === 'PROTOCOL_DECODE', cut.name);
    } finally {
      client.disconnect();
    }
  }
});

test('a device that hangs up in the middle of a reply fails this request and the next (CONNECTION_CLOSED)', async () => {
  const reply = encodeAfcPacket({ packetNum: 1, ...data(encodeAfcKeyValues({ st_ifmt: 'S_IFDIR' })) });
  for (let n = 0; n < reply.length; n++) {
    const { client, device } = connect(whole);
    try {
      const asked = client.info('/');
      asked.catch(() => undefined); // checked below
      await device.receive();
      await device.send(reply.subarray(0, n));
      device.close();
      const closed = (err: unknown): boolean => isIbackupError(err) && err.code === 'CONNECTION_CLOSED';
      await assert.rejects(asked, closed, `cut at ${n}`);
      await assert.rejects(client.info('/'), closed, `after a cut at ${n}`);
    } finally {
      client.disconnect();
    }
  }
});
