import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsRecordSplitter } from '../../../src/transport/tls-records.js';

// Two TLS records written by hand (type, version 3.3, length) followed by a plaintext lockdown frame.
const rec1 = Buffer.from([0x17, 0x03, 0x03, 0x00, 0x03, 0xaa, 0xbb, 0xcc]);
const rec2 = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00]);
const plain = Buffer.from([0x00, 0x00, 0x00, 0x04, 0x3c, 0x3f, 0x78, 0x6d]);
const stream = Buffer.concat([rec1, rec2, plain]);

function feed(chunks: Buffer[], established: boolean): { records: Buffer[]; plaintext: Buffer } {
  const s = new TlsRecordSplitter();
  const records: Buffer[] = [];
  const plaintext: Buffer[] = [];
  let left = false;
  for (const c of chunks) {
    if (left) {
      plaintext.push(c);
      continue;
    }
    const r = s.push(c, established);
    records.push(...r.records);
    if (r.plaintext) {
      left = true;
      plaintext.push(r.plaintext);
    }
  }
  return { records, plaintext: Buffer.concat(plaintext) };
}

test('whole records come out at every split point, and the plaintext tail is handed back', () => {
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const chunks = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)].filter((c) => c.length > 0);
      const { records, plaintext } = feed(chunks, true);
      assert.deepEqual(
        records.map((r) => r.toString('hex')),
        [rec1.toString('hex'), rec2.toString('hex')],
        `split ${a}/${b}`,
      );
      assert.equal(plaintext.toString('hex'), plain.toString('hex'), `split ${a}/${b}`);
    }
  }
});

test('before the handshake completes nothing is taken for plaintext', () => {
  const s = new TlsRecordSplitter();
  const r = s.push(Buffer.concat([rec1, plain]), false);
  assert.equal(r.records.length, 1);
  assert.equal(r.plaintext, undefined);
  assert.equal(s.takeRemainder().toString('hex'), plain.toString('hex'));
});

test('a wrong major version after the handshake means plaintext', () => {
  const s = new TlsRecordSplitter();
  const r = s.push(Buffer.from([0x17, 0x09, 0x03, 0x00, 0x00]), true);
  assert.equal(r.records.length, 0);
  assert.equal(r.plaintext?.length, 5);
});
