/**
 * mobilebackup2, device side: the DeviceLink handshake (version exchange, Hello) and the requests
 * a host sends — Backup, Info, List, ChangePassword, Restore — each answered with a final Response.
 */
import { decodeDeviceLinkMessage, encodeDeviceLinkMessage } from '../../../protocol/devicelink.js';
import { isPlistDict, numberValue, real, type PlistDict } from '../../../protocol/plist/index.js';
import { DlConnection } from '../../../transport/dl-connection.js';
import type { Link } from '../../../transport/link.js';
import { HostFiles, HostStatusError } from './host-files.js';

/** A request handler: runs against the host's files and returns the final Response fields. */
export type Mb2Handler = (request: PlistDict, files: HostFiles, signal: AbortSignal) => Promise<Mb2Result>;

export interface Mb2Result {
  code: number;
  description?: string;
  content?: string;
}

/** Ends a request with a MobileBackup error (thrown by a handler or a hook it calls). */
export class Mb2Failure extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
  ) {
    super(description);
  }
}

export interface Mb2Device {
  /** iOS version, e.g. "17.5.1" (chooses the DeviceLink version). */
  productVersion: string;
  /** Handlers by MessageName. */
  handlers: Record<string, Mb2Handler>;
  /** Called when a run starts; returns the signal that cancels it (syncCancelRequest, detach). */
  beginRun(): AbortController;
  endRun(c: AbortController): void;
}

const PROTOCOL_VERSIONS = [2.1, 2.0];

export function serveMobileBackup2(link: Link, device: Mb2Device): void {
  const dl = new DlConnection(link, { format: 'binary', timeoutMs: 30 * 60_000 });
  void session(dl, device).catch(() => dl.close());
}

async function session(dl: DlConnection, device: Mb2Device): Promise<void> {
  const major = Number(device.productVersion.split('.')[0]) >= 14 ? 400 : 300;
  await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageVersionExchange', kind: 'offer', major, minor: 0 }));
  const reply = decodeDeviceLinkMessage(await dl.receive());
  if (reply.name !== 'DLMessageVersionExchange' || reply.kind !== 'reply' || reply.status !== 'DLVersionsOk') {
    await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageDisconnect', reason: 'Version exchange failed' })).catch(() => undefined);
    dl.close();
    return;
  }
  await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageDeviceReady' }));
  const files = new HostFiles(dl);
  for (;;) {
    const msg = decodeDeviceLinkMessage(await dl.receive({ timeoutMs: 0 }));
    if (msg.name === 'DLMessageDisconnect') {
      dl.close();
      return;
    }
    if (msg.name === 'DLMessagePing') continue;
    if (msg.name !== 'DLMessageProcessMessage') {
      await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageDisconnect', reason: `Unexpected ${msg.name}` }));
      dl.close();
      return;
    }
    const request = msg.message;
    const name = typeof request.MessageName === 'string' ? request.MessageName : '';
    if (name === 'Hello') {
      await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageProcessMessage', message: hello(request) }));
      continue;
    }
    const handler = device.handlers[name];
    if (!handler) {
      await files.respond(1, name === 'Remove' ? 'Remove action is no longer supported' : `Unsupported request ${name || '(none)'}`);
      continue;
    }
    const control = device.beginRun();
    let result: Mb2Result;
    try {
      result = await handler(request, files, control.signal);
    } catch (err) {
      if (err instanceof Mb2Failure) result = { code: err.code, description: err.description };
      else if (err instanceof HostStatusError) result = { code: 100, description: `${err.message} (MBErrorDomain/100)` };
      else if (control.signal.aborted) result = { code: 202, description: 'Backup cancelled (MBErrorDomain/202)' };
      else throw err; // the connection is gone: nothing to answer
    } finally {
      device.endRun(control);
    }
    await files.respond(result.code, result.description ?? '', result.content);
  }
}

function hello(request: PlistDict): PlistDict {
  const offered = Array.isArray(request.SupportedProtocolVersions)
    ? request.SupportedProtocolVersions.map((v) => numberValue(v)).filter((v): v is number => v !== undefined)
    : [];
  const common = PROTOCOL_VERSIONS.find((v) => offered.some((o) => Math.abs(o - v) < 1e-9));
  if (common === undefined) return { MessageName: 'Response', ErrorCode: 1, ErrorDescription: 'No common supported protocol version' };
  return { MessageName: 'Response', ErrorCode: 0, ProtocolVersion: real(common) };
}

export { isPlistDict };
