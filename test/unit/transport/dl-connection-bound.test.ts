/**
 * The DeviceLink connection's bound on unread data: past it the socket is paused, and it goes on
 * once the reader has taken half of it — or at once when the reader needs more than the bound
 * holds (a message larger than the bound must still arrive).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { DlConnection } from '../../../src/transport/dl-connection.js';
import { encodeFrame } from '../../../src/protocol/frames.js';
import type { Link } from '../../../src/transport/link.js';

/** A link that records pause and resume; bytes arrive when the test pushes them. */
function fakeLink(): { link: Link; push: (b: Uint8Array) => void; log: string[] } {
  const log: string[] = [];
  const em = new EventEmitter();
  const link = Object.assign(em, {
    isClosed: false,
    pause: () => void log.push('pause'),
    resume: () => void log.push('resume'),
    write: async () => undefined,
    close: () => undefined,
  }) as unknown as Link;
  return { link, push: (b) => em.emit('data', Buffer.from(b)), log };
}

test('messages beyond the bound pause the socket; reading them resumes it', async () => {
  const { link, push, log } = fakeLink();
  const dl = new DlConnection(link, { format: 'binary', highWaterMark: 4096, timeoutMs: 0 });
  const frames = Array.from({ length: 10 }, (_, i) =>
    encodeFrame(['DLMessageProcessMessage', { n: i, pad: 'x'.repeat(1000) }], { format: 'binary' }),
  );
  for (const f of frames.slice(0, 3)) push(f);
  assert.deepEqual(log, [], 'under the bound');
  for (const f of frames.slice(3)) push(f);
  assert.deepEqual(log, ['pause'], 'paused once past it');
  for (let i = 0; i < 10; i++) {
    const m = (await dl.receive()) as [string, { n: number }];
    assert.equal(m[1].n, i);
  }
  assert.deepEqual(log, ['pause', 'resume']);
});

test('a message larger than the bound arrives whole: the reader waiting for it resumes the socket', async () => {
  const { link, push, log } = fakeLink();
  const dl = new DlConnection(link, { format: 'binary', highWaterMark: 4096, timeoutMs: 0 });
  const big = encodeFrame(['DLMessageProcessMessage', { pad: 'y'.repeat(64 * 1024) }], { format: 'binary' });
  const got = dl.receive();
  for (let at = 0; at < big.length; at += 1000) {
    push(big.subarray(at, at + 1000));
    await new Promise((r) => setImmediate(r));
  }
  const m = (await got) as [string, { pad: string }];
  assert.equal(m[1].pad.length, 64 * 1024);
  assert.ok(log.includes('pause'), 'the bound was passed on the way');
  assert.equal(log.filter((x) => x === 'pause').length, log.filter((x) => x === 'resume').length, log.join(' '));
});
