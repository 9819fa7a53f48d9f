/**
 * Deterministic device identifiers (UDID, serial numbers, IMEI, MAC addresses…) derived from a
 * seed, a device index and a label, so the same profile always yields the same virtual iPhone.
 */
import { createHash } from 'node:crypto';

/** `n` pseudo-random bytes fixed by (seed, index, label). */
export function seededBytes(seed: number, index: number, label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let filled = 0;
  for (let block = 0; filled < n; block++) {
    const digest = createHash('sha256').update(`ibackup-emulator:${seed}:${index}:${label}:${block}`).digest();
    const take = Math.min(digest.length, n - filled);
    out.set(digest.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Characters picked from `alphabet` by seeded bytes. */
function seededChars(seed: number, index: number, label: string, length: number, alphabet: string): string {
  const bytes = seededBytes(seed, index, label, length);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/** Decimal digits from seeded bytes. */
function seededDigits(seed: number, index: number, label: string, length: number): string {
  return seededChars(seed, index, label, length, '0123456789');
}

/** The Luhn check digit of a digit string (IMEI, ICCID). */
export function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Double every second digit counting from the right end of the payload.
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** ECID (UniqueChipID): a seeded 52-bit number, so it stays a safe JS integer. */
export function seededEcid(seed: number, index: number): number {
  const b = seededBytes(seed, index, 'ecid', 7);
  let v = (b[0] ?? 0) & 0x0f;
  for (let i = 1; i < 7; i++) v = v * 256 + (b[i] ?? 0);
  return v === 0 ? 1 : v;
}

/** Modern UDID: "0000" + 4 hex of the ChipID, "-", 16 uppercase hex of the ECID. */
export function modernUdid(chipId: number, ecid: number): string {
  const chip = chipId.toString(16).toUpperCase().padStart(8, '0');
  return `${chip}-${ecid.toString(16).toUpperCase().padStart(16, '0')}`;
}

/** Legacy UDID: 40 lowercase hex digits. */
export function legacyUdid(seed: number, index: number): string {
  return hex(seededBytes(seed, index, 'udid', 20));
}

/** The ECID spelled inside a modern UDID, if it is one. */
export function ecidFromUdid(udid: string): number | undefined {
  const m = /^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{16})$/.exec(udid);
  if (m === null || m[1] === undefined) return undefined;
  const v = Number.parseInt(m[1], 16);
  return Number.isSafeInteger(v) ? v : undefined;
}

const SERIAL_ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXYZ';

/** A 10-character serial number in the style of recent iPhones. */
export function seededSerial(seed: number, index: number): string {
  return seededChars(seed, index, 'serial', 10, SERIAL_ALPHABET);
}

/** A 17-character logic-board serial number. */
export function seededMlbSerial(seed: number, index: number): string {
  return seededChars(seed, index, 'mlb', 17, SERIAL_ALPHABET);
}

/** A 15-digit IMEI with an Apple-like type allocation code and a valid Luhn digit. */
export function seededImei(seed: number, index: number): string {
  const body = `35${seededDigits(seed, index, 'imei', 12)}`;
  return body + luhnCheckDigit(body);
}

/** A 20-digit ICCID (SIM number) with a valid Luhn digit. */
export function seededIccid(seed: number, index: number): string {
  const body = `8901260${seededDigits(seed, index, 'iccid', 12)}`;
  return body + luhnCheckDigit(body);
}

/** A phone number in the 555-01xx range reserved for fiction. */
export function seededPhoneNumber(seed: number, index: number): string {
  return `+1 (408) 555-01${seededDigits(seed, index, 'phone', 2)}`;
}

/** Organisation prefixes registered to Apple, for plausible hardware addresses. */
const APPLE_OUIS: readonly (readonly [number, number, number])[] = [
  [0xf0, 0x18, 0x98],
  [0xa4, 0x83, 0xe7],
  [0x3c, 0x22, 0xfb],
  [0xbc, 0xd0, 0x74],
  [0x8c, 0x85, 0x90],
];

/** A MAC address as 6 numbers: an Apple prefix and a seeded suffix whose last byte is < 0xfc. */
export function seededMac(seed: number, index: number): number[] {
  const b = seededBytes(seed, index, 'mac', 4);
  const oui = APPLE_OUIS[(b[0] ?? 0) % APPLE_OUIS.length] ?? APPLE_OUIS[0] ?? [0xf0, 0x18, 0x98];
  return [oui[0], oui[1], oui[2], b[1] ?? 0, b[2] ?? 0, (b[3] ?? 0) % 0xfc];
}

/** "aa:bb:cc:dd:ee:ff" for a MAC address plus an offset on its last byte. */
export function formatMac(mac: readonly number[], plus = 0): string {
  return mac.map((b, i) => (i === mac.length - 1 ? (b + plus) & 0xff : b).toString(16).padStart(2, '0')).join(':');
}
