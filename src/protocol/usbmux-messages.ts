/**
 * Typed usbmuxd plist messages. Requests carry `MessageType`; data replies carry none on the wire,
 * so their typed form names them by their one key (DeviceList, PairRecordData, BUID, ListenerList).
 */
import { IbackupError, decodeError } from '../errors.js';
import { isPlistDict, type PlistDict, type PlistValue } from './plist/types.js';

/** A port as sent in Connect's PortNumber: the 16-bit value byte-swapped (62078 → 32498). */
export function portToWire(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new IbackupError('INTERNAL', { message: `Invalid port ${port}.` });
  }
  return ((port & 0xff) << 8) | (port >> 8);
}

/** The port a Connect PortNumber means; PROTOCOL_DECODE when it is not a 16-bit value. */
export function portFromWire(portNumber: number): number {
  if (!Number.isInteger(portNumber) || portNumber < 0 || portNumber > 0xffff) {
    throw decodeError(`usbmux PortNumber ${portNumber} is not a 16-bit value`);
  }
  return ((portNumber & 0xff) << 8) | (portNumber >> 8);
}

/** Keys clients add to every request. */
export interface UsbmuxClientInfo {
  ClientVersionString?: string;
  ProgName?: string;
  kLibUSBMuxVersion?: number;
  BundleID?: string;
}

export const DEFAULT_USBMUX_CLIENT_INFO: UsbmuxClientInfo = {
  ClientVersionString: 'ibackup',
  ProgName: 'ibackup',
  kLibUSBMuxVersion: 3,
};

/** An unrecognised MessageType (or none), kept whole so a server can answer it. */
export interface UsbmuxUnknown {
  MessageType: 'unknown';
  name?: string;
  raw: PlistDict;
}

export type UsbmuxRequest =
  | UsbmuxUnknown
  | (UsbmuxClientInfo &
      (
        | { MessageType: 'ListDevices' }
        | { MessageType: 'Listen' }
        /** PortNumber is the byte-swapped wire value: see portFromWire. */
        | { MessageType: 'Connect'; DeviceID: number; PortNumber: number }
        | { MessageType: 'ReadPairRecord'; PairRecordID: string }
        | { MessageType: 'SavePairRecord'; PairRecordID: string; PairRecordData: Uint8Array; DeviceID?: number }
        | { MessageType: 'DeletePairRecord'; PairRecordID: string }
        | { MessageType: 'ReadBUID' }
        | { MessageType: 'ListListeners' }
      ));

export interface UsbmuxDeviceProperties {
  /** "USB" or "Network". */
  ConnectionType: string;
  DeviceID: number;
  /** The UDID. */
  SerialNumber: string;
  ConnectionSpeed?: number;
  LocationID?: number;
  ProductID?: number;
  NetworkAddress?: Uint8Array;
  EscapedFullServiceName?: string;
}

export interface UsbmuxAttached {
  MessageType: 'Attached';
  DeviceID: number;
  Properties: UsbmuxDeviceProperties;
}

export interface UsbmuxListener {
  Blacklisted?: boolean;
  BundleID?: string;
  ConnType?: number;
  'ID String'?: string;
  ProgName?: string;
  kLibUSBMuxVersion?: number;
}

export type UsbmuxReply =
  | { MessageType: 'Result'; Number: number }
  | UsbmuxAttached
  | { MessageType: 'Detached'; DeviceID: number }
  | { MessageType: 'Paired'; DeviceID: number }
  | { MessageType: 'DeviceList'; DeviceList: UsbmuxAttached[] }
  | { MessageType: 'PairRecordData'; PairRecordData: Uint8Array }
  | { MessageType: 'BUID'; BUID: string }
  | { MessageType: 'ListenerList'; ListenerList: UsbmuxListener[] }
  | UsbmuxUnknown;

// ---- field readers ----

function fail(type: string, key: string, want: string): never {
  throw new IbackupError('PROTOCOL_DECODE', {
    message: `Malformed data: usbmux ${type} field ${key} is not ${want}.`,
    details: { messageType: type, key },
  });
}

function int(d: PlistDict, key: string, type: string): number {
  const v = d[key];
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  return fail(type, key, 'an integer');
}

function str(d: PlistDict, key: string, type: string): string {
  const v = d[key];
  return typeof v === 'string' ? v : fail(type, key, 'a string');
}

function data(d: PlistDict, key: string, type: string): Uint8Array {
  const v = d[key];
  return v instanceof Uint8Array ? v : fail(type, key, 'data');
}

function dict(d: PlistDict, key: string, type: string): PlistDict {
  const v = d[key];
  return isPlistDict(v) ? v : fail(type, key, 'a dictionary');
}

function list(d: PlistDict, key: string, type: string): PlistDict[] {
  const v = d[key];
  if (!Array.isArray(v) || !v.every((x): x is PlistDict => isPlistDict(x)))
    return fail(type, key, 'a list of dictionaries');
  return v;
}

/** Optional keys: absent stays absent; present must have the right type. */
function opt<T>(
  d: PlistDict,
  key: string,
  read: (d: PlistDict, key: string, type: string) => T,
  type: string,
): Record<string, T> {
  return d[key] === undefined ? {} : { [key]: read(d, key, type) };
}

function bool(d: PlistDict, key: string, type: string): boolean {
  const v = d[key];
  return typeof v === 'boolean' ? v : fail(type, key, 'a boolean');
}

function clientInfo(d: PlistDict, t: string): UsbmuxClientInfo {
  return {
    ...opt(d, 'ClientVersionString', str, t),
    ...opt(d, 'ProgName', str, t),
    ...opt(d, 'kLibUSBMuxVersion', int, t),
    ...opt(d, 'BundleID', str, t),
  };
}

function properties(d: PlistDict, t: string): UsbmuxDeviceProperties {
  return {
    ConnectionType: str(d, 'ConnectionType', t),
    DeviceID: int(d, 'DeviceID', t),
    SerialNumber: str(d, 'SerialNumber', t),
    ...opt(d, 'ConnectionSpeed', int, t),
    ...opt(d, 'LocationID', int, t),
    ...opt(d, 'ProductID', int, t),
    ...opt(d, 'NetworkAddress', data, t),
    ...opt(d, 'EscapedFullServiceName', str, t),
  };
}

function attached(d: PlistDict): UsbmuxAttached {
  return {
    MessageType: 'Attached',
    DeviceID: int(d, 'DeviceID', 'Attached'),
    Properties: properties(dict(d, 'Properties', 'Attached'), 'Attached'),
  };
}

function listener(d: PlistDict): UsbmuxListener {
  const t = 'ListenerList';
  return {
    ...opt(d, 'Blacklisted', bool, t),
    ...opt(d, 'BundleID', str, t),
    ...opt(d, 'ConnType', int, t),
    ...opt(d, 'ID String', str, t),
    ...opt(d, 'ProgName', str, t),
    ...opt(d, 'kLibUSBMuxVersion', int, t),
  };
}

// ---- decoding ----

/**
 * A request received by a usbmuxd server. Unknown or missing MessageType → the `unknown` variant;
 * a known type with missing or mistyped fields → PROTOCOL_DECODE whose details name the type.
 */
export function decodeUsbmuxRequest(d: PlistDict): UsbmuxRequest {
  const t = d['MessageType'];
  if (typeof t !== 'string') return { MessageType: 'unknown', raw: d };
  const info = clientInfo(d, t);
  switch (t) {
    case 'ListDevices':
    case 'Listen':
    case 'ReadBUID':
    case 'ListListeners':
      return { ...info, MessageType: t };
    case 'Connect':
      return { ...info, MessageType: t, DeviceID: int(d, 'DeviceID', t), PortNumber: int(d, 'PortNumber', t) };
    case 'ReadPairRecord':
    case 'DeletePairRecord':
      return { ...info, MessageType: t, PairRecordID: str(d, 'PairRecordID', t) };
    case 'SavePairRecord':
      return {
        ...info,
        MessageType: t,
        PairRecordID: str(d, 'PairRecordID', t),
        PairRecordData: data(d, 'PairRecordData', t),
        ...opt(d, 'DeviceID', int, t),
      };
    default:
      return { MessageType: 'unknown', name: t, raw: d };
  }
}

/** A reply or event received by a usbmuxd client. */
export function decodeUsbmuxMessage(d: PlistDict): UsbmuxReply {
  const t = d['MessageType'];
  if (typeof t === 'string') {
    switch (t) {
      case 'Result':
        return { MessageType: t, Number: int(d, 'Number', t) };
      case 'Attached':
        return attached(d);
      case 'Detached':
      case 'Paired':
        return { MessageType: t, DeviceID: int(d, 'DeviceID', t) };
      default:
        return { MessageType: 'unknown', name: t, raw: d };
    }
  }
  if (t !== undefined) return { MessageType: 'unknown', raw: d };
  if ('DeviceList' in d)
    return { MessageType: 'DeviceList', DeviceList: list(d, 'DeviceList', 'DeviceList').map(attached) };
  if ('PairRecordData' in d)
    return { MessageType: 'PairRecordData', PairRecordData: data(d, 'PairRecordData', 'PairRecordData') };
  if ('BUID' in d) return { MessageType: 'BUID', BUID: str(d, 'BUID', 'BUID') };
  if ('ListenerList' in d)
    return { MessageType: 'ListenerList', ListenerList: list(d, 'ListenerList', 'ListenerList').map(listener) };
  return { MessageType: 'unknown', raw: d };
}

// ---- encoding ----

/** Copies defined fields only (a plist has no undefined). */
function defined(fields: Record<string, PlistValue | undefined>): PlistDict {
  const out: PlistDict = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

export function encodeUsbmuxRequest(req: UsbmuxRequest): PlistDict {
  if (req.MessageType === 'unknown') return req.raw;
  return defined({ ...req });
}

function encodeAttached(a: UsbmuxAttached): PlistDict {
  return { MessageType: 'Attached', DeviceID: a.DeviceID, Properties: defined({ ...a.Properties }) };
}

export function encodeUsbmuxMessage(msg: UsbmuxReply): PlistDict {
  switch (msg.MessageType) {
    case 'unknown':
      return msg.raw;
    case 'Attached':
      return encodeAttached(msg);
    case 'DeviceList':
      return { DeviceList: msg.DeviceList.map(encodeAttached) };
    case 'PairRecordData':
      return { PairRecordData: msg.PairRecordData };
    case 'BUID':
      return { BUID: msg.BUID };
    case 'ListenerList':
      return { ListenerList: msg.ListenerList.map((l) => defined({ ...l })) };
    default:
      return { ...msg };
  }
}

// ---- builders ----

type Info = UsbmuxClientInfo;
const I = DEFAULT_USBMUX_CLIENT_INFO;

export const usbmuxRequests = {
  listDevices: (info: Info = I): UsbmuxRequest => ({ ...info, MessageType: 'ListDevices' }),
  listen: (info: Info = I): UsbmuxRequest => ({ ...info, MessageType: 'Listen' }),
  /** `port` in host order; it is byte-swapped here. */
  connect: (deviceId: number, port: number, info: Info = I): UsbmuxRequest => ({
    ...info,
    MessageType: 'Connect',
    DeviceID: deviceId,
    PortNumber: portToWire(port),
  }),
  readPairRecord: (udid: string, info: Info = I): UsbmuxRequest => ({
    ...info,
    MessageType: 'ReadPairRecord',
    PairRecordID: udid,
  }),
  savePairRecord: (udid: string, record: Uint8Array, deviceId?: number, info: Info = I): UsbmuxRequest => ({
    ...info,
    MessageType: 'SavePairRecord',
    PairRecordID: udid,
    PairRecordData: record,
    ...(deviceId === undefined ? {} : { DeviceID: deviceId }),
  }),
  deletePairRecord: (udid: string, info: Info = I): UsbmuxRequest => ({
    ...info,
    MessageType: 'DeletePairRecord',
    PairRecordID: udid,
  }),
  readBuid: (info: Info = I): UsbmuxRequest => ({ ...info, MessageType: 'ReadBUID' }),
  listListeners: (info: Info = I): UsbmuxRequest => ({ ...info, MessageType: 'ListListeners' }),
};

function attachedOf(properties: UsbmuxDeviceProperties): UsbmuxAttached {
  return { MessageType: 'Attached', DeviceID: properties.DeviceID, Properties: properties };
}

export const usbmuxReplies = {
  result: (code: number): UsbmuxReply => ({ MessageType: 'Result', Number: code }),
  attached: attachedOf,
  detached: (deviceId: number): UsbmuxReply => ({ MessageType: 'Detached', DeviceID: deviceId }),
  paired: (deviceId: number): UsbmuxReply => ({ MessageType: 'Paired', DeviceID: deviceId }),
  deviceList: (devices: UsbmuxDeviceProperties[]): UsbmuxReply => ({
    MessageType: 'DeviceList',
    DeviceList: devices.map(attachedOf),
  }),
  pairRecordData: (record: Uint8Array): UsbmuxReply => ({ MessageType: 'PairRecordData', PairRecordData: record }),
  buid: (buid: string): UsbmuxReply => ({ MessageType: 'BUID', BUID: buid }),
  listenerList: (listeners: UsbmuxListener[]): UsbmuxReply => ({
    MessageType: 'ListenerList',
    ListenerList: listeners,
  }),
};
