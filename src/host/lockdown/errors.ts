/**
 * lockdownd's `Error` strings → ibackup error codes, with words a user understands. One table:
 * every string a device is known to send has an entry.
 */
import { IbackupError, type ErrorCode } from '../../errors.js';

interface Mapping {
  code: ErrorCode;
  message?: string;
  remedy?: string;
}

const NOT_TRUSTED: Mapping = {
  code: 'NOT_PAIRED',
  message: 'The iPhone does not trust this computer (any more).',
  remedy: 'Run "ibackup pair", unlock the iPhone and tap "Trust".',
};

export const LOCKDOWN_ERRORS: Readonly<Record<string, Mapping>> = {
  PasswordProtected: { code: 'DEVICE_LOCKED' },
  UserDeniedPairing: { code: 'TRUST_DENIED' },
  PairingDialogResponsePending: { code: 'TRUST_PENDING' },
  InvalidHostID: NOT_TRUSTED,
  MissingHostID: NOT_TRUSTED,
  InvalidPairRecord: {
    code: 'NOT_PAIRED',
    message: "The iPhone rejected this computer's pairing certificates.",
    remedy: 'Run "ibackup unpair", then "ibackup pair" and tap "Trust" on the iPhone.',
  },
  MissingPairRecord: NOT_TRUSTED,
  SavePairRecordFailed: { code: 'DEVICE_ERROR', message: 'The iPhone could not save the pairing.' },
  PairingProhibitedOverThisConnection: {
    code: 'TRUST_DENIED',
    message: 'The iPhone does not allow pairing over this connection.',
    remedy: 'Connect the iPhone with a USB cable, unlock it and try again.',
  },
  MCProtected: {
    code: 'TRUST_DENIED',
    message: 'Device management (MDM) on this iPhone forbids pairing with computers.',
    remedy: 'Ask the organisation that manages the iPhone to allow it.',
  },
  MCChallengeRequired: {
    code: 'TRUST_DENIED',
    message: 'This supervised iPhone only pairs with its supervising computer.',
    remedy: 'Pair from the supervising computer, or ask its administrator.',
  },
  FMiPProtected: { code: 'DEVICE_ERROR', message: 'Find My iPhone protection blocked the request.' },
  EscrowLocked: {
    code: 'DEVICE_LOCKED',
    message: 'The iPhone is locked and has not been unlocked since it restarted.',
    remedy: 'Unlock the iPhone with its passcode, keep it unlocked, then try again.',
  },
  SessionInactive: {
    code: 'PROTOCOL_DECODE',
    message: 'The lockdown session ended unexpectedly.',
    remedy: 'Reconnect the iPhone and try again.',
  },
  SessionActive: { code: 'PROTOCOL_DECODE', message: 'A lockdown session is already running.', remedy: 'Try again.' },
  InvalidSessionID: {
    code: 'PROTOCOL_DECODE',
    message: 'The iPhone did not recognise the session.',
    remedy: 'Reconnect the iPhone and try again.',
  },
  MissingSessionID: { code: 'PROTOCOL_DECODE', message: 'The session ID was missing.', remedy: 'Try again.' },
  InvalidService: { code: 'SERVICE_UNAVAILABLE', message: 'The iPhone does not offer a service ibackup needs.' },
  MissingService: { code: 'SERVICE_UNAVAILABLE' },
  ServiceProhibited: { code: 'SERVICE_UNAVAILABLE', message: 'The iPhone refused to start a service ibackup needs.' },
  ServiceLimit: {
    code: 'SERVICE_UNAVAILABLE',
    message: 'The iPhone is running too many services.',
    remedy: 'Close other iPhone tools, reconnect the iPhone and try again.',
  },
  GetProhibited: { code: 'DEVICE_ERROR', message: 'The iPhone refused to tell a value.' },
  SetProhibited: { code: 'DEVICE_ERROR', message: 'The iPhone refused to change a value.' },
  RemoveProhibited: { code: 'DEVICE_ERROR', message: 'The iPhone refused to remove a value.' },
  ImmutableValue: { code: 'DEVICE_ERROR', message: 'That value cannot be changed on the iPhone.' },
  MissingKey: { code: 'DEVICE_ERROR', message: 'The iPhone says a key was missing.' },
  MissingValue: { code: 'DEVICE_ERROR', message: 'The iPhone has no such value.' },
  InvalidResponse: { code: 'PROTOCOL_DECODE' },
  InvalidRequest: { code: 'PROTOCOL_DECODE', message: 'The iPhone did not understand a request.' },
  InvalidActivationRecord: {
    code: 'DEVICE_ERROR',
    message: 'The iPhone is not activated.',
    remedy: 'Finish setting up the iPhone, then try again.',
  },
  MissingActivationRecord: {
    code: 'DEVICE_ERROR',
    message: 'The iPhone is not activated.',
    remedy: 'Finish setting up the iPhone, then try again.',
  },
  InvalidConnection: { code: 'CONNECTION_CLOSED' },
};

/** The IbackupError for a lockdown `Error` string (unknown strings keep their text). */
export function lockdownError(name: string, request: string): IbackupError {
  const m = LOCKDOWN_ERRORS[name];
  if (!m) {
    return new IbackupError('DEVICE_ERROR', {
      message: `The iPhone answered ${request} with the error "${name}".`,
      details: { lockdownError: name, request },
    });
  }
  return new IbackupError(m.code, {
    ...(m.message === undefined ? {} : { message: m.message }),
    ...(m.remedy === undefined ? {} : { remedy: m.remedy }),
    details: { lockdownError: name, request },
  });
}
