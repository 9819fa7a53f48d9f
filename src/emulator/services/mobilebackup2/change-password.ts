/**
 * ChangePassword, device side (protocol.md §9, §10.3): turn backup encryption on (NewPassword),
 * off (OldPassword) or change the password (both). The phone asks for its passcode first, checks
 * the old password against the one it keeps, stores the new one (WillEncrypt follows), and re-keys
 * the computer's existing backup: its Manifest.plist keybag is re-wrapped with the new password so
 * the backup opens with it. Observers then see `com.apple.mobile.backup.domain_changed`.
 */
import { aesUnwrap, aesWrap, deriveKekAsync } from '../../../protocol/crypto.js';
import { buildKeybag, parseKeybag, type Keybag } from '../../../protocol/keybag.js';
import { isPlistDict, parsePlist, serializeBinaryPlist } from '../../../protocol/plist/index.js';
import { HostStatusError, type HostFiles } from './host-files.js';
import type { Mb2Handler, Mb2Result } from './index.js';
import { DL_STATUS } from '../../../protocol/devicelink-status.js';

export const DOMAIN_CHANGED = 'com.apple.mobile.backup.domain_changed';

/** DeviceLink codes of a file the host does not have: ENOENT, and "Multi status". */
const MISSING_CODES = new Set<number>([DL_STATUS.ENOENT, DL_STATUS.MULTI_STATUS]);

export interface PasswordDevice {
  udid: string;
  /** The stored backup password, null when encryption is off. */
  password(): string | null;
  /** Stores (or with null removes) the backup password; makes the backup keys on first use. */
  setPassword(password: string | null): Promise<void>;
  /** The passcode prompt; throws Mb2Failure 208 when the owner does not answer. */
  confirmPasscode(signal: AbortSignal): Promise<void>;
  post(name: string): void;
}

function invalid(description: string): Mb2Result {
  return { code: 207, description: `${description} (MBErrorDomain/207)` };
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function changePasswordHandler(dev: PasswordDevice): Mb2Handler {
  return async (req, files, signal) => {
    const target = typeof req.TargetIdentifier === 'string' ? req.TargetIdentifier : dev.udid;
    if (target.toLowerCase().replace(/-/g, '') !== dev.udid.toLowerCase().replace(/-/g, '')) {
      return { code: 1, description: 'TargetIdentifier does not match this device (MBErrorDomain/1)' };
    }
    const oldPassword = optionalString(req.OldPassword);
    const newPassword = optionalString(req.NewPassword);
    if (oldPassword === undefined && newPassword === undefined) {
      return { code: 1, description: 'ChangePassword needs OldPassword, NewPassword or both (MBErrorDomain/1)' };
    }
    await dev.confirmPasscode(signal);
    const stored = dev.password();
    if (stored === null && oldPassword !== undefined)
      return invalid('Invalid password: backup encryption is not turned on');
    if (stored !== null && oldPassword === undefined)
      return invalid('Invalid password: backup encryption is already on, the current password is needed');
    if (stored !== null && oldPassword !== stored) return invalid('Invalid password');

    await dev.setPassword(newPassword ?? null);
    if (oldPassword !== undefined && newPassword !== undefined)
      await rekeyHostBackup(files, dev.udid, oldPassword, newPassword);
    dev.post(DOMAIN_CHANGED);
    return { code: 0 };
  };
}

/** Re-wraps the keybag of the computer's backup of this device (staged copy first), if it has one. */
async function rekeyHostBackup(
  files: HostFiles,
  udid: string,
  oldPassword: string,
  newPassword: string,
): Promise<void> {
  for (const path of [`${udid}/Snapshot/Manifest.plist`, `${udid}/Manifest.plist`]) {
    const bytes = await downloadOne(files, path);
    if (bytes === undefined) continue;
    const updated = await rewrapManifestPlist(bytes, oldPassword, newPassword);
    if (updated) {
      await files.uploadFiles(
        [
          {
            devicePath: '/var/mobile/Library/Backup/Manifest.plist',
            backupPath: path,
            size: updated.length,
            chunks: () => [updated],
          },
        ],
        updated.length,
      );
    }
    return;
  }
}

async function downloadOne(files: HostFiles, path: string): Promise<Uint8Array | undefined> {
  try {
    return (await files.downloadFiles([path])).get(path);
  } catch (err) {
    if (err instanceof HostStatusError && MISSING_CODES.has(err.code)) return undefined;
    throw err;
  }
}

/**
 * A Manifest.plist whose BackupKeyBag is re-wrapped from the old password to the new one (same
 * salts and iteration counts); undefined when the plist is not an encrypted backup's or the old
 * password does not open its keybag.
 */
export async function rewrapManifestPlist(
  bytes: Uint8Array,
  oldPassword: string,
  newPassword: string,
): Promise<Uint8Array | undefined> {
  let keybag: Keybag;
  let plist;
  try {
    plist = parsePlist(bytes);
    if (!isPlistDict(plist) || plist.IsEncrypted !== true || !(plist.BackupKeyBag instanceof Uint8Array))
      return undefined;
    keybag = parseKeybag(plist.BackupKeyBag);
  } catch {
    return undefined;
  }
  const params = {
    salt: keybag.salt,
    iterations: keybag.iterations,
    ...(keybag.dpsl === undefined ? {} : { dpsl: keybag.dpsl }),
    ...(keybag.dpic === undefined ? {} : { dpic: keybag.dpic }),
  };
  let oldKek: Uint8Array;
  let newKek: Uint8Array;
  try {
    oldKek = await deriveKekAsync(oldPassword, params);
    newKek = await deriveKekAsync(newPassword, params);
  } catch {
    return undefined;
  }
  const classKeys = [];
  for (const ck of keybag.classKeys) {
    if ((ck.wrap & 2) === 0) {
      classKeys.push(ck);
      continue;
    }
    let key: Uint8Array | null;
    try {
      key = aesUnwrap(oldKek, ck.wrappedKey);
    } catch {
      key = null;
    }
    if (key === null) return undefined;
    classKeys.push({ ...ck, wrappedKey: aesWrap(newKek, key) });
  }
  return serializeBinaryPlist({ ...plist, BackupKeyBag: buildKeybag({ ...keybag, classKeys }) });
}
