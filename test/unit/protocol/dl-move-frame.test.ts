import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { decodeDeviceLinkMessage, encodeDeviceLinkMessage } from '../../../src/protocol/devicelink.js';
import { encodeMoveFrame } from '../../../src/protocol/dl-move-frame.js';
import { encodeFrame } from '../../../src/protocol/frames.js';
import { parsePlist } from '../../../src/protocol/plist/index.js';

type Move = { from: string; to: string };

/** What the general encoder sends for the same request. */
function general(moves: Move[], progress: number): Uint8Array {
  return encodeFrame(encodeDeviceLinkMessage({ name: 'DLMessageMoveItems', moves, options: {}, progress }), {
    format: 'binary',
  });
}

function movesOf(n: number, path: (i: number) => string): Move[] {
  return Array.from({ length: n }, (_, i) => ({ from: `Snapshot/${path(i)}`, to: path(i) }));
}

describe('DeviceLink move frame', () => {
  test('is byte for byte what the general encoder writes, for every size of list, path and table', () => {
    const cases: Array<[Move[], number]> = [
      [[], 0],
      [movesOf(1, () => 'a'), 12.5],
      [movesOf(7, (i) => `x${i}`), 100],
      [movesOf(8, (i) => `${i}`.repeat(14)), 0.1],
      [movesOf(15, (i) => `p${'q'.repeat(i)}`), 50],
      [movesOf(127, (i) => `ab/${i}`), 1],
      [movesOf(128, (i) => `ab/${i}`), 1],
      [
        movesOf(
          1024,
          (i) =>
            `00008030-001A2B3C4D5E6F70/${(i * 7919).toString(16).padStart(40, '0').slice(0, 2)}/${(i * 7919).toString(16).padStart(40, '0')}`,
        ),
        42,
      ],
      [movesOf(3, (i) => `Résumé ${i} 😀`), 3],
      [movesOf(2, (i) => `${'é'.repeat(300)}${i}`), 4],
      [movesOf(2, (i) => `${'d'.repeat(70_000)}${i}`), 5],
      [movesOf(40_000, (i) => `f${i}`), 6],
    ];
    for (const [moves, progress] of cases) {
      assert.deepEqual(
        encodeMoveFrame('DLMessageMoveItems', moves, progress),
        general(moves, progress),
        `${moves.length} moves`,
      );
    }
  });

  test('decodes to the same request for any distinct paths (property)', () => {
    // A decoded dictionary is a JavaScript object, which lists integer-like keys ("0", "17") first
    // whatever their place in the frame; a phone's paths start with its folder's name, never such
    // a key, so the order of the moves is compared for the others.
    const notIndex = (s: string): boolean => !/^(0|[1-9][0-9]*)$/.test(s);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 40 }).filter(notIndex), { maxLength: 60 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (froms, progress) => {
          const moves = froms.map((from, i) => ({ from, to: `${from}/${i}` }));
          const frame = encodeMoveFrame('DLMessageMoveItems', moves, progress);
          const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
          assert.equal(length, frame.length - 4);
          const msg = decodeDeviceLinkMessage(parsePlist(frame.subarray(4)));
          assert.equal(msg.name, 'DLMessageMoveItems');
          if (msg.name !== 'DLMessageMoveItems') return;
          assert.deepEqual(msg.moves, moves);
          assert.equal(msg.progress, progress);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("Python's plistlib reads it", (t) => {
    const moves = movesOf(300, (i) => `dir/${i} é`);
    const frame = encodeMoveFrame('DLMessageMoveItems', moves, 33.25);
    const py = spawnSync(
      'python3',
      [
        '-c',
        'import plistlib,sys,json; v=plistlib.loads(sys.stdin.buffer.read()); print(json.dumps([v[0], len(v[1]), v[1]["Snapshot/dir/7 é"], v[2], v[3]]))',
      ],
      { input: frame.subarray(4) },
    );
    if (py.error) {
      t.skip('python3 is not installed');
      return;
    }
    assert.equal(py.status, 0, String(py.stderr));
    assert.deepEqual(JSON.parse(String(py.stdout)), ['DLMessageMoveItems', 300, 'dir/7 é', {}, 33.25]);
  });
});
