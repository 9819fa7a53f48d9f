/**
 * What the virtual iPhone sends for a file it cannot read to its end: from iOS 17 the FileProvider
 * database's upload is some data then an error block (code 0x0B, the device's side) with the read
 * error; the file is then named in a MoveItems like the others and its Manifest.db row stays, with
 * the file's full size. On iOS 16 the same file is sent whole, ended by the success block. The
 * device's bytes are read off its own connection and parsed with the protocol codecs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backupDevice } from '../../src/app/backup.js';
import { decodeMBFile } from '../../src/protocol/nskeyed.js';
import { decodeDeviceLinkMessage, type DeviceLinkMessage } from '../../src/protocol/devicelink.js';
import { DL_CODE_ERROR_REMOTE, DlFileStreamParser, type DlFileStreamEvent } from '../../src/protocol/dl-file-stream.js';
import { parseFramePlist } from '../../src/protocol/frames.js';
import { FILEPROVIDER_BACKUP_DB } from '../../src/emulator/content/domains.js';
import { fileIdOf, readManifestDb } from '../../src/emulator/services/mobilebackup2/manifest-writer.js';
import { UNREADABLE_REASON } from '../../src/emulator/services/mobilebackup2/unreadable.js';
import { startBench } from '../support/bench.js';
import { pairedHost, virtualDevice } from '../support/crash-safety.js';

interface SentFile {
  backupPath: string;
  data: Buffer;
  end: Extract<DlFileStreamEvent, { type: 'file-end' }>;
}

/** The device's messages and uploaded files, parsed from what it wrote on its connection. */
function parseDeviceBytes(all: Buffer): { messages: DeviceLinkMessage[]; files: SentFile[] } {
  const messages: DeviceLinkMessage[] = [];
  const files: SentFile[] = [];
  let at = 0;
  while (at + 4 <= all.length) {
    const len = all.readUInt32BE(at);
    const msg = decodeDeviceLinkMessage(parseFramePlist(all.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
    messages.push(msg);
    if (msg.name !== 'DLMessageUploadFiles') continue;
    const parser = new DlFileStreamParser('upload');
    let current: { backupPath: string; parts: Buffer[] } | undefined;
    for (const e of parser.push(all.subarray(at))) {
      if (e.type === 'file-start') current = { backupPath: e.backupPath, parts: [] };
      else if (e.type === 'data') current?.parts.push(Buffer.from(e.bytes));
      else if (e.type === 'file-end' && current) {
        files.push({ backupPath: current.backupPath, data: Buffer.concat(current.parts), end: e });
        current = undefined;
      }
    }
    assert.ok(parser.done, 'the upload stream ends');
    at = all.length - parser.takeRemainder().length;
  }
  return { messages, files };
}

/** One full backup of a device on `productVersion`, with what the device sent. */
async function backupSeenByWire(
  productVersion: string,
): Promise<{ messages: DeviceLinkMessage[]; files: SentFile[]; udid: string; size: number }> {
  const b = await startBench({ profile: { extends: 'tiny', identity: { productVersion } } });
  try {
    const udid = b.te.udids[0] as string;
    const host = await pairedHost(b, udid);
    const sent: Buffer[] = [];
    const dev = virtualDevice(b, udid);
    const link = dev.services.get('com.apple.mobilebackup2');
    assert.ok(link);
    // Record every byte the device writes on its mobilebackup2 connection.
    dev.services.set('com.apple.mobilebackup2', {
      ...link,
      serve: (l, d) => {
        const write = l.write.bind(l);
        const send = l.send.bind(l);
        l.write = (bytes: Uint8Array) => {
          sent.push(Buffer.from(bytes));
          return write(bytes);
        };
        l.send = (...parts: Uint8Array[]) => {
          for (const p of parts) sent.push(Buffer.from(p));
          return send(...parts);
        };
        link.serve(l, d);
      },
    });
    try {
      await backupDevice(host, { root: b.backupDir, full: true });
    } finally {
      dev.services.set('com.apple.mobilebackup2', link);
    }
    const entry = dev.runtime?.content.get(FILEPROVIDER_BACKUP_DB.domain, FILEPROVIDER_BACKUP_DB.relativePath);
    assert.ok(entry, 'the device has the FileProvider database');
    return { ...parseDeviceBytes(Buffer.concat(sent)), udid, size: entry.size };
  } finally {
    await b.dispose();
  }
}

describe('a file the phone cannot read to its end', { timeout: 120_000 }, () => {
  const fileId = fileIdOf(FILEPROVIDER_BACKUP_DB.domain, FILEPROVIDER_BACKUP_DB.relativePath);

  test('iOS 17: some data, then an error block; moved like the others; its Manifest.db row stays', async () => {
    const { messages, files, udid, size } = await backupSeenByWire('17.5.1');
    const staged = `${udid}/Snapshot/${fileId.slice(0, 2)}/${fileId}`;
    const sent = files.filter((f) => f.backupPath === staged);
    assert.equal(sent.length, 1, 'sent once');
    const f = sent[0] as SentFile;
    assert.ok(f.data.length > 0 && f.data.length < size, `some data (${f.data.length} of ${size} bytes)`);
    assert.equal(f.end.ok, false);
    assert.equal(f.end.incomplete, undefined, 'the stream went on: the file was ended, not cut');
    assert.equal(f.end.errorCode, DL_CODE_ERROR_REMOTE);
    assert.equal(f.end.message, UNREADABLE_REASON);
    const moves = messages.flatMap((m) => (m.name === 'DLMessageMoveItems' ? m.moves : []));
    assert.ok(
      moves.some((m) => m.from === staged && m.to === `${udid}/${fileId.slice(0, 2)}/${fileId}`),
      'named in a MoveItems',
    );
    const db = files.find((x) => x.backupPath === `${udid}/Snapshot/Manifest.db`);
    assert.ok(db, 'Manifest.db sent');
    const row = readManifestDb(db.data).get(fileId);
    assert.ok(row, 'its Manifest.db row');
    assert.equal(Number(decodeMBFile(row.file).size), size, "the row has the file's full size");
    const others = files.filter((x) => x.backupPath !== staged && !x.end.ok);
    assert.deepEqual(
      others.map((x) => x.backupPath),
      [],
      'every other file ends with the success block',
    );
  });

  test('iOS 16: the same file is sent whole and ends with the success block', async () => {
    const { files, udid, size } = await backupSeenByWire('16.7.8');
    const f = files.find((x) => x.backupPath === `${udid}/Snapshot/${fileId.slice(0, 2)}/${fileId}`);
    assert.ok(f, 'sent');
    assert.equal(f.end.ok, true);
    assert.equal(f.data.length, size);
    assert.deepEqual(
      files.filter((x) => !x.end.ok).map((x) => x.backupPath),
      [],
    );
  });
});
