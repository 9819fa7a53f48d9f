// The notification_proxy client against a scripted device over an in-memory connection: the
// notifications the device relays arrive in order whatever the chunking (several in one read, one
// split across reads, XML and binary), and Shutdown ends at the device's ProxyDeath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationProxyClient, Notifications } from '../../../src/host/services/notification-proxy.js';
import { FrameDecoder, encodeFrame } from '../../../src/protocol/frames.js';
import type { PlistValue } from '../../../src/protocol/plist/index.js';
import { Link } from '../../../src/transport/link.js';
import { ScriptedDevice, everyCut, memoryConnection, type Cut } from '../../support/duplex.js';

const RELAYED = [Notifications.syncCancelRequest, Notifications.passcodePresented, Notifications.passcodeDismissed];

/** Three relayed notifications in one stream, the middle one in binary, then ProxyDeath. */
const STREAM = [
  encodeFrame({ Command: 'RelayNotification', Name: RELAYED[0] as string }),
  encodeFrame({ Command: 'RelayNotification', Name: RELAYED[1] as string }, { format: 'binary' }),
  encodeFrame({ Command: 'RelayNotification', Name: RELAYED[2] as string }),
];
const PROXY_DEATH = encodeFrame({ Command: 'ProxyDeath' });

function connect(cut: Cut): { client: NotificationProxyClient; device: ScriptedDevice<PlistValue> } {
  const { host, device } = memoryConnection();
  return {
    client: new NotificationProxyClient(new Link(host)),
    device: new ScriptedDevice(device, new FrameDecoder(), cut),
  };
}

async function conversation(cut: Cut): Promise<void> {
  const { client, device } = connect(cut);
  const seen: string[] = [];
  client.on('notification', (name) => seen.push(name));
  await client.observe(Notifications.syncCancelRequest, Notifications.syncLockRequest);
  assert.deepEqual(await device.receive(), { Command: 'ObserveNotification', Name: Notifications.syncCancelRequest });
  assert.deepEqual(await device.receive(), { Command: 'ObserveNotification', Name: Notifications.syncLockRequest });
  await client.post(Notifications.syncDidStart);
  assert.deepEqual(await device.receive(), { Command: 'PostNotification', Name: Notifications.syncDidStart });

  await device.send(...STREAM);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, RELAYED);

  const started = Date.now();
  const closing = client.close(10_000);
  assert.deepEqual(await device.receive(), { Command: 'Shutdown' });
  await device.send(PROXY_DEATH);
  await closing;
  assert.ok(Date.now() - started < 5_000, 'close waited for its time limit instead of ProxyDeath');
}

test('relayed notifications arrive in order and ProxyDeath ends Shutdown, whatever the chunking', async () => {
  const longest = Buffer.concat(STREAM).length;
  for (const cut of everyCut(longest)) {
    await conversation(cut).catch((err: unknown) => {
      throw new Error(`${cut.name}: ${String(err)}`, { cause: err });
    });
  }
});

test('ProxyDeath sent right after the last relayed notification, in the same read, is seen', async () => {
  for (const cut of everyCut(Buffer.concat([...STREAM, PROXY_DEATH]).length)) {
    const { client, device } = connect(cut);
    const seen: string[] = [];
    client.on('notification', (name) => seen.push(name));
    const started = Date.now();
    const closing = client.close(10_000);
    assert.deepEqual(await device.receive(), { Command: 'Shutdown' });
    await device.send(...STREAM, PROXY_DEATH);
    await closing;
    assert.ok(Date.now() - started < 5_000, `${cut.name}: close waited for its time limit`);
    assert.deepEqual(seen, RELAYED, cut.name);
  }
});
