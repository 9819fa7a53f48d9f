// The host side of mobilebackup2 against a scripted device over an in-memory connection: the
// DeviceLink handshake, a ping, an UploadFiles message with its file stream right behind it, a
// free-space request and the final Response, each sent by the device whole, split at every offset
// and one byte at a time. Whatever the chunking, the host answers the same and keeps the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MobileBackup2Client,
  type BackupTarget,
  type TargetEntry,
  type TargetFile,
} from '../../../src/host/services/mobilebackup2.js';
import { dlHelloResponse } from '../../../src/protocol/devicelink-hello.js';
import {
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  type DeviceLinkMessage,
} from '../../../src/protocol/devicelink.js';
import {
  DL_STREAM_TERMINATOR,
  encodeDlDataBlocks,
  encodeDlErrorBlock,
  encodeDlSuccessBlock,
  encodeDlUploadFileHeader,
} from '../../../src/protocol/dl-file-stream.js';
import { FrameDecoder, encodeFrame } from '../../../src/protocol/frames.js';
import type { PlistValue } from '../../../src/protocol/plist/index.js';
import { Link } from '../../../src/transport/link.js';
import { ScriptedDevice, everyCut, memoryConnection, together, type Cut } from '../../support/duplex.js';

const UDID = '00008030-001a2b3c4d5e802e';
const FREE = 987_654_321;

/** The backup folder in memory: files by path, folders, and nothing else. */
class MemoryTarget implements BackupTarget {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>();
  async createFile(path: string): Promise<TargetFile> {
    const parts: Uint8Array[] = [];
    return {
      write: async (chunk) => void parts.push(Uint8Array.from(chunk)),
      commit: async () => void this.files.set(path, new Uint8Array(Buffer.concat(parts))),
      abort: async () => undefined,
    };
  }
  async *readFile(path: string): AsyncIterable<Uint8Array> {
    const f = this.files.get(path);
    if (!f) throw Object.assign(new Error(`${path} is missing`), { code: 'ENOENT' });
    yield f;
  }
  async mkdirp(path: string): Promise<void> {
    this.dirs.add(path);
  }
  async move(from: string, to: string): Promise<void> {
    const f = this.files.get(from);
    if (f) this.files.set(to, f);
    this.files.delete(from);
  }
  async remove(path: string): Promise<void> {
    this.files.delete(path);
  }
  async copy(from: string, to: string): Promise<void> {
    const f = this.files.get(from);
    if (f) this.files.set(to, f);
  }
  async list(): Promise<TargetEntry[]> {
    return [];
  }
  async freeSpace(): Promise<number> {
    return FREE;
  }
}

const te = new TextEncoder();
const FILE_A = Uint8Array.from({ length: 300 }, (_, i) => (i * 13 + 5) & 0xff);
const FILE_B = te.encode('half of it');
const PATH_A = `${UDID}/Snapshot/ab/ab${'0'.repeat(38)}`;
const PATH_B = `${UDID}/Snapshot/cd/cd${'1'.repeat(38)}`;
const PATH_C = `${UDID}/Snapshot/ef/ef${'2'.repeat(38)}`;

const frame = (m: DeviceLinkMessage): Uint8Array => encodeFrame(encodeDeviceLinkMessage(m), { format: 'binary' });

/** The UploadFiles message and, right behind it, its stream: a whole file, a cut-short one, an empty one. */
const UPLOAD = Buffer.concat([
  frame({ name: 'DLMessageUploadFiles', options: {}, progress: 10, totalBytes: FILE_A.length + FILE_B.length }),
  encodeDlUploadFileHeader('/var/mobile/Media/a.jpg', PATH_A),
  ...encodeDlDataBlocks(FILE_A, 128),
  encodeDlSuccessBlock(),
  encodeDlUploadFileHeader('/var/mobile/Library/FileProvider/db.sqlite', PATH_B),
  ...encodeDlDataBlocks(FILE_B),
  encodeDlErrorBlock('Operation not permitted', 'remote'),
  encodeDlUploadFileHeader('/var/mobile/Library/Preferences/empty', PATH_C),
  encodeDlSuccessBlock(),
  DL_STREAM_TERMINATOR,
]);

async function conversation(cut: Cut): Promise<void> {
  const { host, device: end } = memoryConnection();
  const client = new MobileBackup2Client(new Link(host), { handshakeTimeoutMs: 5_000 });
  const device = new ScriptedDevice<PlistValue>(end, new FrameDecoder(), cut);
  const next = async (): Promise<DeviceLinkMessage> => decodeDeviceLinkMessage(await device.receive());
  const target = new MemoryTarget();
  const received: string[] = [];
  const unreadable: string[] = [];
  const progress: number[] = [];
  const ignored: string[] = [];
  const script = (async () => {
    await device.send(frame({ name: 'DLMessageVersionExchange', kind: 'offer', major: 400, minor: 0 }));
    assert.deepEqual(await next(), {
      name: 'DLMessageVersionExchange',
      kind: 'reply',
      status: 'DLVersionsOk',
      version: 400,
    });
    await device.send(frame({ name: 'DLMessageDeviceReady' }));
    const hello = await next();
    assert.ok(hello.name === 'DLMessageProcessMessage' && hello.message.MessageName === 'Hello');
    await device.send(frame(dlHelloResponse(2.1)));

    const request = await next();
    assert.ok(request.name === 'DLMessageProcessMessage' && request.message.MessageName === 'Backup');
    await device.send(
      frame({ name: 'DLMessagePing', message: 'Preparing backup' }),
      frame({ name: 'DLMessageCreateDirectory', path: `${UDID}/Snapshot`, options: {}, progress: 5 }),
    );
    const created = await next();
    assert.ok(created.name === 'DLMessageStatusResponse' && created.code === 0, JSON.stringify(created));
    await device.send(UPLOAD);
    const uploaded = await next();
    assert.ok(uploaded.name === 'DLMessageStatusResponse' && uploaded.code === 0, JSON.stringify(uploaded));
    await device.send(frame({ name: 'DLMessageGetFreeDiskSpace' }));
    const free = await next();
    assert.ok(free.name === 'DLMessageStatusResponse' && free.code === 0 && free.value === FREE, JSON.stringify(free));
    await device.send(frame({ name: 'DLMessageProcessMessage', message: { MessageName: 'Response', ErrorCode: 0 } }));
  })();
  const hostSide = (async () => {
    assert.equal(await client.handshake(), 2.1);
    const response = await client.run(
      { MessageName: 'Backup', TargetIdentifier: UDID },
      target,
      {
        fileReceived: (path, bytes) => received.push(`${path} ${bytes}`),
        unreadable: (path, devicePath, why) => unreadable.push(`${path} ${devicePath} ${why}`),
        progress: (p) => progress.push(p),
        ignored: (name) => ignored.push(name),
      },
      { waitMs: 5_000 },
    );
    assert.deepEqual(response, { MessageName: 'Response', ErrorCode: 0 });
  })();
  try {
    await together(hostSide, script);
  } finally {
    client.close();
  }
  assert.deepEqual(ignored, ['DLMessagePing']);
  assert.deepEqual([...target.dirs], [`${UDID}/Snapshot`]);
  assert.deepEqual(target.files.get(PATH_A), FILE_A);
  assert.deepEqual(target.files.get(PATH_B), FILE_B, 'what the device sent of a file it could not read is kept');
  assert.deepEqual(target.files.get(PATH_C), new Uint8Array(0));
  assert.deepEqual(received.sort(), [`${PATH_A} ${FILE_A.length}`, `${PATH_B} ${FILE_B.length}`, `${PATH_C} 0`]);
  assert.deepEqual(unreadable, [`${PATH_B} /var/mobile/Library/FileProvider/db.sqlite Operation not permitted`]);
  assert.deepEqual(progress, [5, 10]);
}

test('handshake, requests and an upload stream are read the same whatever the chunking', async () => {
  for (const cut of everyCut(UPLOAD.length)) {
    await conversation(cut).catch((err: unknown) => {
      throw new Error(`${cut.name}: ${String(err)}`, { cause: err });
    });
  }
});
