/**
 * Virtual iPhone profiles: the built-in `tiny`, `typical` and `big`, and JSON profile files merged
 * over a built-in. One device of a profile (`--ios X.Y`, the per-device differences of
 * `--devices N`, everything else derived from the seed) is made by profile-derive.ts.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { IbackupError } from '../errors.js';
import { DEFAULT_PASSCODE_TIMEOUT_SECONDS } from './ios-generations.js';
import { GB, deriveProfile, type DeriveOptions } from './profile-derive.js';
import { parseProfileJson, validateProfileOverrides } from './profile-schema.js';
import {
  PROFILE_NAMES,
  type DeviceProfile,
  type ProfileName,
  type ProfileOverrides,
  type ProfileSpec,
  type SpecBehaviour,
} from './profile-types.js';

export * from './profile-types.js';
export { DEFAULT_IOS_VERSION, deriveProfile, type DeriveOptions } from './profile-derive.js';
export { parseProfileJson, validateProfileOverrides } from './profile-schema.js';

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

export interface ResolveProfileOptions extends DeriveOptions {
  /** Built-in name, path to a JSON file, or overrides given in-process. Default: typical. */
  profile?: string | ProfileOverrides;
}

/** Loads a profile and resolves one device of it (see loadProfileSpec and deriveProfile). */
export async function resolveProfile(options: ResolveProfileOptions = {}): Promise<DeviceProfile> {
  const { profile, ...derive } = options;
  return deriveProfile(await loadProfileSpec(profile), derive);
}
