/**
 * How the virtual iPhone's lockdownd and services speak TLS per iOS generation: the session's
 * TLS versions and ciphers, which services start with TLS, and the end of a session. Each rule
 * names the outside evidence it comes from; docs/devices.md lists them with how a host copes.
 */
import { constants } from 'node:crypto';
import type { TlsOptions } from '../transport/link.js';
import type { ServiceTls } from './profile-types.js';

function isAtLeast(productVersion: string, major: number, minor = 0): boolean {
  const [ma = 0, mi = 0] = productVersion.split('.').map(Number);
  return ma > major || (ma === major && mi >= minor);
}

/** The TLS settings of the phone's TLS server (lockdown session and services alike). */
export type ServerTls = Pick<TlsOptions, 'minVersion' | 'maxVersion' | 'ciphers' | 'secureOptions' | 'legacyServer'>;

/**
 * From iOS 10: TLS 1.2 at most, ECDHE-RSA-AES256-GCM-SHA384 first. Real phones negotiate exactly
 * that with OpenSSL clients offering TLS 1.3: iOS 12.5.7 (libimobiledevice issue 1540, "SSL mode
 * enabled, TLSv1.2, cipher: ECDHE-RSA-AES256-GCM-SHA384") and iOS 16 or later (issue 1397, an
 * idevicedevmodectl log, a tool for iOS 16+). No lockdown log shows TLS 1.3 for any iOS. An iOS
 * 12.0 beta chose ECDHE-RSA-AES256-SHA with a libimobiledevice of 2018 (issue 694), so that stays.
 */
const MODERN_CIPHERS = 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA:@SECLEVEL=0';

/**
 * Before iOS 10: TLS 1.0 only (libimobiledevice caps those phones at TLS 1.0: idevice.c (master
 * fa0f791) ~line 1262), and no secure-renegotiation extension: OpenSSL 3 clients without
 * SSL_OP_LEGACY_SERVER_CONNECT fail with "unsafe legacy renegotiation disabled" on an iPhone 3GS
 * (libimobiledevice issue 1270), which is why idevice.c ~line 1289 sets it for every iOS.
 */
export function serverTlsFor(productVersion: string): ServerTls {
  if (!isAtLeast(productVersion, 10)) return { minVersion: 'TLSv1', maxVersion: 'TLSv1', legacyServer: true };
  return {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.2',
    ciphers: MODERN_CIPHERS,
    // The phone's order wins, as the logs above show it choosing the same suite every time.
    secureOptions: constants.SSL_OP_CIPHER_SERVER_PREFERENCE,
  };
}

/**
 * Which services answer StartService with EnableServiceSSL, by default (a profile can override):
 *  - AFC never: plaintext on iOS 8 (libimobiledevice issue 153), 12.0 beta (issue 694, a StartService
 *    reply of 334 bytes, without the key) and 13.3 (issue 941, while afc2 there has the key).
 *  - notification_proxy and mobilebackup2 from iOS 13: "In iOS 13, most of the services require an
 *    extra SSL handshake once the service socket is connected" (issue 793). Before: plaintext on
 *    iOS 8 (mobilebackup2, issue 153) and 12.0 beta (notification_proxy, issue 694). iOS 12.5.7,
 *    released after iOS 14, has both with TLS (issue 1540: SSL_write on the notification_proxy,
 *    "Performing SSL handshake" right after mobilebackup2 started), so 12.5 and later 12.x do too.
 *  - installation_proxy (and springboardservices) with them: "most of the services" (issue 793);
 *    no log shows these two services on their own.
 */
export function defaultServiceTls(productVersion: string): ServiceTls {
  const tls = isAtLeast(productVersion, 12, 5);
  return { afc: false, notificationProxy: tls, mobilebackup2: tls, installationProxy: tls };
}

/**
 * From iOS 13 the phone ends the session's TLS itself after answering StopSession: "after sending
 * the encrypted StopSession message, it seems like both sides sends a close_notify type of alert"
 * (libimobiledevice issue 793, on iOS 13; PR 850 fixed libimobiledevice hanging in SSL_shutdown on
 * iOS 13 devices). Older phones are not known to; the host's close_notify alone ends TLS there.
 */
export function sendsCloseNotifyAfterStopSession(productVersion: string): boolean {
  return isAtLeast(productVersion, 13);
}
