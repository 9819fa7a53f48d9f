/**
 * The per-phone automatic backup setting ("Back up automatically when this iPhone is connected"),
 * kept in ibackup's own folder as `auto-backup.json`: `{"version":1,"devices":{"<UDID>":{"enabled",
 * "everyMs"}}}`. A phone not in the file is on, once a day, as iTunes syncs on connect. Written to a
 * temporary name and renamed; a damaged file reads as the defaults (and is replaced on the next
 * change) rather than stopping every automatic backup.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const AUTO_POLICY_FILE = 'auto-backup.json';
export const DEFAULT_EVERY_MS = 24 * 3_600_000;

export interface AutoSetting {
  enabled: boolean;
  /** A new backup is due once the last complete one is this old. */
  everyMs: number;
}

export const DEFAULT_AUTO: Readonly<AutoSetting> = { enabled: true, everyMs: DEFAULT_EVERY_MS };

interface PolicyFile {
  version: 1;
  devices: Record<string, AutoSetting>;
}

/** UDIDs are keys without dashes, upper case, as they match everywhere else. */
function key(udid: string): string {
  return udid.replace(/-/g, '').toUpperCase();
}

function isSetting(v: unknown): v is AutoSetting {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Partial<AutoSetting>;
  return typeof s.enabled === 'boolean' && typeof s.everyMs === 'number' && Number.isFinite(s.everyMs) && s.everyMs > 0;
}

export class AutoPolicyStore {
  readonly path: string;

  /** `dir`: ibackup's own folder. */
  constructor(dir: string) {
    this.path = join(dir, AUTO_POLICY_FILE);
  }

  private async load(): Promise<PolicyFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, devices: {} };
      throw err;
    }
    try {
      const v = JSON.parse(text) as { devices?: unknown };
      const devices: Record<string, AutoSetting> = {};
      if (typeof v.devices === 'object' && v.devices !== null) {
        for (const [k, s] of Object.entries(v.devices)) if (isSetting(s)) devices[key(k)] = s;
      }
      return { version: 1, devices };
    } catch {
      return { version: 1, devices: {} };
    }
  }

  /** The phone's setting (the default when it was never changed). */
  async get(udid: string): Promise<AutoSetting> {
    const file = await this.load();
    return { ...(file.devices[key(udid)] ?? DEFAULT_AUTO) };
  }

  /** Every phone whose setting was changed, by UDID without dashes. */
  async all(): Promise<Record<string, AutoSetting>> {
    return (await this.load()).devices;
  }

  /** Changes the phone's setting and saves the file; returns the new setting. */
  async set(udid: string, patch: Partial<AutoSetting>): Promise<AutoSetting> {
    const file = await this.load();
    const next = { ...(file.devices[key(udid)] ?? DEFAULT_AUTO), ...patch };
    if (!isSetting(next)) throw new RangeError('an automatic backup setting needs enabled and a positive everyMs');
    file.devices[key(udid)] = next;
    await writeAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    return { ...next };
  }
}

/** Writes through a temporary file in the same folder and a rename. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
