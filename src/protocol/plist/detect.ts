/** Format detection: binary plists start with "bplist"; anything else is read as XML. */
import { decodeError } from '../../errors.js';
import { parseBinaryPlist } from './binary-read.js';
import type { PlistLimits } from './limits.js';
import type { PlistValue } from './types.js';
import { parseXmlPlist } from './xml-read.js';

const BPLIST = [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74]; // "bplist"

function startsWithBplist(bytes: Uint8Array): boolean {
  if (bytes.length < BPLIST.length) return false;
  for (let i = 0; i < BPLIST.length; i++) if (bytes[i] !== BPLIST[i]) return false;
  return true;
}

/** True when `bytes` starts with the binary plist magic "bplist00". */
export function isBinaryPlist(bytes: Uint8Array): boolean {
  return startsWithBplist(bytes) && bytes[6] === 0x30 && bytes[7] === 0x30;
}

/**
 * Decodes a binary or XML plist, chosen by the first bytes. Other binary versions ("bplist15"…)
 * are rejected. Throws IbackupError PROTOCOL_DECODE on malformed input.
 */
export function parsePlist(bytes: Uint8Array, limits?: Partial<PlistLimits>): PlistValue {
  if (isBinaryPlist(bytes)) return parseBinaryPlist(bytes, limits);
  if (startsWithBplist(bytes)) throw decodeError('unsupported binary plist version');
  return parseXmlPlist(bytes, limits);
}
