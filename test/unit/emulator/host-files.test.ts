/**
 * The virtual iPhone downloading a big Manifest.db from the computer (an iOS 26 incremental
 * fetches hundreds of MB in 32 KiB frames: pymobiledevice3 issue 1857): the file arrives whole
 * over thousands of frames while the connection's bound pauses a computer that sends faster than
 * the device reads, and the device parses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { DL_EMPTY_PARAMETER, encodeDeviceLinkMessage } from '../../../src/protocol/devicelink.js';
import {
  DL_FILE_CHUNK_SIZE,
  DL_STREAM_TERMINATOR,
  encodeDlDataBlockHeader,
  encodeDlDownloadFileHeader,
  encodeDlSuccessBlock,
} from '../../../src/protocol/dl-file-stream.js';
import { encodeFrame } from '../../../src/protocol/frames.js';
import { DlConnection } from '../../../src/transport/dl-connection.js';
import type { Link } from '../../../src/transport/link.js';
import { DeviceContent } from '../../../src/emulator/content/index.js';
import { HostFiles } from '../../../src/emulator/services/mobilebackup2/host-files.js';
import {
  ManifestDbBuilder,
  fileIdOf,
  readManifestDb,
} from '../../../src/emulator/services/mobilebackup2/manifest-writer.js';

const HIGH_WATER = 1024 * 1024;

/** A link whose bytes the test pushes, noting when the device pauses and resumes it. */
function fakeLink(): { link: Link; push: (b: Uint8Array) => void; paused: () => boolean; pauses: () => number } {
  const em = new EventEmitter();
  let paused = false;
  let pauses = 0;
  const link = Object.assign(em, {
    isClosed: false,
    pause: () => {
      paused = true;
      pauses++;
    },
    resume: () => void (paused = false),
    write: async () => undefined,
    send: () => undefined,
    close: () => undefined,
  }) as unknown as Link;
  return { link, push: (b) => em.emit('data', Buffer.from(b)), paused: () => paused, pauses: () => pauses };
}

/** A real Manifest.db of several MB made by the device's own writer. */
function bigManifestDb(): { bytes: Uint8Array; rows: number } {
  const content = DeviceContent.build({ seed: 11, files: 12_000, bytes: 1 << 20, hugeFiles: [] });
  const b = new ManifestDbBuilder();
  try {
    let rows = 0;
    for (const entry of content.entries()) {
      b.add({ entry, fileId: fileIdOf(entry.domain, entry.relativePath) });
      rows++;
    }
    b.seal();
    return { bytes: Buffer.concat(b.finish()), rows };
  } finally {
    b.close();
  }
}

test(
  "a multi-MB Manifest.db arrives whole over 32 KiB frames, within the connection's bound",
  { timeout: 60_000 },
  async () => {
    const { bytes, rows } = bigManifestDb();
    assert.ok(bytes.length > 4 * 1024 * 1024, `a multi-MB database (${bytes.length} bytes)`);
    const { link, push, paused, pauses } = fakeLink();
    const files = new HostFiles(new DlConnection(link, { format: 'binary', timeoutMs: 0, highWaterMark: HIGH_WATER }));
    const got = files.downloadFiles(['U/Manifest.plist', 'U/Manifest.db']);

    // The computer's answer: a missing Manifest.plist is skipped here; the database in ≤ 32 KiB frames.
    const wire: Uint8Array[] = [encodeDlDownloadFileHeader('U/Manifest.db')];
    let frames = 0;
    for (let at = 0; at < bytes.length; at += DL_FILE_CHUNK_SIZE) {
      const part = bytes.subarray(at, at + DL_FILE_CHUNK_SIZE);
      wire.push(encodeDlDataBlockHeader(part.length), part);
      frames++;
    }
    wire.push(encodeDlSuccessBlock(), DL_STREAM_TERMINATOR);
    wire.push(
      encodeFrame(
        encodeDeviceLinkMessage({ name: 'DLMessageStatusResponse', code: 0, status: DL_EMPTY_PARAMETER, value: {} }),
        { format: 'binary' },
      ),
    );
    const all = Buffer.concat(wire);
    let pushedWhilePaused = 0;
    for (let at = 0; at < all.length; at += 16 * 1024) {
      // The computer writes as fast as the socket lets it: while paused it waits.
      while (paused()) await new Promise((r) => setImmediate(r));
      const piece = all.subarray(at, at + 16 * 1024);
      push(piece);
      if (paused()) pushedWhilePaused += piece.length;
    }

    const out = await got;
    assert.ok(frames > 100, `${frames} frames`);
    assert.ok(pauses() > 0, 'the device paused a computer sending faster than it read');
    assert.ok(
      pushedWhilePaused <= 16 * 1024 * pauses(),
      'nothing was sent past the pause but the piece that caused it',
    );
    assert.deepEqual([...out.keys()], ['U/Manifest.db']);
    const db = out.get('U/Manifest.db');
    assert.ok(db);
    assert.equal(db.length, bytes.length);
    assert.ok(Buffer.from(db).equals(Buffer.from(bytes)), 'byte for byte');
    assert.equal(readManifestDb(db).size, rows, 'the device reads every row');
  },
);
