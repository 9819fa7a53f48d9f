/**
 * Checks a JSON profile file before it is used: unknown keys, wrong types and impossible values
 * become one USAGE error naming the file and the key.
 */
import { IbackupError } from '../errors.js';
import { parseProfileFault } from './fault-spec.js';
import {
  PROFILE_NAMES,
  type ContentSpec,
  type DeviceBehaviour,
  type DeviceIdentity,
  type ProfileOverrides,
  type ServiceTls,
} from './profile-types.js';

/** Returns an error text ("must be …") or undefined when the value is fine. */
type Check = (value: unknown) => string | undefined;

const MAX_STRING = 256;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const text: Check = (v) =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_STRING
    ? undefined
    : `must be a non-empty string (at most ${MAX_STRING} characters)`;
const optionalText: Check = (v) =>
  typeof v === 'string' && v.length <= MAX_STRING ? undefined : `must be a string (at most ${MAX_STRING} characters)`;
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const count: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : 'must be a whole number, 0 or more';
const positive: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? undefined : 'must be a whole number, 1 or more';
const seed: Check = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
    ? undefined
    : 'must be a whole number from 0 to 4294967295';
const percent: Check = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 100
    ? undefined
    : 'must be a whole number from 0 to 100';
const pattern =
  (re: RegExp, example: string): Check =>
  (v) =>
    typeof v === 'string' && re.test(v) ? undefined : `must look like "${example}"`;
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v)
      ? undefined
      : `must be one of ${values.map((s) => `"${s}"`).join(', ')}`;
const listOf =
  (item: Check): Check =>
  (v) => {
    if (!Array.isArray(v)) return 'must be a list';
    for (const [i, x] of v.entries()) {
      const problem = item(x);
      if (problem !== undefined) return `item ${i} ${problem}`;
    }
    return undefined;
  };

const timeZone: Check = (v) => {
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) return 'must be a time zone like "Europe/Paris"';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return undefined;
  } catch {
    return 'must be a time zone like "Europe/Paris"';
  }
};

/** A time scale multiplies the phone's modelled delays: above 0, at most 1000. */
export function validTimeScale(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1000;
}

export const VERSION_PATTERN = /^\d{1,2}\.\d{1,2}(\.\d{1,2})?$/;
const mac = pattern(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a4:83:e7:12:34:56');
const udid = pattern(
  /^([0-9a-f]{40}|[0-9A-F]{8}-[0-9A-F]{16})$/,
  '00008120-001A2B3C4D5E802E" or 40 lowercase hex digits like "0123…',
);

const IDENTITY_CHECKS = {
  udid,
  udidStyle: oneOf(['legacy40', 'modern']),
  deviceName: text,
  productType: pattern(/^iPhone\d{1,2},\d{1,2}$/, 'iPhone15,2'),
  marketingName: text,
  productVersion: pattern(VERSION_PATTERN, '17.5.1'),
  buildVersion: pattern(/^\d{1,2}[A-Z]\d{1,4}[a-z]?$/, '21F90'),
  hardwareModel: text,
  hardwarePlatform: text,
  cpuArchitecture: text,
  chipId: count,
  boardId: count,
  uniqueChipId: count,
  modelNumber: text,
  regionInfo: text,
  deviceColor: text,
  serialNumber: pattern(/^[0-9A-Z]{8,17}$/, 'F2LXK0ABCD'),
  mlbSerialNumber: pattern(/^[0-9A-Z]{8,20}$/, 'F3Y1234567890ABCD'),
  imei: pattern(/^\d{15}$/, '356789012345678'),
  meid: pattern(/^[0-9A-F]{14}$/, '35678901234567'),
  iccid: pattern(/^\d{19,20}$/, '89012604123456789012'),
  phoneNumber: optionalText,
  totalCapacityBytes: positive,
  usedBytes: count,
  wifiAddress: mac,
  bluetoothAddress: mac,
  ethernetAddress: mac,
  basebandVersion: optionalText,
  firmwareVersion: text,
  timeZone,
  locale: text,
  language: text,
  uses24HourClock: bool,
  batteryLevel: percent,
  batteryCharging: bool,
  passcodeSet: bool,
} satisfies Record<keyof DeviceIdentity, Check>;

const SERVICE_TLS_KEYS: readonly (keyof ServiceTls)[] = [
  'afc',
  'notificationProxy',
  'mobilebackup2',
  'installationProxy',
];

/** `{mode, seconds?}` where only the listed modes take seconds. */
function modeCheck(modes: readonly string[], timed: string): (v: unknown, path: string) => string | undefined {
  return (v, path) => {
    if (!isObject(v)) return `"${path}" must be an object like {"mode": "${modes[0]}"}`;
    const modeProblem = oneOf(modes)(v['mode']);
    if (modeProblem !== undefined) return `"${path}.mode" ${modeProblem}`;
    for (const key of Object.keys(v)) {
      if (key !== 'mode' && !(key === 'seconds' && v['mode'] === timed)) return `unknown key "${path}.${key}"`;
    }
    if (v['mode'] === timed) {
      const s = v['seconds'];
      if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 86_400) {
        return `"${path}.seconds" must be a number of seconds from 0 to 86400`;
      }
    }
    return undefined;
  };
}

const BEHAVIOUR_CHECKS = {
  trust: modeCheck(['accept', 'deny', 'locked', 'pending'], 'pending'),
  passcode: modeCheck(['enter', 'never', 'after'], 'after'),
  locked: (v: unknown, path: string) => prefixed(path, bool(v)),
  keyDerivationIterations: (v: unknown, path: string) => prefixed(path, positive(v)),
  passcodeTimeoutSeconds: (v: unknown, path: string) =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 86_400
      ? undefined
      : `"${path}" must be a number of seconds from 0 to 86400`,
  preparationSeconds: (v: unknown, path: string) =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 86_400
      ? undefined
      : `"${path}" must be a number of seconds from 0 to 86400`,
  timeScale: (v: unknown, path: string) =>
    validTimeScale(v) ? undefined : `"${path}" must be a number above 0 (at most 1000), e.g. 0.01`,
  serviceTls: (v: unknown, path: string) => checkObject(v, path, SERVICE_TLS_KEYS, () => bool),
  faults: (v: unknown, path: string) => {
    if (!Array.isArray(v)) return `"${path}" must be a list of faults like ["throttle mbps=50"]`;
    for (const [i, f] of v.entries()) {
      try {
        parseProfileFault(f);
      } catch (err) {
        return `"${path}" item ${i}: ${(err instanceof Error ? err.message : String(err)).replace(/\.$/, '')}`;
      }
    }
    return undefined;
  },
} satisfies Record<keyof DeviceBehaviour, (v: unknown, path: string) => string | undefined>;

const CONTENT_CHECKS = {
  seed,
  files: count,
  bytes: count,
  hugeFiles: listOf(count),
  icloudPhotos: oneOf(['off', 'keep-originals', 'optimize']),
} satisfies Record<keyof ContentSpec, Check>;

function prefixed(path: string, problem: string | undefined): string | undefined {
  return problem === undefined ? undefined : `"${path}" ${problem}`;
}

/** Unknown keys first, then each known key with its check. */
function checkObject(
  v: unknown,
  path: string,
  keys: readonly string[],
  checkFor: (key: string) => Check,
): string | undefined {
  if (!isObject(v)) return `"${path}" must be an object`;
  for (const key of Object.keys(v)) {
    if (!keys.includes(key)) return `unknown key "${path}.${key}"`;
  }
  for (const key of Object.keys(v)) {
    const problem = checkFor(key)(v[key]);
    if (problem !== undefined) return `"${path}.${key}" ${problem}`;
  }
  return undefined;
}

function findProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'the profile must be a JSON object';
  const top = ['name', 'extends', 'identity', 'behaviour', 'content'];
  for (const key of Object.keys(value)) {
    if (!top.includes(key)) return `unknown key "${key}" (known: ${top.join(', ')})`;
  }
  if ('name' in value) {
    const p = prefixed('name', text(value['name']));
    if (p !== undefined) return p;
  }
  if ('extends' in value) {
    const p = prefixed('extends', oneOf(PROFILE_NAMES)(value['extends']));
    if (p !== undefined) return p;
  }
  if ('identity' in value) {
    const checks: Record<string, Check> = IDENTITY_CHECKS;
    const p = checkObject(value['identity'], 'identity', Object.keys(checks), (k) => checks[k] ?? text);
    if (p !== undefined) return p;
  }
  if ('behaviour' in value) {
    const b = value['behaviour'];
    if (!isObject(b)) return '"behaviour" must be an object';
    const checks: Record<string, (v: unknown, path: string) => string | undefined> = BEHAVIOUR_CHECKS;
    for (const key of Object.keys(b)) {
      const check = checks[key];
      if (check === undefined) return `unknown key "behaviour.${key}"`;
      const p = check(b[key], `behaviour.${key}`);
      if (p !== undefined) return p;
    }
  }
  if ('content' in value) {
    const checks: Record<string, Check> = CONTENT_CHECKS;
    const p = checkObject(value['content'], 'content', Object.keys(checks), (k) => checks[k] ?? count);
    if (p !== undefined) return p;
  }
  return undefined;
}

/**
 * Validates parsed JSON as profile overrides; throws IbackupError USAGE naming `source` and the
 * offending key. The returned value is the input, now known to have the ProfileOverrides shape.
 */
export function validateProfileOverrides(value: unknown, source: string): ProfileOverrides {
  const problem = findProblem(value);
  if (problem !== undefined) {
    throw new IbackupError('USAGE', {
      message: `Profile ${source}: ${problem}.`,
      remedy:
        'Fix the profile file (keys: name, extends, identity, behaviour, content), or use a built-in profile: tiny, typical, big.',
      details: { source },
    });
  }
  return value as ProfileOverrides;
}

/** Parses JSON text of a profile file and validates it. */
export function parseProfileJson(jsonText: string, source: string): ProfileOverrides {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText);
  } catch (cause) {
    throw new IbackupError('USAGE', {
      message: `Profile ${source} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}.`,
      remedy: 'Fix the JSON syntax of the profile file, or use a built-in profile: tiny, typical, big.',
      cause,
      details: { source },
    });
  }
  return validateProfileOverrides(parsed, source);
}
