/**
 * One device of a profile: the iOS version, model and build, its identifiers (seeded, or as the
 * profile gives them), capacity and used space, and its behaviour. Everything not given is derived
 * deterministically from the seed and the device's index, so a profile always yields the same phone.
 */
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
import { VERSION_PATTERN, validTimeScale } from './profile-schema.js';
import type { DeviceBehaviour, DeviceIdentity, DeviceProfile, ProfileSpec } from './profile-types.js';

export const DEFAULT_IOS_VERSION = '17.5.1';
export const GB = 1_000_000_000;
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

export function usage(message: string, remedy: string, details: Record<string, unknown> = {}): IbackupError {
  return new IbackupError('USAGE', { message, remedy, details });
}

/** Turns a profile into one fully resolved device. */
export function deriveProfile(spec: ProfileSpec, options: DeriveOptions = {}): DeviceProfile {
  const index = options.index ?? 0;
  checkOptions(options, index);
  const explicit: Partial<DeviceIdentity> = { ...spec.identity };
  if (index > 0) for (const key of PER_DEVICE_KEYS) delete explicit[key];
  const seed = { base: options.seed ?? spec.content.seed, index };
  const software = resolveSoftware(explicit, options.ios);
  const chip = resolveChip(explicit, software.model, seed);
  const content = { ...spec.content, hugeFiles: [...spec.content.hugeFiles], seed: (spec.content.seed + index) >>> 0 };
  if (options.seed !== undefined) content.seed = (options.seed + index) >>> 0;
  const space = resolveSpace(explicit, content.bytes + content.hugeFiles.reduce((a, b) => a + b, 0));
  const identity = buildIdentity(explicit, seed, { ...software, ...chip, ...space });
  const behaviour: DeviceBehaviour = {
    ...structuredClone(spec.behaviour),
    serviceTls: { ...defaultServiceTls(software.productVersion), ...spec.behaviour.serviceTls },
  };
  if (options.timeScale !== undefined) behaviour.timeScale = options.timeScale;
  return { name: spec.name, index, identity, behaviour, content };
}

/** The seed identifiers are drawn from, and the device's position. */
interface SeedAt {
  base: number;
  index: number;
}

function checkOptions(options: DeriveOptions, index: number): void {
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
}

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

interface Software {
  productVersion: string;
  buildVersion: string;
  model: IphoneModel;
}

/** The iOS version, the model that runs it and the build (`ios` is `--ios`). */
function resolveSoftware(explicit: Partial<DeviceIdentity>, ios: string | undefined): Software {
  const productVersion = ios ?? explicit.productVersion ?? DEFAULT_IOS_VERSION;
  checkIosVersion(productVersion);
  const model = chooseModel(explicit, productVersion) ?? findModel(DEFAULT_PRODUCT_TYPE);
  if (model === undefined) throw new IbackupError('INTERNAL', { message: 'The default iPhone model is missing.' });
  const buildVersion =
    ios !== undefined ? buildVersionFor(productVersion) : (explicit.buildVersion ?? buildVersionFor(productVersion));
  return { productVersion, buildVersion, model };
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

type Chip = Pick<DeviceIdentity, 'chipId' | 'udidStyle' | 'uniqueChipId' | 'udid'>;

/** The chip's identifiers and the UDID (modern form from the ECID, or the legacy 40-digit form). */
function resolveChip(explicit: Partial<DeviceIdentity>, model: IphoneModel, seed: SeedAt): Chip {
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
    ids.seededEcid(seed.base, seed.index);
  const udid =
    explicit.udid ??
    (udidStyle === 'modern' ? ids.modernUdid(chipId, uniqueChipId) : ids.legacyUdid(seed.base, seed.index));
  return { chipId, udidStyle, uniqueChipId, udid };
}

type Space = Pick<DeviceIdentity, 'totalCapacityBytes' | 'usedBytes'>;

/** Capacity and used space, checked against the content's size. */
function resolveSpace(explicit: Partial<DeviceIdentity>, contentBytes: number): Space {
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
  return { totalCapacityBytes, usedBytes };
}

/** The whole identity: what the profile gives, else the model's values, else seeded ones. */
function buildIdentity(explicit: Partial<DeviceIdentity>, seed: SeedAt, r: Software & Chip & Space): DeviceIdentity {
  const { base, index } = seed;
  const { model, productVersion } = r;
  const imei = explicit.imei ?? ids.seededImei(base, index);
  const mac = ids.seededMac(base, index);
  const baseName = explicit.deviceName ?? 'iPhone';
  return {
    udid: r.udid,
    udidStyle: r.udidStyle,
    deviceName: index === 0 ? baseName : `${baseName} (${index + 1})`,
    productType: explicit.productType ?? model.productType,
    marketingName:
      explicit.marketingName ?? findModel(explicit.productType ?? model.productType)?.marketingName ?? 'iPhone',
    productVersion,
    buildVersion: r.buildVersion,
    hardwareModel: explicit.hardwareModel ?? model.hardwareModel,
    hardwarePlatform: explicit.hardwarePlatform ?? model.hardwarePlatform,
    cpuArchitecture: explicit.cpuArchitecture ?? model.cpuArchitecture,
    chipId: r.chipId,
    boardId: explicit.boardId ?? model.boardId,
    uniqueChipId: r.uniqueChipId,
    modelNumber: explicit.modelNumber ?? model.modelNumber,
    regionInfo: explicit.regionInfo ?? 'LL/A',
    deviceColor: explicit.deviceColor ?? '1',
    serialNumber: explicit.serialNumber ?? ids.seededSerial(base, index),
    mlbSerialNumber: explicit.mlbSerialNumber ?? ids.seededMlbSerial(base, index),
    imei,
    meid: explicit.meid ?? imei.slice(0, 14),
    iccid: explicit.iccid ?? ids.seededIccid(base, index),
    phoneNumber: explicit.phoneNumber ?? ids.seededPhoneNumber(base, index),
    totalCapacityBytes: r.totalCapacityBytes,
    usedBytes: r.usedBytes,
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
}
