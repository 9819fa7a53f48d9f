/**
 * File helpers of the emulator's state folder: private folders (0700), private files (0600)
 * written atomically (temporary file, then rename), plist files read back with clear errors.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { IbackupError } from '../errors.js';
import { parsePlist } from '../protocol/plist/index.js';
import { isPlistDict, type PlistDict } from '../protocol/plist/types.js';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;
/** State files are small; anything larger is not ours. */
const MAX_STATE_FILE = 16 * 1024 * 1024;

/** Creates the folder (and parents) and makes it private. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
  await chmod(path, DIR_MODE);
}

/** Writes `data` to `path` through a temporary file and a rename; the file is 0600. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(tmp, 'wx', FILE_MODE);
    try {
      await handle.writeFile(data);
      await handle.chmod(FILE_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw cause;
  }
}

/** The file's bytes, or null when it does not exist. */
export async function readFileIfExists(path: string): Promise<Uint8Array | null> {
  try {
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cause;
  }
}

/** An error for a state file that exists but cannot be used. */
export function damagedState(path: string, what: string, cause?: unknown): IbackupError {
  return new IbackupError('INTERNAL', {
    message: `The emulator state file ${path} is damaged: ${what}.`,
    remedy: 'Delete that file (the virtual iPhone then forgets what it held), or start with a fresh --state folder.',
    details: { path },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Reads a plist file holding a dict; null when absent; a damaged-state error when unusable. */
export async function readPlistDict(path: string): Promise<PlistDict | null> {
  const bytes = await readFileIfExists(path);
  if (bytes === null) return null;
  if (bytes.length > MAX_STATE_FILE) throw damagedState(path, 'it is far too large');
  let value;
  try {
    value = parsePlist(bytes);
  } catch (cause) {
    throw damagedState(path, 'it is not a readable plist', cause);
  }
  if (!isPlistDict(value)) throw damagedState(path, 'it does not hold a dictionary');
  return value;
}
