/**
 * What a virtual iPhone holds beyond lockdown: its content (kept across restarts through a change
 * journal in its state folder), the media partition AFC shows, the notification centre, running
 * backup requests, and the services lockdown starts.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlistDict } from '../protocol/plist/index.js';
import { serializeXmlPlist } from '../protocol/plist/index.js';
import { DeviceContent, folderOverrideStore, type MutationAction, type MutationSummary } from './content/index.js';
import type { ServiceDefinition, VirtualDevice } from './device.js';
import { createBackupKeys, keybagBytes } from './keybag.js';
import { DeviceFaults, parseProfileFault } from './faults.js';
import { keepsSnapshotOfInterruptedRun } from './ios-generations.js';
import type { DeviceProfile } from './profile-types.js';
import { serveAfc, AfcLocks } from './services/afc.js';
import { AfcFileSystem, type AfcMount } from './services/afc-fs.js';
import { serveDiagnosticsRelay } from './services/diagnostics-relay.js';
import { serveInstallationProxy, type InstalledApp } from './services/installation-proxy.js';
import { deviceBackupSource } from './services/mobilebackup2/backup-source.js';
import { backupExtras, type BackupExtras } from './services/mobilebackup2/extras.js';
import { ReinstalledApps } from './services/mobilebackup2/restore-apps.js';
import { backupHandlers, type BackupDevice } from './services/mobilebackup2/handlers.js';
import { installHostileFault, type HostileFault } from './services/mobilebackup2/hostile.js';
import {
  Mb2Failure,
  serveMobileBackup2,
  type Mb2Device,
  type Mb2Handler,
  type RunEnding,
} from './services/mobilebackup2/index.js';
import { NotificationBus, serveNotificationProxy } from './services/notification-proxy.js';
import { serveSpringboard } from './services/springboard.js';

/**
 * Posted by the phone when its owner cancels the sync: idevicebackup2 observes it and stops
 * (idevicebackup2.c (master fa0f791) ~line 115). A host posting it changes nothing on the phone:
 * libimobiledevice never posts it; the phone stops a run on DLMessageDisconnect or a closed socket.
 */
export const SYNC_CANCEL = 'com.apple.itunes-client.syncCancelRequest';
/** The answer to a request the owner cancelled on the phone. */
export const CANCELLED_ON_PHONE = 'Backup cancelled (MBErrorDomain/202)';
const JOURNAL = 'content-journal.json';

export class DeviceRuntime {
  readonly bus = new NotificationBus();
  readonly afc = new AfcFileSystem();
  readonly afcLocks = new AfcLocks();
  readonly runs = new Set<AbortController>();
  /** Extra mobilebackup2 requests (encryption, restore) registered by other modules. */
  readonly extraHandlers: Record<string, Mb2Handler> = {};
  /** Extra checks between backup phases (faults). */
  checkpoints: Array<(phase: string) => Promise<void>> = [];
  onBytes: (n: number) => Promise<void> | void = () => undefined;
  /** Injected faults (disconnect, throttle, stall…) and upload counters; hooked in by `services`. */
  readonly faults = new DeviceFaults();
  /** The last hostile service set by a fault, with the host's answers to it. */
  hostile: HostileFault | undefined;
  /** Asked for by a finished restore; the emulator detaches the device and plugs it back in. */
  onReboot: () => void = () => undefined;
  /** A Backup run the host walked away from left its snapshot (iOS 15); a restart clears it. */
  snapshotLeftBehind = false;
  private plainKeybagCache: Uint8Array | undefined;

  private constructor(
    readonly content: DeviceContent,
    private readonly stateDir: string,
    /** Apps a restore reinstalled from the host's RestoreApplications.plist (kept in the state folder). */
    readonly reinstalledApps: ReinstalledApps,
  ) {
    // No /com.apple.itunes.lock_sync until a host syncs: hosts open it with mode 2, "r+", which
    // creates it (libimobiledevice afc.h and pymobiledevice3 afc.py: O_RDWR | O_CREAT).
    this.afc.put('/iTunes_Control/iTunes/iTunesPrefs.plist', serializeXmlPlist({ iPodPrefs: new Uint8Array(8) }));
    this.afc.mkdirs('/Books');
    this.afc.mount('/DCIM', cameraRollMount(content, 'Media/DCIM'));
    // Photos.sqlite, its -wal, thumbnails and edits: /PhotoData on the media partition.
    this.afc.mount('/PhotoData', cameraRollMount(content, 'Media/PhotoData'));
  }

  /** Builds the device's content and replays the changes it recorded. */
  static async open(profile: DeviceProfile, stateDir: string): Promise<DeviceRuntime> {
    const content = DeviceContent.build(profile.content, {
      overrides: folderOverrideStore(join(stateDir, 'restored')),
      iosVersion: profile.identity.productVersion,
    });
    const journal = await readFile(join(stateDir, JOURNAL), 'utf8').catch(() => undefined);
    if (journal !== undefined) await content.applyMutations(JSON.parse(journal));
    return new DeviceRuntime(content, stateDir, await ReinstalledApps.open(stateDir));
  }

  /** Arms the faults a profile lists (once the device's services exist). */
  armFaults(profile: DeviceProfile): void {
    for (const f of profile.behaviour.faults) this.faults.set(parseProfileFault(f));
  }

  /** The owner cancels the sync on the phone: observers hear it, running requests end with 202. */
  cancelOnPhone(): number {
    this.bus.post(SYNC_CANCEL);
    for (const r of this.runs) r.abort(new Mb2Failure(202, CANCELLED_ON_PHONE));
    return this.runs.size;
  }

  async mutate(action: MutationAction, n: number): Promise<MutationSummary> {
    const summary = this.content.mutate(action, n);
    await this.saveJournal();
    return summary;
  }

  async saveJournal(): Promise<void> {
    const path = join(this.stateDir, JOURNAL);
    await writeFile(`${path}.tmp`, JSON.stringify(this.content.serializeMutations()), { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }

  apps(): InstalledApp[] {
    const out: InstalledApp[] = this.reinstalledApps.list();
    const seen = new Set(out.map((a) => a.bundleId));
    for (const e of this.content.entries()) {
      if (!e.domain.startsWith('AppDomain-') || e.relativePath !== '') continue;
      const bundleId = e.domain.slice('AppDomain-'.length);
      if (seen.has(bundleId)) continue;
      seen.add(bundleId);
      const name = bundleId.split('.').pop() ?? bundleId;
      out.push({
        bundleId,
        name,
        version: '1.0',
        sinf: new TextEncoder().encode(`sinf:${bundleId}`),
        itunesMetadata: serializeXmlPlist({ itemName: name, softwareVersionBundleId: bundleId }),
      });
    }
    return out;
  }

  plainKeybag(): Uint8Array {
    this.plainKeybagCache ??= keybagBytes(createBackupKeys(), null, 0);
    return this.plainKeybagCache;
  }

  /** The services lockdown can start on this device. */
  services(device: VirtualDevice, profile: DeviceProfile): Map<string, ServiceDefinition> {
    this.faults.install(this, {
      disconnectAll: () => device.disconnectAll(),
      turnHostile: (attack, served) => (this.hostile = installHostileFault(device, attack, served)),
    });
    const tls = profile.behaviour.serviceTls;
    const identity = profile.identity;
    const mb2 = this.mobileBackup2(device, profile);
    const deviceInfo = () => ({
      Model: identity.productType,
      FSTotalBytes: String(identity.totalCapacityBytes),
      FSFreeBytes: String(Math.max(0, identity.totalCapacityBytes - identity.usedBytes)),
      FSBlockSize: '4096',
    });
    return new Map<string, ServiceDefinition>([
      [
        'com.apple.mobile.notification_proxy',
        { ssl: tls.notificationProxy, serve: (link) => serveNotificationProxy(link, this.bus) },
      ],
      [
        'com.apple.mobile.insecure_notification_proxy',
        { ssl: false, serve: (link) => serveNotificationProxy(link, this.bus) },
      ],
      ['com.apple.afc', { ssl: tls.afc, serve: (link) => serveAfc(link, this.afc, this.afcLocks, deviceInfo) }],
      [
        'com.apple.mobile.installation_proxy',
        { ssl: tls.installationProxy, serve: (link) => serveInstallationProxy(link, this.apps()) },
      ],
      ['com.apple.springboardservices', { ssl: tls.installationProxy, serve: (link) => serveSpringboard(link) }],
      [
        'com.apple.mobile.diagnostics_relay',
        {
          ssl: true,
          serve: (link) => serveDiagnosticsRelay(link, () => ({ PasswordConfigured: identity.passcodeSet })),
        },
      ],
      [
        'com.apple.mobilebackup2',
        { ssl: tls.mobilebackup2, needsEscrowBag: true, serve: (link) => serveMobileBackup2(link, mb2) },
      ],
    ]);
  }

  /** What the mobilebackup2 service serves from: its requests, and the runs it has going. */
  private mobileBackup2(device: VirtualDevice, profile: DeviceProfile): Mb2Device {
    const version = profile.identity.productVersion;
    const extras = backupExtras(this, device, profile);
    return {
      productVersion: version,
      handlers: {
        ...backupHandlers(this.backupDevice(device, profile, extras)),
        ...extras.handlers,
        ...this.extraHandlers,
      },
      beginRun: () => {
        const c = new AbortController();
        this.runs.add(c);
        return c;
      },
      endRun: (c: AbortController, name: string, ending: RunEnding) => {
        this.runs.delete(c);
        if (ending === 'host-gone' && name === 'Backup' && keepsSnapshotOfInterruptedRun(version))
          this.snapshotLeftBehind = true;
      },
    };
  }

  /** What a Backup request reads of the device: its content, values, apps, keys and hooks. */
  private backupDevice(device: VirtualDevice, profile: DeviceProfile, extras: BackupExtras): BackupDevice {
    const identity = profile.identity;
    const backupSource = deviceBackupSource(this.content, identity.productVersion, this.stateDir, () =>
      this.faults.take('reuse-stale-snapshot'),
    );
    return {
      udid: device.udid,
      source: () => backupSource,
      lockdownSnapshot: () => lockdownSnapshot(device),
      applications: () =>
        Object.fromEntries(
          this.apps().map((a) => [
            a.bundleId,
            { CFBundleIdentifier: a.bundleId, CFBundleVersion: a.version, ContainerContentClass: 'Data/Application' },
          ]),
        ),
      wasPasscodeSet: () => identity.passcodeSet,
      plainKeybag: () => this.plainKeybag(),
      startRun: (signal) => extras.startRun(signal),
      crypto: () => extras.crypto(),
      checkpoint: async (phase, signal) => {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
        for (const c of this.checkpoints) await c(phase);
      },
      onBytes: (n) => this.onBytes(n),
      now: () => new Date(),
      backedUp: (date) => device.recordBackup(date),
    };
  }
}

/** The Lockdown dictionary a backup's Manifest.plist carries. */
function lockdownSnapshot(device: VirtualDevice): PlistDict {
  const root = device.getValue(undefined, undefined, true);
  const r = root.ok && typeof root.value === 'object' ? (root.value as PlistDict) : {};
  const pick = (k: string): string => (typeof r[k] === 'string' ? (r[k] as string) : '');
  return {
    BuildVersion: pick('BuildVersion'),
    DeviceName: pick('DeviceName'),
    ProductType: pick('ProductType'),
    ProductVersion: pick('ProductVersion'),
    SerialNumber: pick('SerialNumber'),
    UniqueDeviceID: pick('UniqueDeviceID'),
    'com.apple.Accessibility': {
      ClosedCaptioningEnabledByiTunes: false,
      InvertDisplayEnabledByiTunes: false,
      MonoAudioEnabledByiTunes: false,
      SpeakAutoCorrectionsEnabledByiTunes: false,
      VoiceOverTouchEnabledByiTunes: false,
      ZoomTouchEnabledByiTunes: false,
    },
    'com.apple.MobileDeviceCrashCopy': {},
    'com.apple.TerminalFlashr': {},
    'com.apple.mobile.data_sync': {},
    'com.apple.mobile.iTunes.accessories': {},
    'com.apple.mobile.wireless_lockdown': { EnableWifiConnections: false },
  };
}

/** A folder of the media partition served from the camera roll's files (/DCIM, /PhotoData). */
function cameraRollMount(content: DeviceContent, prefix: string): AfcMount {
  const full = (rel: string): string => (rel === '' ? prefix : `${prefix}/${rel}`);
  return {
    stat: (rel) => {
      const e = content.get('CameraRollDomain', full(rel));
      if (!e) return undefined;
      return { type: e.kind === 'directory' ? 'dir' : 'file', size: e.size, mtimeMs: e.mtime * 1000 };
    },
    list: (rel) => {
      const prefix = `${full(rel)}/`;
      const names: string[] = [];
      for (const e of content.under('CameraRollDomain', prefix)) {
        const rest = e.relativePath.slice(prefix.length);
        if (rest !== '' && !rest.includes('/')) names.push(rest);
      }
      return content.get('CameraRollDomain', full(rel)) ? names : undefined;
    },
    read: async (rel, offset, length) => {
      const e = content.get('CameraRollDomain', full(rel));
      return e && e.kind === 'file' ? content.read(e, offset, length) : new Uint8Array(0);
    },
  };
}
