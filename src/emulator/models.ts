/**
 * Facts about iPhone models and iOS releases that the virtual iPhone reports: hardware model,
 * SoC, which iOS versions a model runs, and plausible build numbers and boot-loader versions.
 */

export interface IphoneModel {
  /** ProductType, e.g. "iPhone15,2". */
  readonly productType: string;
  /** Marketing name, e.g. "iPhone 14 Pro". */
  readonly marketingName: string;
  /** HardwareModel, e.g. "D73AP". */
  readonly hardwareModel: string;
  /** HardwarePlatform (the SoC), e.g. "t8120". */
  readonly hardwarePlatform: string;
  /** ChipID (the SoC number, 0x8120 for the A16). */
  readonly chipId: number;
  readonly boardId: number;
  readonly cpuArchitecture: 'armv7' | 'armv7s' | 'arm64' | 'arm64e';
  /** ModelNumber without the region suffix, e.g. "MQ0T3". */
  readonly modelNumber: string;
  /** Oldest and newest iOS "major.minor" the model runs. */
  readonly minIos: string;
  readonly maxIos: string;
}

/** Oldest first. */
export const IPHONE_MODELS: readonly IphoneModel[] = [
  {
    productType: 'iPhone4,1',
    marketingName: 'iPhone 4S',
    hardwareModel: 'N94AP',
    hardwarePlatform: 's5l8940x',
    chipId: 0x8940,
    boardId: 8,
    cpuArchitecture: 'armv7',
    modelNumber: 'MD235',
    minIos: '5.0',
    maxIos: '9.3',
  },
  {
    productType: 'iPhone5,2',
    marketingName: 'iPhone 5',
    hardwareModel: 'N42AP',
    hardwarePlatform: 's5l8950x',
    chipId: 0x8950,
    boardId: 2,
    cpuArchitecture: 'armv7s',
    modelNumber: 'MD656',
    minIos: '6.0',
    maxIos: '10.3',
  },
  {
    productType: 'iPhone6,1',
    marketingName: 'iPhone 5s',
    hardwareModel: 'N51AP',
    hardwarePlatform: 's5l8960x',
    chipId: 0x8960,
    boardId: 0,
    cpuArchitecture: 'arm64',
    modelNumber: 'ME432',
    minIos: '7.0',
    maxIos: '12.5',
  },
  {
    productType: 'iPhone7,2',
    marketingName: 'iPhone 6',
    hardwareModel: 'N61AP',
    hardwarePlatform: 't7000',
    chipId: 0x7000,
    boardId: 6,
    cpuArchitecture: 'arm64',
    modelNumber: 'MG4P2',
    minIos: '8.0',
    maxIos: '12.5',
  },
  {
    productType: 'iPhone9,1',
    marketingName: 'iPhone 7',
    hardwareModel: 'D10AP',
    hardwarePlatform: 't8010',
    chipId: 0x8010,
    boardId: 8,
    cpuArchitecture: 'arm64',
    modelNumber: 'MN8G2',
    minIos: '10.0',
    maxIos: '15.8',
  },
  {
    productType: 'iPhone10,3',
    marketingName: 'iPhone X',
    hardwareModel: 'D22AP',
    hardwarePlatform: 't8015',
    chipId: 0x8015,
    boardId: 6,
    cpuArchitecture: 'arm64',
    modelNumber: 'MQA52',
    minIos: '11.0',
    maxIos: '16.7',
  },
  {
    productType: 'iPhone11,2',
    marketingName: 'iPhone XS',
    hardwareModel: 'D321AP',
    hardwarePlatform: 't8020',
    chipId: 0x8020,
    boardId: 14,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MT9E2',
    minIos: '12.0',
    maxIos: '18.7',
  },
  {
    productType: 'iPhone12,1',
    marketingName: 'iPhone 11',
    hardwareModel: 'N104AP',
    hardwarePlatform: 't8030',
    chipId: 0x8030,
    boardId: 4,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MWLT2',
    minIos: '13.0',
    maxIos: '26.9',
  },
  {
    productType: 'iPhone13,2',
    marketingName: 'iPhone 12',
    hardwareModel: 'D53gAP',
    hardwarePlatform: 't8101',
    chipId: 0x8101,
    boardId: 10,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MGJ53',
    minIos: '14.0',
    maxIos: '26.9',
  },
  {
    productType: 'iPhone14,5',
    marketingName: 'iPhone 13',
    hardwareModel: 'D17AP',
    hardwarePlatform: 't8110',
    chipId: 0x8110,
    boardId: 10,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MLPF3',
    minIos: '15.0',
    maxIos: '26.9',
  },
  {
    productType: 'iPhone15,2',
    marketingName: 'iPhone 14 Pro',
    hardwareModel: 'D73AP',
    hardwarePlatform: 't8120',
    chipId: 0x8120,
    boardId: 12,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MQ0T3',
    minIos: '16.0',
    maxIos: '26.9',
  },
  {
    productType: 'iPhone15,4',
    marketingName: 'iPhone 15',
    hardwareModel: 'D37AP',
    hardwarePlatform: 't8120',
    chipId: 0x8120,
    boardId: 8,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MTP03',
    minIos: '17.0',
    maxIos: '26.9',
  },
  {
    productType: 'iPhone16,1',
    marketingName: 'iPhone 15 Pro',
    hardwareModel: 'D83AP',
    hardwarePlatform: 't8130',
    chipId: 0x8130,
    boardId: 4,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MTUV3',
    minIos: '17.0',
    maxIos: '26.9',
  },
  {
    productType: 'iPhone17,1',
    marketingName: 'iPhone 16 Pro',
    hardwareModel: 'D93AP',
    hardwarePlatform: 't8140',
    chipId: 0x8140,
    boardId: 6,
    cpuArchitecture: 'arm64e',
    modelNumber: 'MYMG3',
    minIos: '18.0',
    maxIos: '26.9',
  },
];

/** The model a profile uses when it names none and its iOS version allows it. */
export const DEFAULT_PRODUCT_TYPE = 'iPhone15,2';

export function findModel(productType: string): IphoneModel | undefined {
  return IPHONE_MODELS.find((m) => m.productType === productType);
}

/** Compares "a.b[.c]" versions numerically: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when the model runs that iOS version (compared on major.minor). */
export function modelRuns(model: IphoneModel, productVersion: string): boolean {
  const majorMinor = productVersion.split('.').slice(0, 2).join('.');
  return compareVersions(majorMinor, model.minIos) >= 0 && compareVersions(majorMinor, model.maxIos) <= 0;
}

/** The default model if it runs that iOS, else the newest model that does; undefined if none. */
export function modelForIos(productVersion: string): IphoneModel | undefined {
  const preferred = findModel(DEFAULT_PRODUCT_TYPE);
  if (preferred !== undefined && modelRuns(preferred, productVersion)) return preferred;
  for (let i = IPHONE_MODELS.length - 1; i >= 0; i--) {
    const m = IPHONE_MODELS[i];
    if (m !== undefined && modelRuns(m, productVersion)) return m;
  }
  return undefined;
}

/** iOS major versions that were released (there is no iOS 19 to 25: 18 was followed by 26). */
export function isReleasedIosMajor(major: number): boolean {
  return (major >= 2 && major <= 18) || major === 26;
}

/** Real build numbers of some releases; others get a plausible one from `buildVersionFor`. */
const KNOWN_BUILDS: Readonly<Record<string, string>> = {
  '5.0': '9A334',
  '6.0': '10A403',
  '7.0': '11A465',
  '8.0': '12A365',
  '9.3': '13E233',
  '9.3.5': '13G36',
  '10.0': '14A346',
  '10.3.3': '14G60',
  '11.0': '15A372',
  '12.0': '16A366',
  '12.5.7': '16H81',
  '13.0': '17A577',
  '14.0': '18A373',
  '15.0': '19A346',
  '15.8': '19H370',
  '16.0': '20A362',
  '16.7': '20H19',
  '17.0': '21A329',
  '17.1': '21B74',
  '17.2': '21C62',
  '17.3': '21D50',
  '17.4': '21E219',
  '17.4.1': '21E236',
  '17.5': '21F79',
  '17.5.1': '21F90',
  '17.6': '21G80',
  '17.6.1': '21G93',
  '18.0': '22A3354',
  '26.0': '23A341',
};

/**
 * BuildVersion for an iOS version: the real one when known, else the usual pattern
 * (train number, a letter per minor release, a number growing with the patch level).
 */
export function buildVersionFor(productVersion: string): string {
  const known = KNOWN_BUILDS[productVersion];
  if (known !== undefined) return known;
  const [major = 0, minor = 0, patch = 0] = productVersion.split('.').map(Number);
  const train = major >= 26 ? major - 3 : major + 4;
  const letter = String.fromCharCode(0x41 + Math.min(minor, 25));
  return `${train}${letter}${100 + patch * 20 + ((major * 7 + minor * 3) % 17)}`;
}

/** FirmwareVersion (the boot loader) that ships with an iOS major version. */
export function firmwareVersionFor(productVersion: string): string {
  const major = Number(productVersion.split('.')[0]);
  const table: Readonly<Record<number, string>> = {
    9: 'iBoot-2817.60.2',
    10: 'iBoot-3406.52.1',
    11: 'iBoot-4076.20.48',
    12: 'iBoot-4513.200.297',
    13: 'iBoot-5540.0.129',
    14: 'iBoot-6723.102.4',
    15: 'iBoot-7459.140.15',
    16: 'iBoot-8422.141.2',
    17: 'iBoot-10151.122.1',
    18: 'iBoot-11881.2.10',
    26: 'iBoot-13822.1.2',
  };
  return table[major] ?? (major < 9 ? 'iBoot-1940.10.58' : 'iBoot-13822.1.2');
}

/** BasebandVersion string plausible for the iOS version. */
export function basebandVersionFor(productVersion: string): string {
  const major = Number(productVersion.split('.')[0]);
  if (major >= 17) return '2.60.02';
  if (major >= 14) return '1.50.04';
  return '7.80.04';
}
