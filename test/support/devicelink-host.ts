/**
 * A minimal host for the virtual iPhone's mobilebackup2 service, for tests of the phone's session
 * behaviour: a TCP socket pair straight into the device's service (no lockdown), the DeviceLink
 * handshake, and a dumb answer to every file request (nothing to download, uploads swallowed,
 * everything else done) so a Backup runs to its end. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { DL_STREAM_TERMINATOR } from '../../src/protocol/dl-file-stream.js';
import {
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  type DeviceLinkMessage,
} from '../../src/protocol/devicelink.js';
import { real, type PlistDict } from '../../src/protocol/plist/index.js';
import { DlConnection } from '../../src/transport/dl-connection.js';
import { Link } from '../../src/transport/link.js';
import type { VirtualDevice } from '../../src/emulator/device.js';

const SERVICE = 'com.apple.mobilebackup2';
const WAIT_MS = 4_000;

export interface Mb2Session {
  dl: DlConnection;
  /** The DeviceLink major version the phone offered. */
  major: number;
  send(m: DeviceLinkMessage): Promise<void>;
  /** The next message from the phone (bounded wait). */
  next(timeoutMs?: number): Promise<DeviceLinkMessage>;
  request(message: PlistDict): Promise<void>;
  /** Closes the host's socket. */
  close(): void;
}

/** Connects a fresh socket pair to the phone's mobilebackup2 and does the version exchange and Hello. */
export async function openMb2(device: VirtualDevice): Promise<Mb2Session> {
  const service = device.services.get(SERVICE);
  assert.ok(service, 'the device has mobilebackup2');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const deviceSide = await accepted;
  server.close();
  service.serve(new Link(deviceSide), device);
  const dl = new DlConnection(new Link(sock), { format: 'xml', timeoutMs: WAIT_MS });
  const next = async (timeoutMs = WAIT_MS): Promise<DeviceLinkMessage> =>
    decodeDeviceLinkMessage(await dl.receive({ timeoutMs }));
  const send = (m: DeviceLinkMessage): Promise<void> => dl.send(encodeDeviceLinkMessage(m));
  const offer = await next();
  assert.ok(offer.name === 'DLMessageVersionExchange' && offer.kind === 'offer');
  await send({ name: 'DLMessageVersionExchange', kind: 'reply', status: 'DLVersionsOk', version: offer.major });
  assert.equal((await next()).name, 'DLMessageDeviceReady');
  const session: Mb2Session = {
    dl,
    major: offer.major,
    send,
    next,
    request: (message) => send({ name: 'DLMessageProcessMessage', message }),
    close: () => {
      sock.destroy();
      deviceSide.destroy();
    },
  };
  await session.request({ MessageName: 'Hello', SupportedProtocolVersions: [real(2.0), real(2.1)] });
  const hello = await next();
  assert.ok(hello.name === 'DLMessageProcessMessage' && hello.message.ErrorCode === 0);
  return session;
}

/** The phone's final Response of a request, and the requests it made before it. */
export interface RunOutcome {
  response: PlistDict;
  requests: string[];
}

/**
 * Answers the phone's requests until its final Response. `onRequest` runs before each answer
 * (to lock the phone mid-run, for example).
 */
export async function serveUntilResponse(
  s: Mb2Session,
  onRequest: (name: string, index: number) => void | Promise<void> = () => undefined,
): Promise<RunOutcome> {
  const requests: string[] = [];
  for (;;) {
    const msg = await s.next();
    if (msg.name === 'DLMessageProcessMessage') return { response: msg.message, requests };
    requests.push(msg.name);
    await onRequest(msg.name, requests.length - 1);
    await answer(s, msg);
  }
}

/** A host that holds nothing and does whatever it is asked. */
export async function answer(s: Mb2Session, msg: DeviceLinkMessage): Promise<void> {
  const ok = (value: PlistDict | number = {}): Promise<void> =>
    s.send({ name: 'DLMessageStatusResponse', code: 0, value });
  switch (msg.name) {
    case 'DLMessageDownloadFiles':
      await s.dl.writeRaw(DL_STREAM_TERMINATOR);
      return ok();
    case 'DLMessageUploadFiles':
      await s.dl.receiveStream('upload', () => undefined);
      return ok();
    case 'DLMessageGetFreeDiskSpace':
      return ok(1e12);
    case 'DLMessagePurgeDiskSpace':
      return s.send({ name: 'DLMessageStatusResponse', code: -1, status: 'Operation not supported' });
    default:
      return ok();
  }
}

/** Milliseconds until the phone's next message. */
export async function msUntilNext(s: Mb2Session, timeoutMs = WAIT_MS): Promise<{ ms: number; msg: DeviceLinkMessage }> {
  const started = Date.now();
  const msg = await s.next(timeoutMs);
  return { ms: Date.now() - started, msg };
}
