// The lockdown client against a scripted lockdownd over an in-memory connection: every reply is
// decoded the same whatever the chunking (whole, split at every offset, one byte at a time), in
// XML and in binary, replies sent ahead of their request included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIbackupError } from '../../../src/errors.js';
import { LockdownClient } from '../../../src/host/lockdown/client.js';
import type { PairRecord } from '../../../src/host/lockdown/pairing.js';
import { FrameDecoder, encodeFrame, type PlistFormat } from '../../../src/protocol/frames.js';
import type { PlistDict, PlistValue } from '../../../src/protocol/plist/index.js';
import { Link } from '../../../src/transport/link.js';
import { ScriptedDevice, everyCut, memoryConnection, whole, together, type Cut } from '../../support/duplex.js';

const record = {
  HostID: 'B1F6A3E4-7C2D-4F5A-9E8B-0123456789AB',
  SystemBUID: 'D4C3B2A1-0000-4000-8000-000000000001',
} as Partial<PairRecord> as PairRecord;

const BACKUP_DOMAIN: PlistDict = {
  WillEncrypt: true,
  RequiresEncrypt: false,
  LastBackupDate: new Date('2024-05-06T07:08:09Z'),
  Blob: Uint8Array.from({ length: 40 }, (_, i) => i * 7),
  Count: 3,
};

/** A connection to a scripted lockdownd: the client on the host's end, the device decoding frames. */
function connect(cut: Cut): { client: LockdownClient; device: ScriptedDevice<PlistValue> } {
  const { host, device } = memoryConnection();
  return {
    client: new LockdownClient(new Link(host), { timeoutMs: 5_000 }),
    device: new ScriptedDevice(device, new FrameDecoder(), cut),
  };
}

/** The device reads the host's next request, checks its name, and answers with `reply`. */
async function answer(
  device: ScriptedDevice<PlistValue>,
  request: string,
  reply: PlistDict,
  format: PlistFormat,
): Promise<PlistDict> {
  const got = (await device.receive()) as PlistDict;
  assert.equal(got.Request, request);
  assert.equal(got.Label, 'ibackup');
  await device.send(encodeFrame({ Request: request, ...reply }, { format }));
  return got;
}

/** One conversation: values, a domain, a service, an error and a session without TLS. */
async function conversation(cut: Cut, format: PlistFormat): Promise<void> {
  const { client, device } = connect(cut);
  const script = (async () => {
    await answer(device, 'QueryType', { Type: 'com.apple.mobile.lockdown' }, format);
    await answer(device, 'GetValue', { Key: 'ProductVersion', Value: '17.5' }, format);
    const domain = await answer(
      device,
      'GetValue',
      { Domain: 'com.apple.mobile.backup', Value: BACKUP_DOMAIN },
      format,
    );
    assert.equal(domain.Domain, 'com.apple.mobile.backup');
    const service = await answer(
      device,
      'StartService',
      { Service: 'com.apple.mobilebackup2', Port: 49152, EnableServiceSSL: true },
      format,
    );
    assert.equal(service.Service, 'com.apple.mobilebackup2');
    assert.deepEqual(service.EscrowBag, Uint8Array.of(1, 2, 3));
    await answer(device, 'GetValue', { Key: 'NoSuchKey', Error: 'MissingValue' }, format);
    const start = await answer(device, 'StartSession', { SessionID: 'S-1', EnableSessionSSL: false }, format);
    assert.equal(start.HostID, record.HostID);
    assert.equal(start.SystemBUID, record.SystemBUID);
    const stop = await answer(device, 'StopSession', {}, format);
    assert.equal(stop.SessionID, 'S-1');
  })();
  const hostSide = (async () => {
    assert.equal(await client.queryType(), 'com.apple.mobile.lockdown');
    assert.equal(await client.getValue(undefined, 'ProductVersion'), '17.5');
    const domain = await client.getDomain('com.apple.mobile.backup');
    // data decodes as a view of the bytes received (a Buffer from binary, a Uint8Array from XML)
    assert.deepEqual({ ...domain, Blob: Uint8Array.from(domain.Blob as Uint8Array) }, BACKUP_DOMAIN);
    assert.deepEqual(await client.startService('com.apple.mobilebackup2', Uint8Array.of(1, 2, 3)), {
      port: 49152,
      ssl: true,
    });
    await assert.rejects(client.getValue(undefined, 'NoSuchKey'), (err: unknown) => {
      assert.ok(isIbackupError(err) && err.code === 'DEVICE_ERROR', String(err));
      assert.deepEqual(err.details, { lockdownError: 'MissingValue', request: 'GetValue' });
      return true;
    });
    await client.startSession(record);
    assert.equal(client.inSession, true);
    await client.stopSession();
    assert.equal(client.inSession, false);
  })();
  try {
    await together(hostSide, script);
  } finally {
    client.close();
  }
}

/** The longest reply of the conversation, for the cut offsets. */
function longestReply(format: PlistFormat): number {
  return encodeFrame({ Request: 'GetValue', Domain: 'com.apple.mobile.backup', Value: BACKUP_DOMAIN }, { format })
    .length;
}

for (const format of ['xml', 'binary'] as const) {
  test(`every ${format} reply is decoded whatever the chunking`, async () => {
    for (const cut of everyCut(longestReply(format))) {
      await conversation(cut, format).catch((err: unknown) => {
        throw new Error(`${cut.name}: ${String(err)}`, { cause: err });
      });
    }
  });
}

test('replies sent ahead of their request wait, undecoded, for it (split anywhere across both)', async () => {
  const first = encodeFrame({ Request: 'QueryType', Type: 'com.apple.mobile.lockdown' });
  const second = encodeFrame({ Request: 'GetValue', Key: 'DeviceName', Value: 'Ana’s iPhone' }, { format: 'binary' });
  for (const cut of everyCut(first.length + second.length)) {
    const { client, device } = connect(cut);
    try {
      const script = (async () => {
        assert.equal(((await device.receive()) as PlistDict).Request, 'QueryType');
        await device.send(first, second);
        assert.equal(((await device.receive()) as PlistDict).Key, 'DeviceName');
      })();
      const hostSide = (async () => {
        assert.equal(await client.queryType(), 'com.apple.mobile.lockdown', cut.name);
        assert.equal(await client.getValue(undefined, 'DeviceName'), 'Ana’s iPhone', cut.name);
      })();
      await together(hostSide, script);
    } finally {
      client.close();
    }
  }
});

test('a device that hangs up in the middle of a reply ends the request with CONNECTION_CLOSED', async () => {
  const reply = encodeFrame({ Request: 'QueryType', Type: 'com.apple.mobile.lockdown' });
  for (let n = 0; n < reply.length; n++) {
    const { client, device } = connect(whole);
    try {
      const asked = client.queryType();
      asked.catch(() => undefined); // checked below
      await device.receive();
      await device.send(reply.subarray(0, n));
      device.close();
      await assert.rejects(
        asked,
        (err: unknown) => isIbackupError(err) && err.code === 'CONNECTION_CLOSED',
        `cut at ${n}`,
      );
    } finally {
      client.close();
    }
  }
});

test('a reply that is not a dictionary is a PROTOCOL_DECODE error', async () => {
  const { client, device } = connect(whole);
  try {
    const asked = client.queryType();
    asked.catch(() => undefined); // checked below
    await device.receive();
    await device.send(encodeFrame(['QueryType']));
    await assert.rejects(asked, (err: unknown) => isIbackupError(err) && err.code === 'PROTOCOL_DECODE');
  } finally {
    client.close();
  }
});
