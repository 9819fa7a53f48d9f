/**
 * lockdownd's value store and its rules: GetValue / SetValue / RemoveValue by domain and key,
 * what a device answers before a session, and which values it refuses to change.
 */
import { isPlistDict, type PlistDict, type PlistValue } from '../protocol/plist/types.js';

/** A stored value, or a function computing it when read (the clock, live state). */
export type LockdownValue = PlistValue | (() => PlistValue);
export type LockdownDomain = Record<string, LockdownValue>;
/** Domain name → values; the root domain is ''. */
export type LockdownStore = Map<string, LockdownDomain>;

export const ROOT_DOMAIN = '';

export type ValueError =
  'MissingKey' | 'MissingValue' | 'GetProhibited' | 'SetProhibited' | 'ImmutableValue' | 'RemoveProhibited';

export type GetResult = { value: PlistValue } | { error: ValueError };
export type ChangeResult = { ok: true } | { error: ValueError };

/** Root keys a device answers before StartSession (GetValue without key returns just these). */
export const PRE_SESSION_KEYS: ReadonlySet<string> = new Set([
  'ActivationState',
  'BasebandCertId',
  'BasebandKeyHashInformation',
  'BasebandSerialNumber',
  'BasebandStatus',
  'BasebandVersion',
  'BoardId',
  'BuildVersion',
  'CPUArchitecture',
  'ChipID',
  'DeviceClass',
  'DeviceColor',
  'DeviceName',
  'DevicePublicKey',
  'DieID',
  'FirmwareVersion',
  'HardwareModel',
  'HardwarePlatform',
  'HasSiDP',
  'HumanReadableProductVersionString',
  'ModelNumber',
  'PartitionType',
  'PasswordProtected',
  'ProductName',
  'ProductType',
  'ProductVersion',
  'ProductionSOC',
  'ProtocolVersion',
  'RegionInfo',
  'SerialNumber',
  'SupportedDeviceFamilies',
  'TelephonyCapability',
  'UniqueChipID',
  'UniqueDeviceID',
  'UseRaptorCerts',
  'WiFiAddress',
]);

/** Root keys a paired host may change (SetValue in the root domain). */
export const SETTABLE_ROOT_KEYS: ReadonlySet<string> = new Set(['DeviceName', 'TimeZone', 'Uses24HourClock']);

/** Domains that hold preferences hosts write; any key there may be set or removed. */
export const WRITABLE_DOMAINS: ReadonlySet<string> = new Set([
  'com.apple.iTunes',
  'com.apple.international',
  'com.apple.mobile.wireless_lockdown',
  'com.apple.mobile.data_sync',
  'com.apple.mobile.sync_data_class',
  'com.apple.mobile.user_preferences',
  'com.apple.mobile.iTunes.store',
  'com.apple.mobile.iTunes.accessories',
  'com.apple.mobile.tethered_sync',
]);

/** Type a root key must keep when set (so DeviceName cannot become a number). */
const ROOT_KEY_TYPES: Readonly<Record<string, 'string' | 'boolean'>> = {
  DeviceName: 'string',
  TimeZone: 'string',
  Uses24HourClock: 'boolean',
};

/** The value with every computed entry evaluated (recursively inside dictionaries). */
export function resolveValue(v: LockdownValue): PlistValue {
  const value = typeof v === 'function' ? v() : v;
  if (isPlistDict(value)) {
    const out: PlistDict = {};
    for (const [k, x] of Object.entries(value)) out[k] = resolveValue(x);
    return out;
  }
  return value;
}

/** A domain as a plain dict, computed values evaluated. */
export function resolveDomain(domain: LockdownDomain, only?: ReadonlySet<string>): PlistDict {
  const out: PlistDict = {};
  for (const [k, v] of Object.entries(domain)) {
    if (only === undefined || only.has(k)) out[k] = resolveValue(v);
  }
  return out;
}

function own(domain: LockdownDomain, key: string): LockdownValue | undefined {
  return Object.prototype.hasOwnProperty.call(domain, key) ? domain[key] : undefined;
}

export interface ValueQuery {
  /** Domain name; absent or '' = the root domain. */
  domain?: string;
  /** Key; absent = the whole domain. */
  key?: string;
  /** A StartSession succeeded on this connection. */
  sessionActive: boolean;
}

/** lockdownd GetValue. */
export function getValue(store: LockdownStore, q: ValueQuery): GetResult {
  const domainName = q.domain ?? ROOT_DOMAIN;
  const isRoot = domainName === ROOT_DOMAIN;
  if (!q.sessionActive && !isRoot) return { error: 'GetProhibited' };
  const domain = store.get(domainName);
  if (domain === undefined) return { error: 'MissingValue' };
  if (q.key === undefined) {
    return { value: resolveDomain(domain, !q.sessionActive ? PRE_SESSION_KEYS : undefined) };
  }
  const v = own(domain, q.key);
  if (v === undefined) return { error: 'MissingValue' };
  if (!q.sessionActive && !PRE_SESSION_KEYS.has(q.key)) return { error: 'GetProhibited' };
  return { value: resolveValue(v) };
}

export interface ValueChange extends ValueQuery {
  value?: PlistValue;
}

/** lockdownd SetValue. */
export function setValue(store: LockdownStore, c: ValueChange): ChangeResult {
  const domainName = c.domain ?? ROOT_DOMAIN;
  if (c.key === undefined || c.key === '') return { error: 'MissingKey' };
  if (c.value === undefined) return { error: 'MissingValue' };
  if (!c.sessionActive || c.key === '__proto__') return { error: 'SetProhibited' };
  if (domainName === ROOT_DOMAIN) {
    const root = store.get(ROOT_DOMAIN);
    if (root === undefined) return { error: 'SetProhibited' };
    if (!SETTABLE_ROOT_KEYS.has(c.key)) {
      return { error: own(root, c.key) !== undefined ? 'ImmutableValue' : 'SetProhibited' };
    }
    const wanted = ROOT_KEY_TYPES[c.key];
    if (wanted !== undefined && typeof c.value !== wanted) return { error: 'SetProhibited' };
    if (c.key === 'DeviceName' && (c.value === '' || (typeof c.value === 'string' && c.value.length > 255))) {
      return { error: 'SetProhibited' };
    }
    root[c.key] = c.value;
    return { ok: true };
  }
  if (!WRITABLE_DOMAINS.has(domainName)) {
    const domain = store.get(domainName);
    return { error: domain !== undefined && own(domain, c.key) !== undefined ? 'ImmutableValue' : 'SetProhibited' };
  }
  let domain = store.get(domainName);
  if (domain === undefined) {
    domain = {};
    store.set(domainName, domain);
  }
  domain[c.key] = c.value;
  return { ok: true };
}

/** lockdownd RemoveValue. */
export function removeValue(store: LockdownStore, c: ValueQuery): ChangeResult {
  const domainName = c.domain ?? ROOT_DOMAIN;
  if (c.key === undefined || c.key === '') return { error: 'MissingKey' };
  if (!c.sessionActive || !WRITABLE_DOMAINS.has(domainName)) return { error: 'RemoveProhibited' };
  const domain = store.get(domainName);
  if (domain === undefined || own(domain, c.key) === undefined) return { error: 'MissingValue' };
  delete domain[c.key];
  return { ok: true };
}
