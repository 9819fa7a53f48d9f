import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupTarget, TargetFile } from '../../../src/host/services/mobilebackup2.js';
import { UploadPipeline, type FileEnding } from '../../../src/host/services/upload-pipeline.js';
import { independentPaths } from '../../../src/host/services/item-order.js';

const te = new TextEncoder();
const td = new TextDecoder();
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A target whose operations take a little time; records what happened, in order. */
function slowTarget(opts: { failCreate?: string; failWrite?: string } = {}) {
  const log: string[] = [];
  const files = new Map<string, string>();
  let open = 0;
  let maxOpen = 0;
  const target: Pick<BackupTarget, 'createFile'> = {
    createFile: async (path) => {
      await tick(2);
      if (path === opts.failCreate) throw Object.assign(new Error('no such folder'), { code: 'ENOENT' });
      open++;
      maxOpen = Math.max(maxOpen, open);
      log.push(`create ${path}`);
      let body = '';
      const f: TargetFile = {
        write: async (c) => {
          await tick(1);
          if (path === opts.failWrite) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
          body += td.decode(c);
        },
        commit: async () => {
          await tick(2);
          open--;
          files.set(path, body);
          log.push(`commit ${path} ${body}`);
        },
        abort: async () => {
          open--;
          log.push(`abort ${path}`);
        },
      };
      return f;
    },
  };
  return { target: target as BackupTarget, log, files, maxOpen: () => maxOpen };
}

async function upload(p: UploadPipeline, files: Array<[string, string[], FileEnding?]>): Promise<void> {
  for (const [path, chunks, ending] of files) {
    p.fileStart(path, `/var/mobile/${path}`);
    for (const c of chunks) {
      p.data(te.encode(c));
      await p.room();
    }
    await p.fileEnd(ending ?? 'ok', ending === 'unreadable' ? 'Permission denied' : '');
  }
  await p.finish();
}

test('files are written while the stream goes on, each in order, all done by finish', async () => {
  const t = slowTarget();
  const received: string[] = [];
  const p = new UploadPipeline(t.target, {
    fail: () => ({ code: -1, text: 'x' }),
    received: (path, size) => received.push(`${path}:${size}`),
  });
  const list: Array<[string, string[]]> = Array.from({ length: 100 }, (_, i) => [
    `U/${i}`,
    [`a${i}`, `b${i}`, `c${i}`],
  ]);
  await upload(p, list);
  assert.equal(p.status, undefined);
  assert.equal(t.files.size, 100);
  for (let i = 0; i < 100; i++) assert.equal(t.files.get(`U/${i}`), `a${i}b${i}c${i}`);
  assert.equal(received.length, 100);
  assert.ok(t.maxOpen() > 1, 'several files were in flight at once');
  assert.ok(t.maxOpen() <= 32, `at most 32 files in flight, saw ${t.maxOpen()}`);
});

test('a second upload of the same path waits for the first; the later content wins', async () => {
  const t = slowTarget();
  const p = new UploadPipeline(t.target, { fail: () => ({ code: -1, text: 'x' }) });
  await upload(p, [
    ['U/Status.plist', ['first']],
    ['U/other', ['o']],
    ['U/Status.plist', ['second']],
  ]);
  assert.equal(t.files.get('U/Status.plist'), 'second');
  const mine = t.log.filter((l) => l.includes('Status.plist'));
  assert.deepEqual(mine, [
    'create U/Status.plist',
    'commit U/Status.plist first',
    'create U/Status.plist',
    'commit U/Status.plist second',
  ]);
});

test('failures are reported (the last one), the other files still land, a file the device gave up on is dropped', async () => {
  const t = slowTarget({ failCreate: 'U/bad', failWrite: 'U/full' });
  const failed: string[] = [];
  const p = new UploadPipeline(t.target, {
    fail: (err, path) => {
      failed.push(path);
      return { code: (err as { code?: string }).code === 'ENOSPC' ? -15 : -6, text: String(err) };
    },
  });
  await upload(p, [
    ['U/bad', ['x']],
    ['U/good', ['g']],
    ['U/full', ['y', 'z']],
    ['U/dropped', ['d'], 'dropped'],
  ]);
  assert.deepEqual(failed.sort(), ['U/bad', 'U/full']);
  assert.ok(p.status && [-6, -15].includes(p.status.code));
  assert.equal(t.files.get('U/good'), 'g');
  assert.equal(t.files.has('U/full'), false);
  assert.equal(t.files.has('U/dropped'), false);
  assert.ok(t.log.includes('abort U/full') && t.log.includes('abort U/dropped'));
});

test('a file the device could not read to the end is kept as it was sent, and reported', async () => {
  const t = slowTarget();
  const unreadable: string[] = [];
  const received: string[] = [];
  const p = new UploadPipeline(t.target, {
    fail: () => ({ code: -1, text: 'x' }),
    unreadable: (path, devicePath, reason) => unreadable.push(`${path} ${devicePath} ${reason}`),
    received: (path) => received.push(path),
  });
  await upload(p, [
    ['U/partial', ['ab', 'cd'], 'unreadable'],
    ['U/empty', [], 'unreadable'],
    ['U/whole', ['w']],
  ]);
  assert.equal(p.status, undefined, 'the stream is answered with success');
  assert.equal(t.files.get('U/partial'), 'abcd');
  assert.equal(t.files.get('U/empty'), '');
  assert.equal(t.files.get('U/whole'), 'w');
  assert.deepEqual(unreadable.sort(), [
    'U/empty /var/mobile/U/empty Permission denied',
    'U/partial /var/mobile/U/partial Permission denied',
  ]);
  assert.deepEqual(received.sort(), ['U/empty', 'U/partial', 'U/whole']);
});

test('abort drops the unfinished file and lets the queued ones finish', async () => {
  const t = slowTarget();
  const p = new UploadPipeline(t.target, { fail: () => ({ code: -1, text: 'x' }) });
  p.fileStart('U/a');
  p.data(te.encode('a'));
  await p.fileEnd('ok');
  p.fileStart('U/half');
  p.data(te.encode('h'));
  await p.abort();
  assert.equal(t.files.get('U/a'), 'a');
  assert.equal(t.files.has('U/half'), false);
  assert.ok(t.log.includes('abort U/half'));
});

test('bytes a file keeps in memory until its commit count against the bound, and are let go once it is on disk', async () => {
  let kept = 0;
  let peak = 0;
  const watched: { pipeline?: UploadPipeline } = {};
  const target = {
    createFile: async (): Promise<TargetFile> => {
      let mine = 0;
      return {
        get bufferedBytes() {
          return mine;
        },
        write: async (c: Uint8Array) => {
          mine += c.length;
          kept += c.length;
          peak = Math.max(peak, watched.pipeline?.bytesWaiting ?? 0);
        },
        commit: async () => {
          await tick(3);
          kept -= mine;
          mine = 0;
        },
        abort: async () => {
          kept -= mine;
          mine = 0;
        },
      };
    },
  } as unknown as BackupTarget;
  const pipeline = new UploadPipeline(target, { fail: () => ({ code: -1, text: 'x' }) }, { files: 100, bytes: 4096 });
  watched.pipeline = pipeline;
  const files: Array<[string, string[]]> = [];
  for (let i = 0; i < 40; i++) files.push([`f${i}`, ['a'.repeat(500), 'b'.repeat(500)]]);
  let maxKept = 0;
  for (const [path, chunks] of files) {
    pipeline.fileStart(path);
    for (const c of chunks) {
      pipeline.data(te.encode(c));
      await pipeline.room();
    }
    await pipeline.fileEnd('ok');
    maxKept = Math.max(maxKept, kept);
  }
  await pipeline.finish();
  assert.ok(maxKept <= 4096 + 1000, `kept in memory at most the bound and one file: ${maxKept}`);
  assert.ok(peak >= 1000, `counted while kept: ${peak}`);
  assert.equal(pipeline.bytesWaiting, 0);
  assert.equal(kept, 0);
});

test('moves and removes run several at a time only when they touch no common path', () => {
  assert.equal(independentPaths(['U/Snapshot/aa/1', 'U/aa/1', 'U/Snapshot/ab/2', 'U/ab/2']), true);
  assert.equal(independentPaths(['U/a', 'U/b', 'U/a']), false, 'a path twice');
  assert.equal(independentPaths(['U/a', 'U/a/b']), false, 'a path inside another');
  assert.equal(independentPaths(['U//a/', 'U/./a']), false, 'the same path written two ways');
  assert.equal(independentPaths(['U/ab', 'U/a']), true, 'a shared prefix that is not a folder');
  assert.equal(independentPaths([]), true);
  // A folder shared by many paths is looked at once: the nesting must still be seen after it.
  assert.equal(
    independentPaths(['U/x/y/1', 'U/x/y/2', 'U/x/z/3', 'U/x']),
    false,
    'a folder above paths checked earlier',
  );
  assert.equal(independentPaths(['U/x', 'U/x/y/1']), false, 'a folder two levels up');
  assert.equal(independentPaths(['U/x/y/1', 'U/x/y/2', 'U/x/z/3', 'U/w']), true);
  assert.equal(independentPaths(['U/a/', 'U/a/./b']), false, 'a path inside another, written unnormalised');
  assert.equal(independentPaths(['./U/a', 'U/a']), false, 'a leading "./"');
});
