/**
 * Fault "hostile": the virtual iPhone turns against the computer. When the host asks for a
 * Backup, the device sends requests a trustworthy phone never would — paths with `..`, absolute
 * paths, NUL and `\`, other devices' folders, paths through a symbolic link — for every request
 * that names a path, then checks the host still answers a proper request, or it sends malformed
 * messages (nesting past any limit, a huge length field, garbage, a file header with a huge
 * length). Every answer the host gives is recorded so tests can check each rule.
 */
import {
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  type DeviceLinkMessage,
} from '../../../protocol/devicelink.js';
import { encodeRawFrame } from '../../../protocol/frames.js';
import { real } from '../../../protocol/plist/index.js';
import { DlConnection } from '../../../transport/dl-connection.js';
import type { Link } from '../../../transport/link.js';
import { HOSTILE_ATTACKS, isHostileAttack, type HostileAttack } from '../../fault-spec.js';
import { HostFiles, HostStatusError, type UploadItem } from './host-files.js';
import { DL_STATUS } from '../../../protocol/devicelink-status.js';

export const HOSTILE_FAULT = 'hostile';
export { HOSTILE_ATTACKS, isHostileAttack, type HostileAttack };

/** One answer of the host to a hostile request. */
export interface HostileAnswer {
  request: string;
  path: string;
  /** DeviceLink status code (0 = the host did it). */
  code: number;
}

export interface HostileFault {
  readonly attack: HostileAttack;
  /** The host's answers, in order (path attacks). */
  readonly answers: HostileAnswer[];
  /** Files the host sent back for a hostile download (must stay empty). */
  readonly leaked: string[];
  /** Whether the host still answered a proper request after the hostile ones. */
  stillServing: boolean | undefined;
  /** Puts the device's own mobilebackup2 back. */
  clear(): void;
}

/** A device service as lockdown starts it (what the fault keeps of the real one, and replaces). */
export interface HostileService {
  readonly ssl: boolean;
  readonly needsEscrowBag?: boolean;
  serve(link: Link, device: unknown): void;
}

/** The device the fault turns: its identity and its table of services. */
export interface HostileTarget {
  readonly udid: string;
  readonly profile: { readonly identity: { readonly productVersion: string } };
  readonly services: Map<string, HostileService>;
}

const SERVICE = 'com.apple.mobilebackup2';
const CANARY = 'hostile-canary';

/**
 * Paths that must be refused, for a device `udid`. `escape` names a symbolic link the test may
 * place inside the device's folder (it points outside).
 */
export function hostilePaths(udid: string): string[] {
  return [
    `../${CANARY}.txt`,
    `${udid}/../${CANARY}.txt`,
    `${udid}/../../${CANARY}.txt`,
    `${udid}/..`,
    `/tmp/${CANARY}.txt`,
    '/etc/passwd',
    'C:/Windows/win.ini',
    `${udid}/a\\..\\..\\${CANARY}.txt`,
    `${udid}/nul\0${CANARY}.txt`,
    `OTHER-DEVICE/${CANARY}.txt`,
    `${udid}-20990101-000000/../${CANARY}.txt`,
    `${udid}/escape`,
    `${udid}/escape/${CANARY}.txt`,
    `${udid}/escape/sub/${CANARY}.txt`,
  ];
}

/**
 * Replaces the device's mobilebackup2 with the hostile one until `clear`; `served` is called each
 * time a computer connects to it (`ctl fault U hostile` takes it off after the first).
 */
export function installHostileFault(device: HostileTarget, attack: HostileAttack, served?: () => void): HostileFault {
  const original = device.services.get(SERVICE);
  if (!original) throw new Error('This virtual device has no mobilebackup2 service.');
  const fault: HostileFault = {
    attack,
    answers: [],
    leaked: [],
    stillServing: undefined,
    clear: () => {
      if (device.services.get(SERVICE) === hostile) device.services.set(SERVICE, original);
    },
  };
  const hostile: HostileService = {
    ...original,
    serve: (link: Link) => {
      served?.();
      const dl = new DlConnection(link, { format: 'binary', timeoutMs: 60_000 });
      void session(dl, device, fault)
        .catch(() => undefined)
        .finally(() => dl.close());
    },
  };
  device.services.set(SERVICE, hostile);
  return fault;
}

async function session(dl: DlConnection, device: HostileTarget, fault: HostileFault): Promise<void> {
  const send = (m: DeviceLinkMessage): Promise<void> => dl.send(encodeDeviceLinkMessage(m));
  const major = Number(device.profile.identity.productVersion.split('.')[0]) >= 14 ? 400 : 300;
  await send({ name: 'DLMessageVersionExchange', kind: 'offer', major, minor: 0 });
  const reply = decodeDeviceLinkMessage(await dl.receive());
  if (reply.name !== 'DLMessageVersionExchange') return;
  await send({ name: 'DLMessageDeviceReady' });
  const files = new HostFiles(dl);
  for (;;) {
    const msg = decodeDeviceLinkMessage(await dl.receive({ timeoutMs: 0 }));
    if (msg.name !== 'DLMessageProcessMessage') return;
    const name = msg.message.MessageName;
    if (name === 'Hello') {
      await send({
        name: 'DLMessageProcessMessage',
        message: { MessageName: 'Response', ErrorCode: 0, ProtocolVersion: real(2.1) },
      });
      continue;
    }
    if (fault.attack === 'paths') {
      await pathAttack(dl, files, device.udid, fault);
      await files.respond(1, 'The device sent hostile requests (test fault) (MBErrorDomain/1)');
      continue;
    }
    await dl.writeRaw(malformed(fault.attack));
    // The host must give up on this connection; wait until it does (or a minute passes).
    await dl.receive({ timeoutMs: 60_000 }).catch(() => undefined);
    return;
  }
}

/** The bytes of a malformed-message attack. */
function malformed(attack: Exclude<HostileAttack, 'paths'>): Uint8Array {
  switch (attack) {
    case 'deep-plist': {
      const depth = 200_000;
      const xml = `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">${'<array>'.repeat(depth)}${'</array>'.repeat(depth)}</plist>`;
      return encodeRawFrame(new TextEncoder().encode(xml));
    }
    case 'huge-frame': {
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, 0xfffffff0, false);
      return head; // and nothing after it
    }
    case 'garbage-frame': {
      const body = new Uint8Array(4096);
      body.set(new TextEncoder().encode('bplist00'));
      for (let i = 8; i < body.length; i++) body[i] = (i * 131 + 7) & 0xff;
      body.set([0, 0, 0, 0, 0, 0, 8, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], body.length - 32);
      return encodeRawFrame(body);
    }
    case 'huge-path-length': {
      const req = encodeRawFrame(new TextEncoder().encode(uploadRequestXml()));
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, 0xfffffff0, false);
      const out = new Uint8Array(req.length + header.length);
      out.set(req);
      out.set(header, req.length);
      return out;
    }
  }
}

function uploadRequestXml(): string {
  return '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><array><string>DLMessageUploadFiles</string><dict/><integer>0</integer><integer>0</integer></array></plist>';
}

async function pathAttack(dl: DlConnection, files: HostFiles, udid: string, fault: HostileFault): Promise<void> {
  const bad = hostilePaths(udid);
  const record = async (request: string, path: string, op: () => Promise<void>): Promise<void> => {
    try {
      await op();
      fault.answers.push({ request, path, code: 0 });
    } catch (err) {
      if (!(err instanceof HostStatusError)) throw err;
      fault.answers.push({ request, path, code: err.code });
    }
  };
  // Downloads: each path on its own, so each answer is recorded.
  for (const p of bad) {
    await record('DLMessageDownloadFiles', p, async () => {
      const got = await files.downloadFiles([p]);
      if (got.size > 0) {
        fault.leaked.push(p);
        return;
      }
      throw new HostStatusError('DLMessageDownloadFiles', DL_STATUS.MULTI_STATUS, 'refused', undefined);
    });
  }
  for (const p of bad)
    await record('DLContentsOfDirectory', p, () => files.contentsOfDirectory(p).then(() => undefined));
  for (const p of bad) await record('DLMessageCreateDirectory', p, () => files.createDirectory(p));
  for (const p of bad) await record('DLMessageUploadFiles', p, () => files.uploadFiles([canaryItem(p)], CANARY.length));
  for (const p of bad) {
    await record('DLMessageMoveItems', p, () => files.moveItems([{ from: `${udid}/Info.plist`, to: p }]));
    await record('DLMessageMoveItems', p, () => files.moveItems([{ from: p, to: `${udid}/${CANARY}-moved` }]));
  }
  for (const p of bad) await record('DLMessageRemoveItems', p, () => files.removeItems([p]));
  for (const p of bad) {
    await record('DLMessageCopyItem', p, () => copyItem(dl, `${udid}/Info.plist`, p));
    await record('DLMessageCopyItem', p, () => copyItem(dl, p, `${udid}/${CANARY}-copied`));
  }
  // The run goes on: a proper request still gets a proper answer.
  try {
    const listing = await files.contentsOfDirectory(udid);
    fault.stillServing = listing.has('Info.plist');
  } catch {
    fault.stillServing = false;
  }
}

function canaryItem(backupPath: string): UploadItem {
  const bytes = new TextEncoder().encode(CANARY);
  return { devicePath: `/var/mobile/${CANARY}`, backupPath, size: bytes.length, chunks: () => [bytes] };
}

async function copyItem(dl: DlConnection, from: string, to: string): Promise<void> {
  await dl.send(encodeDeviceLinkMessage({ name: 'DLMessageCopyItem', from, to }));
  const reply = decodeDeviceLinkMessage(await dl.receive());
  if (reply.name !== 'DLMessageStatusResponse')
    throw new HostStatusError('DLMessageCopyItem', -1, `unexpected ${reply.name}`, undefined);
  if (reply.code !== 0) throw new HostStatusError('DLMessageCopyItem', reply.code, reply.status ?? '', reply.value);
}

export { CANARY as HOSTILE_CANARY };
