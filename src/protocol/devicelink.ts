/**
 * DeviceLink messages (mobilebackup2): plist arrays whose element 0 names the message and whose
 * other elements are positional. This module is the only place that reads them by position;
 * everything above sees the named fields of `DeviceLinkMessage`.
 */
import { decodeError } from '../errors.js';
import {
  PlistReal,
  asSignedCode,
  isPlistDict,
  numberValue,
  real,
  type PlistDict,
  type PlistValue,
} from './plist/types.js';
import { setEntry } from './plist/common.js';

/** Stands in for an absent string or dict argument. */
export const DL_EMPTY_PARAMETER = '___EmptyParameterString___';

/** Device → host requests the host answers with DLMessageStatusResponse (after any file stream). */
export const DL_DEVICE_REQUEST_NAMES = [
  'DLMessageDownloadFiles',
  'DLMessageUploadFiles',
  'DLMessageGetFreeDiskSpace',
  'DLContentsOfDirectory',
  'DLMessageCreateDirectory',
  'DLMessageMoveItems',
  'DLMessageMoveFiles',
  'DLMessageRemoveItems',
  'DLMessageRemoveFiles',
  'DLMessageCopyItem',
  'DLMessagePurgeDiskSpace',
] as const;
export type DlDeviceRequestName = (typeof DL_DEVICE_REQUEST_NAMES)[number];

/** Elements after the ones this module knows, kept so nothing is lost. */
interface Extra {
  extra?: PlistValue[];
}

/** Device → host `[name, major, minor]` (400, 0 on iOS 14+; 300 before). */
export interface DlVersionOffer {
  name: 'DLMessageVersionExchange';
  kind: 'offer';
  major: number;
  minor: number;
}
/** Host → device `[name, "DLVersionsOk", version]`. */
export interface DlVersionReply {
  name: 'DLMessageVersionExchange';
  kind: 'reply';
  status: string;
  version: number;
}
export interface DlDeviceReady {
  name: 'DLMessageDeviceReady';
}
/** Either direction: a mobilebackup2 request, the Hello, or the final Response. */
export interface DlProcessMessage {
  name: 'DLMessageProcessMessage';
  message: PlistDict;
}
export interface DlDisconnect {
  name: 'DLMessageDisconnect';
  reason?: string;
}
export interface DlPing {
  name: 'DLMessagePing';
  message?: string;
}
/** Host → device `[name, code, status string, value]`: the answer to every file-system request. */
export interface DlStatusResponse {
  name: 'DLMessageStatusResponse';
  /** 0 success, negative DeviceLink error codes (−13 multi status). */
  code: number;
  status?: string;
  value?: PlistValue;
}
/** `[name, [paths], options, progress, …]`. */
export interface DlDownloadFiles extends Extra {
  name: 'DLMessageDownloadFiles';
  files: string[];
  options: PlistDict;
  progress?: number;
}
/** `[name, options, progress, totalBytes, …]`; a file stream from the device follows. */
export interface DlUploadFiles extends Extra {
  name: 'DLMessageUploadFiles';
  options: PlistDict;
  progress?: number;
  totalBytes?: number;
}
export interface DlGetFreeDiskSpace extends Extra {
  name: 'DLMessageGetFreeDiskSpace';
}
export interface DlContentsOfDirectory extends Extra {
  name: 'DLContentsOfDirectory';
  path: string;
}
/** `[name, path, options, progress]`. */
export interface DlCreateDirectory extends Extra {
  name: 'DLMessageCreateDirectory';
  path: string;
  options: PlistDict;
  progress?: number;
}
/** `[name, {from: to, …}, options, progress]` (DLMessageMoveFiles is the older name). */
export interface DlMoveItems<
  N extends 'DLMessageMoveItems' | 'DLMessageMoveFiles' = 'DLMessageMoveItems',
> extends Extra {
  name: N;
  moves: Array<{ from: string; to: string }>;
  options: PlistDict;
  progress?: number;
}
/** `[name, [paths], options, progress]` (DLMessageRemoveFiles is the older name). */
export interface DlRemoveItems<
  N extends 'DLMessageRemoveItems' | 'DLMessageRemoveFiles' = 'DLMessageRemoveItems',
> extends Extra {
  name: N;
  paths: string[];
  options: PlistDict;
  progress?: number;
}
/** `[name, from, to, …]`. */
export interface DlCopyItem extends Extra {
  name: 'DLMessageCopyItem';
  from: string;
  to: string;
}
export interface DlPurgeDiskSpace extends Extra {
  name: 'DLMessagePurgeDiskSpace';
}
/** A message this module does not know; `raw` is the whole array. */
export interface DlUnknown {
  name: 'unknown';
  messageName: string;
  raw: PlistValue[];
}

export type DeviceLinkMessage =
  | DlVersionOffer
  | DlVersionReply
  | DlDeviceReady
  | DlProcessMessage
  | DlDisconnect
  | DlPing
  | DlStatusResponse
  | DlDownloadFiles
  | DlUploadFiles
  | DlGetFreeDiskSpace
  | DlContentsOfDirectory
  | DlCreateDirectory
  | DlMoveItems<'DLMessageMoveItems'>
  | DlMoveItems<'DLMessageMoveFiles'>
  | DlRemoveItems<'DLMessageRemoveItems'>
  | DlRemoveItems<'DLMessageRemoveFiles'>
  | DlCopyItem
  | DlPurgeDiskSpace
  | DlUnknown;

/** The typed message of one device request name. */
export type DlDeviceRequest<N extends DlDeviceRequestName = DlDeviceRequestName> = Extract<
  DeviceLinkMessage,
  { name: N }
>;

/** An exhaustive dispatch table over the device requests. */
export type DlRequestHandlers<R> = { [N in DlDeviceRequestName]: (message: DlDeviceRequest<N>) => R };

export function isDlDeviceRequest(m: DeviceLinkMessage): m is DlDeviceRequest {
  return (DL_DEVICE_REQUEST_NAMES as readonly string[]).includes(m.name);
}

// ---- decoding ----

class Reader {
  constructor(
    private readonly items: PlistValue[],
    private readonly name: string,
  ) {}

  private fail(i: number, want: string): never {
    throw decodeError(`${this.name} element ${i} is not ${want}`);
  }

  string(i: number): string {
    const v = this.items[i];
    return typeof v === 'string' ? v : this.fail(i, 'a string');
  }

  /** A string, or undefined when absent or the empty-parameter marker. */
  optString(i: number): string | undefined {
    const v = this.items[i];
    if (v === undefined || v === DL_EMPTY_PARAMETER) return undefined;
    return typeof v === 'string' ? v : this.fail(i, 'a string');
  }

  strings(i: number): string[] {
    const v = this.items[i];
    if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string'))
      return this.fail(i, 'a list of strings');
    return v;
  }

  /** A dict; absent or the empty-parameter marker reads as {}. */
  dict(i: number): PlistDict {
    const v = this.items[i];
    if (v === undefined || v === DL_EMPTY_PARAMETER) return {};
    return isPlistDict(v) ? v : this.fail(i, 'a dictionary');
  }

  requiredDict(i: number): PlistDict {
    const v = this.items[i];
    return isPlistDict(v) ? v : this.fail(i, 'a dictionary');
  }

  /** An integer or real; undefined when absent or the empty-parameter marker. */
  optNumber(i: number): number | undefined {
    const v = this.items[i];
    if (v === undefined || v === DL_EMPTY_PARAMETER) return undefined;
    const n = numberValue(v);
    return n === undefined ? this.fail(i, 'a number') : n;
  }

  number(i: number): number {
    return this.optNumber(i) ?? this.fail(i, 'a number');
  }

  code(i: number): number {
    const n = asSignedCode(this.items[i]);
    return n === undefined ? this.fail(i, 'an integer code') : n;
  }

  extra(from: number): Extra {
    return this.items.length > from ? { extra: this.items.slice(from) } : {};
  }
}

function moves(dict: PlistDict, name: string): Array<{ from: string; to: string }> {
  return Object.entries(dict).map(([from, to]) => {
    if (typeof to !== 'string') throw decodeError(`${name} destination for "${from}" is not a string`);
    return { from, to };
  });
}

/** Turns a received plist into a typed DeviceLink message; PROTOCOL_DECODE if malformed. */
export function decodeDeviceLinkMessage(value: PlistValue): DeviceLinkMessage {
  if (!Array.isArray(value) || value.length === 0) throw decodeError('DeviceLink message is not a non-empty array');
  const name = value[0];
  if (typeof name !== 'string') throw decodeError('DeviceLink message name is not a string');
  const r = new Reader(value, name);
  switch (name) {
    case 'DLMessageVersionExchange':
      if (typeof value[1] === 'string') return { name, kind: 'reply', status: r.string(1), version: r.number(2) };
      return { name, kind: 'offer', major: r.number(1), minor: r.optNumber(2) ?? 0 };
    case 'DLMessageDeviceReady':
      return { name };
    case 'DLMessageProcessMessage':
      return { name, message: r.requiredDict(1) };
    case 'DLMessageDisconnect':
    case 'DLMessagePing': {
      const text = r.optString(1);
      if (name === 'DLMessagePing') return text === undefined ? { name } : { name, message: text };
      return text === undefined ? { name } : { name, reason: text };
    }
    case 'DLMessageStatusResponse': {
      const status = r.optString(2);
      const v = value[3];
      return {
        name,
        code: r.code(1),
        ...(status === undefined ? {} : { status }),
        ...(v === undefined || v === DL_EMPTY_PARAMETER ? {} : { value: v }),
      };
    }
    case 'DLMessageDownloadFiles':
      return { name, files: r.strings(1), options: r.dict(2), ...progress(r, 3), ...r.extra(4) };
    case 'DLMessageUploadFiles': {
      const total = r.optNumber(3);
      return {
        name,
        options: r.dict(1),
        ...progress(r, 2),
        ...(total === undefined ? {} : { totalBytes: total }),
        ...r.extra(4),
      };
    }
    case 'DLMessageGetFreeDiskSpace':
    case 'DLMessagePurgeDiskSpace':
      return { name, ...r.extra(1) };
    case 'DLContentsOfDirectory':
      return { name, path: r.string(1), ...r.extra(2) };
    case 'DLMessageCreateDirectory':
      return { name, path: r.string(1), options: r.dict(2), ...progress(r, 3), ...r.extra(4) };
    case 'DLMessageMoveItems':
    case 'DLMessageMoveFiles':
      return { name, moves: moves(r.requiredDict(1), name), options: r.dict(2), ...progress(r, 3), ...r.extra(4) };
    case 'DLMessageRemoveItems':
    case 'DLMessageRemoveFiles':
      return { name, paths: r.strings(1), options: r.dict(2), ...progress(r, 3), ...r.extra(4) };
    case 'DLMessageCopyItem':
      return { name, from: r.string(1), to: r.string(2), ...r.extra(3) };
    default:
      return { name: 'unknown', messageName: name, raw: value };
  }
}

function progress(r: Reader, i: number): { progress?: number } {
  const p = r.optNumber(i);
  return p === undefined ? {} : { progress: p };
}

// ---- encoding ----

/** A status code as sent by libimobiledevice: negative values as unsigned 64-bit two's complement. */
export function encodeDlCode(code: number): number | bigint {
  return code < 0 ? BigInt.asUintN(64, BigInt(code)) : code;
}

/**
 * Positional elements; `undefined` in the middle becomes the empty-parameter marker and trailing
 * `undefined`s are dropped.
 */
function positional(name: string, items: Array<PlistValue | undefined>, extra?: PlistValue[]): PlistValue[] {
  let end = items.length;
  while (end > 0 && items[end - 1] === undefined) end--;
  const out: PlistValue[] = [name, ...items.slice(0, end).map((v) => v ?? DL_EMPTY_PARAMETER)];
  if (extra !== undefined && extra.length > 0) {
    if (end < items.length) out.push(...items.slice(end).map(() => DL_EMPTY_PARAMETER));
    out.push(...extra);
  }
  return out;
}

const asReal = (n: number | undefined): PlistReal | undefined => (n === undefined ? undefined : real(n));

/**
 * Filled key by key: Object.fromEntries gave each new key of a big list a shape of its own
 * (about 7 µs a key for a 1 024-path move list); keyed stores let the engine turn the object
 * into a hash table early.
 */
function moveDict(list: Array<{ from: string; to: string }>): PlistDict {
  const dict: PlistDict = {};
  for (const m of list) setEntry(dict, m.from, m.to);
  return dict;
}

/** The plist array for a message (reals where the wire carries reals: progress). */
export function encodeDeviceLinkMessage(msg: DeviceLinkMessage): PlistValue {
  switch (msg.name) {
    case 'DLMessageVersionExchange':
      return msg.kind === 'offer' ? [msg.name, msg.major, msg.minor] : [msg.name, msg.status, msg.version];
    case 'DLMessageDeviceReady':
      return [msg.name];
    case 'DLMessageProcessMessage':
      return [msg.name, msg.message];
    case 'DLMessageDisconnect':
      return [msg.name, msg.reason ?? DL_EMPTY_PARAMETER];
    case 'DLMessagePing':
      return [msg.name, msg.message ?? DL_EMPTY_PARAMETER];
    case 'DLMessageStatusResponse':
      return [msg.name, encodeDlCode(msg.code), msg.status ?? DL_EMPTY_PARAMETER, msg.value ?? DL_EMPTY_PARAMETER];
    case 'DLMessageDownloadFiles':
      return positional(msg.name, [msg.files, msg.options, asReal(msg.progress)], msg.extra);
    case 'DLMessageUploadFiles':
      return positional(msg.name, [msg.options, asReal(msg.progress), msg.totalBytes], msg.extra);
    case 'DLMessageGetFreeDiskSpace':
    case 'DLMessagePurgeDiskSpace':
      return positional(msg.name, [], msg.extra);
    case 'DLContentsOfDirectory':
      return positional(msg.name, [msg.path], msg.extra);
    case 'DLMessageCreateDirectory':
      return positional(msg.name, [msg.path, msg.options, asReal(msg.progress)], msg.extra);
    case 'DLMessageMoveItems':
    case 'DLMessageMoveFiles':
      return positional(msg.name, [moveDict(msg.moves), msg.options, asReal(msg.progress)], msg.extra);
    case 'DLMessageRemoveItems':
    case 'DLMessageRemoveFiles':
      return positional(msg.name, [msg.paths, msg.options, asReal(msg.progress)], msg.extra);
    case 'DLMessageCopyItem':
      return positional(msg.name, [msg.from, msg.to], msg.extra);
    case 'unknown':
      return msg.raw;
  }
}
