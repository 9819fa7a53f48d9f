/**
 * "Encrypt local backup": turn the backup password on, change it, or turn it off. The device
 * keeps the password; it asks for its passcode first (iOS 16.1+), and it re-keys the backup
 * already on this computer so it stays readable with the new password.
 */
import { createBackupRoot } from '../backup/roots.js';
import { BackupStore } from '../backup/store.js';
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client } from '../host/services/mobilebackup2.js';
import { NP_SERVICE, NotificationProxyClient, Notifications } from '../host/services/notification-proxy.js';
import { numberValue, type PlistDict } from '../protocol/plist/index.js';
import { storeTarget } from './backup-target.js';
import { deviceWaitMs } from './device-wait.js';
import { mobileBackupError } from '../host/services/mobilebackup2-errors.js';

export type EncryptionAction = 'on' | 'off' | 'change';

export interface EncryptionOptions {
  /** The backup folder: the device re-keys `<root>/<UDID>` when it exists. */
  root: string;
  /** `on`: the new password; `off`/`change`: the current one. */
  password: string;
  /** `change`: the new password. */
  newPassword?: string;
  signal?: AbortSignal;
  /** The iPhone shows its passcode prompt (true) or closed it (false). */
  onPasscodePrompt?: (shown: boolean) => void;
}

export interface EncryptionStatus {
  udid: string;
  encryption: boolean;
}

export async function encryptionStatus(device: HostDevice, signal?: AbortSignal): Promise<EncryptionStatus> {
  const backup = await device.withSession((l) => l.getDomain('com.apple.mobile.backup'), signal);
  return { udid: device.udid, encryption: backup.WillEncrypt === true };
}

export async function changeEncryption(
  device: HostDevice,
  action: EncryptionAction,
  opts: EncryptionOptions,
): Promise<EncryptionStatus> {
  const { encryption } = await encryptionStatus(device, opts.signal);
  if (action === 'on' && encryption) {
    throw new IbackupError('ENCRYPTION_STATE', {
      message: 'Backup encryption is already on.',
      remedy: 'Use "ibackup encryption change" to set another password, or "off" to remove it.',
    });
  }
  if (action !== 'on' && !encryption) {
    throw new IbackupError('ENCRYPTION_STATE', {
      message: 'Backup encryption is off: there is no backup password to use.',
      remedy: 'Turn it on with "ibackup encryption on".',
    });
  }
  if (action === 'change' && !opts.newPassword)
    throw new IbackupError('PASSWORD_REQUIRED', { message: 'A new backup password is needed.' });

  const request: PlistDict = { MessageName: 'ChangePassword', TargetIdentifier: device.udid };
  if (action === 'on') request.NewPassword = opts.password;
  else request.OldPassword = opts.password;
  if (action === 'change') request.NewPassword = opts.newPassword as string;

  const np = new NotificationProxyClient(
    await device.startService(NP_SERVICE, opts.signal ? { signal: opts.signal } : {}),
  );
  let mb2: MobileBackup2Client | undefined;
  try {
    await np.observe(Notifications.passcodePresented, Notifications.passcodeDismissed);
    np.on('notification', (n) => {
      if (n === Notifications.passcodePresented) opts.onPasscodePrompt?.(true);
      else if (n === Notifications.passcodeDismissed) opts.onPasscodePrompt?.(false);
    });
    mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
    await mb2.handshake(opts.signal);
    await createBackupRoot(opts.root);
    const response = await mb2.run(
      request,
      storeTarget(new BackupStore(opts.root, device.udid)),
      {},
      { waitMs: deviceWaitMs(), ...(opts.signal ? { signal: opts.signal } : {}) },
    );
    const code = numberValue(response.ErrorCode) ?? -1;
    if (code === 207) {
      throw new IbackupError('WRONG_PASSWORD', {
        message: 'The current backup password is not correct; nothing was changed.',
        remedy:
          'Try again. If you forgot it: on the iPhone, Settings > General > Transfer or Reset iPhone > Reset > Reset All Settings removes it; then make a new backup.',
        details: { mobileBackupCode: 207 },
      });
    }
    if (code !== 0)
      throw mobileBackupError(code, typeof response.ErrorDescription === 'string' ? response.ErrorDescription : '');
  } finally {
    await mb2?.disconnect();
    await np.close();
  }
  return encryptionStatus(device, opts.signal);
}
