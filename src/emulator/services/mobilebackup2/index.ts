/**
 * mobilebackup2, device side: the DeviceLink handshake (version exchange, Hello) and the requests
 * a host sends — Backup, Info, List, ChangePassword, Restore — each answered with a final Response.
 * A request ends early when the owner cancels it on the phone (answered with 202) or when the host
 * goes away: a DLMessageDisconnect or a closed connection stops the run at once, even during a
 * silence, and nothing is answered.
 */
import { IbackupError } from '../../../errors.js';
import { decodeDeviceLinkMessage, encodeDeviceLinkMessage } from '../../../protocol/devicelink.js';
import { isPlistDict, numberValue, real, type PlistDict } from '../../../protocol/plist/index.js';
import type { Link } from '../../../transport/link.js';
import { deviceLinkMajor } from '../../ios-generations.js';
import { DeviceSideLink } from './device-link.js';
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

/** How a request's run ended: answered (success or error), or the host went away first. */
export type RunEnding = 'answered' | 'host-gone';

export interface Mb2Device {
  /** iOS version, e.g. "17.5.1" (chooses the DeviceLink version). */
  productVersion: string;
  /** Handlers by MessageName. */
  handlers: Record<string, Mb2Handler>;
  /** Called when a run of request `name` starts; returns what cancels it (owner, host gone, cable). */
  beginRun(name: string): AbortController;
  endRun(c: AbortController, name: string, ending: RunEnding): void;
}

/** The reason a run is aborted with when the host went away (nothing is answered then). */
export function hostGoneReason(): IbackupError {
  return new IbackupError('CONNECTION_CLOSED', { message: 'The computer went away during the request.' });
}

const PROTOCOL_VERSIONS = [2.1, 2.0];

export function serveMobileBackup2(link: Link, device: Mb2Device): void {
  const dl = new DeviceSideLink(link, { format: 'binary', timeoutMs: 30 * 60_000 });
  void session(dl, device).catch(() => dl.close());
}

async function session(dl: DeviceSideLink, device: Mb2Device): Promise<void> {
  const major = deviceLinkMajor(device.productVersion);
  await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageVersionExchange', kind: 'offer', major, minor: 0 }));
  const reply = decodeDeviceLinkMessage(await dl.receive());
  if (reply.name !== 'DLMessageVersionExchange' || reply.kind !== 'reply' || reply.status !== 'DLVersionsOk') {
    await dl
      .send(encodeDeviceLinkMessage({ name: 'DLMessageDisconnect', reason: 'Version exchange failed' }))
      .catch(() => undefined);
    dl.close();
    return;
  }
  await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageDeviceReady' }));
  const files = new HostFiles(dl);
  let running: AbortController | undefined;
  const hostGone = (): void => running?.abort(hostGoneReason());
  dl.onGoodbye = hostGone;
  dl.link.once('end', hostGone);
  for (;;) {
    // Pings are skipped and a goodbye throws (the session then ends) inside receive.
    const msg = decodeDeviceLinkMessage(await dl.receive({ timeoutMs: 0 }));
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
      await files.respond(
        1,
        name === 'Remove' ? 'Remove action is no longer supported' : `Unsupported request ${name || '(none)'}`,
      );
      continue;
    }
    const control = device.beginRun(name);
    running = control;
    if (dl.link.isClosed) control.abort(hostGoneReason());
    let result: Mb2Result | undefined;
    try {
      result = await runRequest(dl, () => handler(request, files, control.signal), control.signal);
    } finally {
      running = undefined;
      device.endRun(control, name, result === undefined ? 'host-gone' : 'answered');
    }
    if (result === undefined) {
      dl.close();
      return;
    }
    await files.respond(result.code, result.description ?? '', result.content);
  }
}

/** Runs a handler: its result, the error it ended with, or undefined when the host went away. */
async function runRequest(
  dl: DeviceSideLink,
  run: () => Promise<Mb2Result>,
  signal: AbortSignal,
): Promise<Mb2Result | undefined> {
  try {
    // Until the phone's first message, it listens for a goodbye (passcode prompt, preparation).
    dl.listenWhileSilent();
    return await run();
  } catch (err) {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof IbackupError && reason.code === 'CONNECTION_CLOSED') return undefined;
    if (err instanceof Mb2Failure) return { code: err.code, description: err.description };
    if (reason instanceof Mb2Failure) return { code: reason.code, description: reason.description };
    if (err instanceof HostStatusError) return { code: 100, description: `${err.message} (MBErrorDomain/100)` };
    if (dl.link.isClosed || (err instanceof IbackupError && err.code === 'CONNECTION_CLOSED')) return undefined;
    throw err;
  }
}

function hello(request: PlistDict): PlistDict {
  const offered = Array.isArray(request.SupportedProtocolVersions)
    ? request.SupportedProtocolVersions.map((v) => numberValue(v)).filter((v): v is number => v !== undefined)
    : [];
  const common = PROTOCOL_VERSIONS.find((v) => offered.some((o) => Math.abs(o - v) < 1e-9));
  if (common === undefined)
    return { MessageName: 'Response', ErrorCode: 1, ErrorDescription: 'No common supported protocol version' };
  return { MessageName: 'Response', ErrorCode: 0, ProtocolVersion: real(common) };
}

export { isPlistDict };
