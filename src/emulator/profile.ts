/**
 * Virtual iPhone profiles: the built-in `tiny`, `typical` and `big`, JSON profile files merged
 * over a built-in, `--ios X.Y`, and the per-device differences of `--devices N`. Everything not
 * given is derived deterministically from the seed, so a profile always yields the same phone.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { IbackupError } from '../errors.js';
import * as ids from './ids.js';
import {
  DEFAULT_PRODUCT_TYPE,
  basebandVersionFor,
  buildVersionFor,
  findModel,
  firmwareVersionFor,
  isReleasedIosMajor,
  modelForIos,
  modelRuns,
  type IphoneModel,
} from './models.js';
import { defaultServiceTls } from './ios-connection.js';
import { DEFAULT_PASSCODE_TIMEOUT_SECONDS } from './ios-generations.js';
import { VERSION_PATTERN, parseProfileJson, validateProfileOverrides, validTimeScale } from './profile-schema.js';
import {
  PROFILE_NAMES,
  type DeviceBehaviour,
  type DeviceIdentity,
  type DeviceProfile,
  type ProfileName,
  type ProfileOverrides,
  type ProfileSpec,
  type SpecBehaviour,
} from './profile-types.js';

export * from './profile-types.js';
export { parseProfileJson, validateProfileOverrides } from './profile-schema.js';

export const DEFAULT_IOS_VERSION = '17.5.1';
const GB = 1_000_000_000;
/** What iOS itself occupies, counted in the used space. */
const SYSTEM_BYTES = 12 * GB;
/**
 * Used space per byte a backup holds. A backup leaves out each app itself, its Library/Caches and
 * tmp (Apple's iOS Data Storage Guidelines: everything in the app's home directory is backed up
 * "with the exception of the application bundle itself, the caches directory, and temp
 * directory"), and apps, media and whatever is stored in iCloud, such as the iCloud Photos library
 * (Apple Configurator User Guide, "backup": "Backups don't include apps or media ... or stored in
 * iCloud or iCloud Drive"). So the used space of a phone is several times its backup's size;
 * four times is a modest figure that keeps the big profile's phone within a test machine's disk.
 */
const USED_PER_BACKED_UP_BYTE = 4;

const BUILT_IN_BEHAVIOUR: SpecBehaviour = {
  trust: { mode: 'accept' },
  passcode: { mode: 'enter' },
  locked: false,
  serviceTls: {}, // what the iOS version does (ios-connection.ts), unless a profile says
  keyDerivationIterations: 10_000_000,
  passcodeTimeoutSeconds: DEFAULT_PASSCODE_TIMEOUT_SECONDS,
  timeScale: 1,
  faults: [],
};

const BUILT_IN: Readonly<Record<ProfileName, ProfileSpec>> = {
  tiny: {
    name: 'tiny',
    identity: { totalCapacityBytes: 64 * GB },
    behaviour: BUILT_IN_BEHAVIOUR,
    content: { seed: 1, files: 100, bytes: 4 * 1024 * 1024, hugeFiles: [] },
  },
  typical: {
    name: 'typical',
    identity: { totalCapacityBytes: 128 * GB },
    behaviour: BUILT_IN_BEHAVIOUR,
    content: { seed: 2, files: 5_000, bytes: 300 * 1024 * 1024, hugeFiles: [] },
  },
  big: {
    name: 'big',
    identity: { totalCapacityBytes: 256 * GB },
    behaviour: BUILT_IN_BEHAVIOUR,
    content: { seed: 3, files: 200_000, bytes: 2 * 1024 * 1024 * 1024, hugeFiles: [4.5 * 1024 * 1024 * 1024] },
  },
};

export function isProfileName(s: string): s is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(s);
}

/** A fresh copy of a built-in profile. */
export function builtInProfile(name: ProfileName): ProfileSpec {
  return structuredClone(BUILT_IN[name]);
}

/** Deep-merges validated overrides over a base profile (trust/passcode are replaced whole). */
export function mergeProfile(base: ProfileSpec, o: ProfileOverrides, name: string): ProfileSpec {
  const { serviceTls, ...behaviour } = o.behaviour ?? {};
  return {
    name: o.name ?? name,
    identity: { ...base.identity, ...o.identity },
    behaviour: { ...base.behaviour, ...behaviour, serviceTls: { ...base.behaviour.serviceTls, ...serviceTls } },
    content: { ...base.content, ...o.content },
  };
}

function usage(message: string, remedy: string, details: Record<string, unknown> = {}): IbackupError {
  return new IbackupError('USAGE', { message, remedy, details });
}

/**
 * The profile named by `profile`: a built-in name, a path to a JSON file, or overrides given
 * in-process (both merged over `typical` unless they say `"extends"`). Default: typical.
 */
export async function loadProfileSpec(profile?: string | ProfileOverrides): Promise<ProfileSpec> {
  if (profile === undefined) return builtInProfile('typical');
  if (typeof profile === 'string' && isProfileName(profile)) return builtInProfile(profile);
  let overrides: ProfileOverrides;
  let name: string;
  if (typeof profile === 'string') {
    let jsonText: string;
    try {
      jsonText = await readFile(profile, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new IbackupError('USAGE', {
        message:
          code === 'ENOENT'
            ? `Unknown profile "${profile}": it is not tiny, typical or big, and no such file exists.`
            : `Cannot read profile file ${profile}: ${(cause as Error).message}.`,
        remedy: 'Use --profile tiny, typical or big, or the path of a JSON profile file.',
        cause,
        details: { profile },
      });
    }
    overrides = parseProfileJson(jsonText, profile);
    name = basename(profile).replace(/\.json$/i, '');
  } else {
    overrides = validateProfileOverrides(profile, '(given in-process)');
    name = 'custom';
  }
  return mergeProfile(builtInProfile(overrides.extends ?? 'typical'), overrides, name);
}

export interface DeriveOptions {
  /** `--ios X.Y[.Z]`: iOS version (BuildVersion follows; the model too if the profile names none). */
  ios?: string;
  /** Device position for `--devices N` (0 … N-1). */
  index?: number;
  /** Seed of the identity and content (default: the profile's content seed). */
  seed?: number;
  /** `--time-scale X`: replaces the profile's `behaviour.timeScale`. */
  timeScale?: number;
}

/** Values that differ between the devices of `--devices N`; a profile's own value serves device 0 only. */
const PER_DEVICE_KEYS = [
  'udid',
  'uniqueChipId',
  'serialNumber',
  'mlbSerialNumber',
  'imei',
  'meid',
  'iccid',
  'phoneNumber',
  'wifiAddress',
  'bluetoothAddress',
  'ethernetAddress',
] as const satisfies readonly (keyof DeviceIdentity)[];

function checkIosVersion(version: string): void {
  const major = Number(version.split('.')[0]);
  if (!VERSION_PATTERN.test(version) || !isReleasedIosMajor(major)) {
    throw usage(
      `"${version}" is not an iOS version.`,
      'Give an iOS version like 17.5 or 16.7.2 (iOS 5 to 18, or 26).',
      { ios: version },
    );
  }
}

function chooseModel(explicit: Partial<DeviceIdentity>, productVersion: string): IphoneModel | undefined {
  const named = explicit.productType;
  if (named !== undefined) {
    const model = findModel(named);
    if (model !== undefined && !modelRuns(model, productVersion)) {
      throw usage(
        `${named} (${model.marketingName}) cannot run iOS ${productVersion}: it runs iOS ${model.minIos} to ${model.maxIos}.`,
        'Choose another iOS version, or leave identity.productType out of the profile so a fitting model is chosen.',
      );
    }
    return model;
  }
  const model = modelForIos(productVersion);
  if (model === undefined) {
    throw usage(`No iPhone model known to the emulator runs iOS ${productVersion}.`, 'Choose iOS 5.0 or later.');
  }
  return model;
}

/** Turns a profile into one fully resolved device. */
export function deriveProfile(spec: ProfileSpec, options: DeriveOptions = {}): DeviceProfile {
  const index = options.index ?? 0;
  if (!Number.isSafeInteger(index) || index < 0 || index > 9_999) {
    throw usage(`Device index ${index} is out of range.`, 'Use --devices with a number from 1 to 10000.');
  }
  if (
    options.seed !== undefined &&
    (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff)
  ) {
    throw usage(`Seed ${options.seed} is out of range.`, 'Use a whole number from 0 to 4294967295.');
  }
  if (options.ios !== undefined) checkIosVersion(options.ios);
  if (options.timeScale !== undefined && !validTimeScale(options.timeScale)) {
    throw usage(
      `Time scale ${options.timeScale} is out of range.`,
      'Use a number above 0 and at most 1000, e.g. 0.01 to run 100 times faster.',
    );
  }
  const explicit: Partial<DeviceIdentity> = { ...spec.identity };
  if (index > 0) for (const key of PER_DEVICE_KEYS) delete explicit[key];

  const baseSeed = options.seed ?? spec.content.seed;
  const productVersion = options.ios ?? explicit.productVersion ?? DEFAULT_IOS_VERSION;
  checkIosVersion(productVersion);
  const model = chooseModel(explicit, productVersion) ?? findModel(DEFAULT_PRODUCT_TYPE);
  if (model === undefined) throw new IbackupError('INTERNAL', { message: 'The default iPhone model is missing.' });
  const buildVersion =
    options.ios !== undefined
      ? buildVersionFor(productVersion)
      : (explicit.buildVersion ?? buildVersionFor(productVersion));

  const chipId = explicit.chipId ?? model.chipId;
  const udidStyle =
    explicit.udidStyle ??
    (explicit.udid !== undefined
      ? explicit.udid.includes('-')
        ? 'modern'
        : 'legacy40'
      : model.cpuArchitecture === 'arm64e'
        ? 'modern'
        : 'legacy40');
  if (
    explicit.udid !== undefined &&
    explicit.udidStyle !== undefined &&
    explicit.udid.includes('-') !== (udidStyle === 'modern')
  ) {
    throw usage(
      `identity.udid "${explicit.udid}" does not have the ${udidStyle} form that identity.udidStyle asks for.`,
      'Give a UDID of the matching form, or leave identity.udidStyle out.',
    );
  }
  const uniqueChipId =
    explicit.uniqueChipId ??
    (explicit.udid !== undefined ? ids.ecidFromUdid(explicit.udid) : undefined) ??
    ids.seededEcid(baseSeed, index);
  const udid =
    explicit.udid ?? (udidStyle === 'modern' ? ids.modernUdid(chipId, uniqueChipId) : ids.legacyUdid(baseSeed, index));
  const imei = explicit.imei ?? ids.seededImei(baseSeed, index);
  const mac = ids.seededMac(baseSeed, index);
  const baseName = explicit.deviceName ?? 'iPhone';

  const content = { ...spec.content, hugeFiles: [...spec.content.hugeFiles], seed: (spec.content.seed + index) >>> 0 };
  if (options.seed !== undefined) content.seed = (options.seed + index) >>> 0;
  const contentBytes = content.bytes + content.hugeFiles.reduce((a, b) => a + b, 0);
  const totalCapacityBytes = explicit.totalCapacityBytes ?? 128 * GB;
  if (contentBytes > totalCapacityBytes) {
    throw usage(
      `The profile's content (${contentBytes} bytes) does not fit its capacity (${totalCapacityBytes} bytes).`,
      'Raise identity.totalCapacityBytes or lower content.bytes / content.hugeFiles.',
    );
  }
  const usedBytes =
    explicit.usedBytes ?? Math.min(totalCapacityBytes, SYSTEM_BYTES + USED_PER_BACKED_UP_BYTE * contentBytes);
  if (usedBytes > totalCapacityBytes) {
    throw usage(
      `identity.usedBytes (${usedBytes}) is larger than identity.totalCapacityBytes (${totalCapacityBytes}).`,
      'Give a used size no larger than the capacity.',
    );
  }

  const identity: DeviceIdentity = {
    udid,
    udidStyle,
    deviceName: index === 0 ? baseName : `${baseName} (${index + 1})`,
    productType: explicit.productType ?? model.productType,
    marketingName:
      explicit.marketingName ?? findModel(explicit.productType ?? model.productType)?.marketingName ?? 'iPhone',
    productVersion,
    buildVersion,
    hardwareModel: explicit.hardwareModel ?? model.hardwareModel,
    hardwarePlatform: explicit.hardwarePlatform ?? model.hardwarePlatform,
    cpuArchitecture: explicit.cpuArchitecture ?? model.cpuArchitecture,
    chipId,
    boardId: explicit.boardId ?? model.boardId,
    uniqueChipId,
    modelNumber: explicit.modelNumber ?? model.modelNumber,
    regionInfo: explicit.regionInfo ?? 'LL/A',
    deviceColor: explicit.deviceColor ?? '1',
    serialNumber: explicit.serialNumber ?? ids.seededSerial(baseSeed, index),
    mlbSerialNumber: explicit.mlbSerialNumber ?? ids.seededMlbSerial(baseSeed, index),
    imei,
    meid: explicit.meid ?? imei.slice(0, 14),
    iccid: explicit.iccid ?? ids.seededIccid(baseSeed, index),
    phoneNumber: explicit.phoneNumber ?? ids.seededPhoneNumber(baseSeed, index),
    totalCapacityBytes,
    usedBytes,
    wifiAddress: explicit.wifiAddress ?? ids.formatMac(mac),
    bluetoothAddress: explicit.bluetoothAddress ?? ids.formatMac(mac, 1),
    ethernetAddress: explicit.ethernetAddress ?? ids.formatMac(mac, 2),
    basebandVersion: explicit.basebandVersion ?? basebandVersionFor(productVersion),
    firmwareVersion: explicit.firmwareVersion ?? firmwareVersionFor(productVersion),
    timeZone: explicit.timeZone ?? 'Europe/Paris',
    locale: explicit.locale ?? 'en_US',
    language: explicit.language ?? 'en',
    uses24HourClock: explicit.uses24HourClock ?? true,
    batteryLevel: explicit.batteryLevel ?? 87,
    batteryCharging: explicit.batteryCharging ?? true,
    passcodeSet: explicit.passcodeSet ?? true,
  };
  const behaviour: DeviceBehaviour = {
    ...structuredClone(spec.behaviour),
    serviceTls: { ...defaultServiceTls(productVersion), ...spec.behaviour.serviceTls },
  };
  if (options.timeScale !== undefined) behaviour.timeScale = options.timeScale;
  return { name: spec.name, index, identity, behaviour, content };
}

export interface ResolveProfileOptions extends DeriveOptions {
  /** Built-in name, path to a JSON file, or overrides given in-process. Default: typical. */
  profile?: string | ProfileOverrides;
}

/** Loads a profile and resolves one device of it (see loadProfileSpec and deriveProfile). */
export async function resolveProfile(options: ResolveProfileOptions = {}): Promise<DeviceProfile> {
  const { profile, ...derive } = options;
  return deriveProfile(await loadProfileSpec(profile), derive);
}
