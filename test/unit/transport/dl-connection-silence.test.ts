/**
 * The DeviceLink connection's allowance of silence: a wait for bytes ends with TIMEOUT once the
 * other side was silent for the whole allowance since that wait began, never earlier, however
 * many waits came before it (one timer serves them all); a stream's abort ends its wait with
 * CANCELLED; a closed connection leaves no timer behind. Time is Node's mock clock.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { DlConnection } from '../../../src/transport/dl-connection.js';
import { encodeFrame } from '../../../src/protocol/frames.js';
import type { Link } from '../../../src/transport/link.js';
import { isIbackupError } from '../../../src/errors.js';

function fakeLink(): { link: Link; push: (b: Uint8Array) => void } {
  const em = new EventEmitter();
  const link = Object.assign(em, {
    isClosed: false,
    pause: () => undefined,
    resume: () => undefined,
    write: async () => undefined,
    close: () => undefined,
  }) as unknown as Link;
  return { link, push: (b) => em.emit('data', Buffer.from(b)) };
}

const frame = (n: number): Uint8Array => encodeFrame(['DLMessageProcessMessage', { n }], { format: 'binary' });
const code = (e: unknown): string | undefined => (isIbackupError(e) ? e.code : undefined);
/** Settles what the mock clock released. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('bytes that keep coming within the allowance never time out; silence for all of it does', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.after(() => mock.timers.reset());
  const { link, push } = fakeLink();
  const dl = new DlConnection(link, { format: 'binary', timeoutMs: 1000 });
  for (let i = 0; i < 20; i++) {
    const got = dl.receive();
    mock.timers.tick(900); // each wait is 900 ms long: 18 s in all, far past one allowance
    push(frame(i));
    assert.deepEqual(await got, ['DLMessageProcessMessage', { n: i }]);
  }
  const silent = dl.receive().then(
    () => 'answered',
    (e: unknown) => code(e),
  );
  mock.timers.tick(999);
  await Promise.resolve();
  let outcome: string | undefined;
  void silent.then((o) => (outcome = o));
  await Promise.resolve();
  assert.equal(outcome, undefined, 'not before the allowance is over');
  mock.timers.tick(1);
  assert.equal(await silent, 'TIMEOUT');
  dl.close();
});

test('a shorter allowance for one wait is kept even while a longer one is armed', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.after(() => mock.timers.reset());
  const { link, push } = fakeLink();
  const dl = new DlConnection(link, { format: 'binary', timeoutMs: 60_000 });
  const first = dl.receive();
  push(frame(1));
  await first;
  const short = dl.receive({ timeoutMs: 50 }).catch((e: unknown) => code(e));
  mock.timers.tick(50);
  assert.equal(await short, 'TIMEOUT');
  dl.close();
});

test('an abort ends a stream waiting for bytes with CANCELLED; the stream listens once, not per wait', async () => {
  const { link, push } = fakeLink();
  const dl = new DlConnection(link, { format: 'binary', timeoutMs: 0 });
  const ac = new AbortController();
  let added = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => {
    added++;
    add(...args);
  }) as typeof ac.signal.addEventListener;
  const events: string[] = [];
  const stream = dl.receiveStream('upload', (e) => void events.push(e.type), { signal: ac.signal });
  // A file's name and half its header, a byte at a time: many waits for bytes.
  const name = Buffer.from('a/b');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(name.length);
  for (const b of [...head, ...name]) {
    push(Uint8Array.of(b));
    await settle();
  }
  ac.abort();
  await assert.rejects(stream, (e: unknown) => code(e) === 'CANCELLED');
  assert.equal(added, 1, 'one listener for the whole stream');
  dl.close();
});
