/**
 * The `BackupKeyBag` of an encrypted backup's Manifest.plist: a flat TLV sequence
 * (4 ASCII tag bytes, big-endian u32 length, value). The first `UUID` belongs to the keybag; every
 * later `UUID` opens a class-key block that runs to the next `UUID` or the end.
 *
 * `parseKeybag` keeps the original tag order and any unknown tags, so `buildKeybag(parseKeybag(b))`
 * gives back `b` byte for byte. Also here: the 44-byte "class-prefixed wrapped key" used by
 * `EncryptionKey` and `ManifestKey` (little-endian u32 class, then the RFC 3394-wrapped key).
 */
import { decodeError, IbackupError } from '../errors.js';

/** A keybag never comes close to this; anything larger is refused before parsing. */
export const MAX_KEYBAG_BYTES = 1 << 20;

/** A tag this module does not interpret, kept so a build reproduces the input. */
export interface KeybagTlv {
  readonly tag: string;
  readonly value: Uint8Array;
}

export interface KeybagClassKey {
  /** `UUID` (16 bytes) that opens the block. */
  uuid: Uint8Array;
  /** `CLAS`: protection class 1–11 (may carry high flag bits). */
  protectionClass: number;
  /** `WRAP`: bit value 2 = wrapped with the password KEK, 1 = also with the device UID key. */
  wrap: number;
  /** `KTYP`: 0 = AES. */
  keyType?: number;
  /** `WPKY`: the RFC 3394-wrapped class key (40 bytes in practice). */
  wrappedKey: Uint8Array;
  /** `PBKY`: public key of asymmetric classes (device keybags only). */
  publicKey?: Uint8Array;
  /** Tags of this block not listed above, in order. */
  unknown: KeybagTlv[];
  /** Tag order as parsed; `buildKeybag` follows it, then writes any other set tag in canonical order. */
  order?: string[];
}

export interface Keybag {
  /** `VERS`: 3 or 5 in real backups. */
  version: number;
  /** `TYPE`: 1 = backup keybag (high bits may carry flags). */
  type: number;
  /** `UUID` of the keybag (16 bytes). */
  uuid: Uint8Array;
  /** `HMCK`: wrapped HMAC key, 40 zero bytes in backup keybags. */
  hmck?: Uint8Array;
  /** `WRAP`: keybag-level wrap, 0 in backups. */
  wrap: number;
  /** `SALT`: salt of the PBKDF2-HMAC-SHA1 stage. */
  salt: Uint8Array;
  /** `ITER`: iterations of the PBKDF2-HMAC-SHA1 stage. */
  iterations: number;
  /** `DPWT`: double-protection wrap type (iOS 10.2+). */
  dpwt?: number;
  /** `DPIC`: iterations of the PBKDF2-HMAC-SHA256 stage (iOS 10.2+). */
  dpic?: number;
  /** `DPSL`: salt of the PBKDF2-HMAC-SHA256 stage (iOS 10.2+). */
  dpsl?: Uint8Array;
  classKeys: KeybagClassKey[];
  /** Header tags not listed above, in order. */
  unknown: KeybagTlv[];
  /** Header tag order as parsed (see `KeybagClassKey.order`). */
  order?: string[];
}

const HEADER_ORDER = ['VERS', 'TYPE', 'UUID', 'HMCK', 'WRAP', 'SALT', 'ITER', 'DPWT', 'DPIC', 'DPSL'];
const CLASS_ORDER = ['UUID', 'CLAS', 'WRAP', 'KTYP', 'WPKY', 'PBKY'];
const U32_TAGS = new Set(['VERS', 'TYPE', 'WRAP', 'ITER', 'DPWT', 'DPIC', 'CLAS', 'KTYP']);
const UUID_BYTES = 16;

/** Reads the TLV records, checking every length against the bytes present. */
function readRecords(bytes: Uint8Array): KeybagTlv[] {
  if (bytes.length > MAX_KEYBAG_BYTES) throw decodeError(`keybag of ${bytes.length} bytes is too large`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: KeybagTlv[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 8) throw decodeError(`keybag record header truncated at offset ${pos}`);
    const tagBytes = bytes.subarray(pos, pos + 4);
    for (const b of tagBytes) {
      if (b < 0x20 || b > 0x7e) throw decodeError(`keybag tag at offset ${pos} is not ASCII`);
    }
    const tag = String.fromCharCode(...tagBytes);
    const length = view.getUint32(pos + 4);
    pos += 8;
    if (length > bytes.length - pos) {
      throw decodeError(`keybag ${tag} declares ${length} bytes but only ${bytes.length - pos} remain`);
    }
    records.push({ tag, value: bytes.slice(pos, pos + length) });
    pos += length;
  }
  return records;
}

function u32(r: KeybagTlv): number {
  if (r.value.length !== 4) throw decodeError(`keybag ${r.tag} must be 4 bytes, not ${r.value.length}`);
  return new DataView(r.value.buffer, r.value.byteOffset, 4).getUint32(0);
}

/** The records of one section by tag; a known tag may appear only once. */
function sectionMap(records: KeybagTlv[], known: string[], where: string) {
  const byTag = new Map<string, KeybagTlv>();
  const unknown: KeybagTlv[] = [];
  for (const r of records) {
    if (!known.includes(r.tag)) {
      unknown.push(r);
      continue;
    }
    if (byTag.has(r.tag)) throw decodeError(`keybag ${where} repeats ${r.tag}`);
    if (U32_TAGS.has(r.tag)) u32(r);
    byTag.set(r.tag, r);
  }
  const need = (tag: string): KeybagTlv => {
    const r = byTag.get(tag);
    if (r === undefined) throw decodeError(`keybag ${where} lacks ${tag}`);
    return r;
  };
  const opt = (tag: string): KeybagTlv | undefined => byTag.get(tag);
  return { need, opt, unknown, order: records.map((r) => r.tag) };
}

function parseClass(records: KeybagTlv[], index: number): KeybagClassKey {
  const s = sectionMap(records, CLASS_ORDER, `class block ${index}`);
  const uuid = s.need('UUID').value;
  if (uuid.length !== UUID_BYTES) throw decodeError(`keybag class UUID must be 16 bytes`);
  const ktyp = s.opt('KTYP');
  const pbky = s.opt('PBKY');
  return {
    uuid,
    protectionClass: u32(s.need('CLAS')),
    wrap: u32(s.need('WRAP')),
    ...(ktyp === undefined ? {} : { keyType: u32(ktyp) }),
    wrappedKey: s.need('WPKY').value,
    ...(pbky === undefined ? {} : { publicKey: pbky.value }),
    unknown: s.unknown,
    order: s.order,
  };
}

/** Parses a `BackupKeyBag`; malformed input throws IbackupError PROTOCOL_DECODE. */
export function parseKeybag(bytes: Uint8Array): Keybag {
  const records = readRecords(bytes);
  // Split into the header (up to the second UUID) and the class blocks.
  const sections: KeybagTlv[][] = [[]];
  let uuids = 0;
  for (const r of records) {
    if (r.tag === 'UUID' && ++uuids > 1) sections.push([]);
    (sections[sections.length - 1] as KeybagTlv[]).push(r);
  }
  const [headerRecords = [], ...classRecords] = sections;
  const h = sectionMap(headerRecords, HEADER_ORDER, 'header');
  const uuid = h.need('UUID').value;
  if (uuid.length !== UUID_BYTES) throw decodeError('keybag UUID must be 16 bytes');
  const hmck = h.opt('HMCK');
  const dpwt = h.opt('DPWT');
  const dpic = h.opt('DPIC');
  const dpsl = h.opt('DPSL');
  return {
    version: u32(h.need('VERS')),
    type: u32(h.need('TYPE')),
    uuid,
    ...(hmck === undefined ? {} : { hmck: hmck.value }),
    wrap: u32(h.need('WRAP')),
    salt: h.need('SALT').value,
    iterations: u32(h.need('ITER')),
    ...(dpwt === undefined ? {} : { dpwt: u32(dpwt) }),
    ...(dpic === undefined ? {} : { dpic: u32(dpic) }),
    ...(dpsl === undefined ? {} : { dpsl: dpsl.value }),
    classKeys: classRecords.map((rs, i) => parseClass(rs, i)),
    unknown: h.unknown,
    order: h.order,
  };
}

function buildError(message: string): IbackupError {
  return new IbackupError('INTERNAL', { message: `Cannot build a keybag: ${message}.` });
}

/** Builders reject values a u32 cannot hold (a caller bug: INTERNAL). */
function checkU32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw buildError(`${what} must be a u32, not ${n}`);
  return n;
}

function u32Bytes(n: number, tag: string): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, checkU32(n, tag));
  return out;
}

/** Orders one section: the parsed order first, then any other present tag in canonical order. */
function orderSection(known: Map<string, Uint8Array>, unknown: KeybagTlv[], canonical: string[], order?: string[]) {
  const out: KeybagTlv[] = [];
  const usedKnown = new Set<string>();
  let nextUnknown = 0;
  for (const tag of order ?? []) {
    const v = known.get(tag);
    if (v !== undefined && canonical.includes(tag)) {
      if (usedKnown.has(tag)) continue;
      usedKnown.add(tag);
      out.push({ tag, value: v });
    } else if (!canonical.includes(tag)) {
      const u = unknown[nextUnknown];
      if (u !== undefined && u.tag === tag) {
        out.push(u);
        nextUnknown++;
      }
    }
  }
  for (const tag of canonical) {
    const v = known.get(tag);
    if (v !== undefined && !usedKnown.has(tag)) out.push({ tag, value: v });
  }
  out.push(...unknown.slice(nextUnknown));
  return out;
}

function setIf(m: Map<string, Uint8Array>, tag: string, v: Uint8Array | number | undefined): void {
  if (v === undefined) return;
  m.set(tag, typeof v === 'number' ? u32Bytes(v, tag) : v);
}

/** Writes a keybag back as TLV bytes (byte-exact for the output of `parseKeybag`). */
export function buildKeybag(k: Keybag): Uint8Array {
  const h = new Map<string, Uint8Array>();
  setIf(h, 'VERS', k.version);
  setIf(h, 'TYPE', k.type);
  setIf(h, 'UUID', k.uuid);
  setIf(h, 'HMCK', k.hmck);
  setIf(h, 'WRAP', k.wrap);
  setIf(h, 'SALT', k.salt);
  setIf(h, 'ITER', k.iterations);
  setIf(h, 'DPWT', k.dpwt);
  setIf(h, 'DPIC', k.dpic);
  setIf(h, 'DPSL', k.dpsl);
  const records = orderSection(h, k.unknown, HEADER_ORDER, k.order);
  for (const c of k.classKeys) {
    const m = new Map<string, Uint8Array>();
    setIf(m, 'UUID', c.uuid);
    setIf(m, 'CLAS', c.protectionClass);
    setIf(m, 'WRAP', c.wrap);
    setIf(m, 'KTYP', c.keyType);
    setIf(m, 'WPKY', c.wrappedKey);
    setIf(m, 'PBKY', c.publicKey);
    const block = orderSection(m, c.unknown, CLASS_ORDER, c.order);
    // The block must start with its UUID or a reader would not see a new block.
    const at = block.findIndex((r) => r.tag === 'UUID');
    if (at > 0) block.unshift(...block.splice(at, 1));
    records.push(...block);
  }
  return encodeRecords(records);
}

function encodeRecords(records: KeybagTlv[]): Uint8Array {
  let total = 0;
  for (const r of records) {
    if (!/^[\x20-\x7e]{4}$/.test(r.tag)) throw buildError(`tag "${r.tag}" must be 4 ASCII characters`);
    total += 8 + r.value.length;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) {
    for (let i = 0; i < 4; i++) out[pos + i] = r.tag.charCodeAt(i);
    view.setUint32(pos + 4, r.value.length);
    out.set(r.value, pos + 8);
    pos += 8 + r.value.length;
  }
  return out;
}

/** A class-prefixed wrapped key (`EncryptionKey` NS.data, `ManifestKey`). */
export interface ClassWrappedKey {
  protectionClass: number;
  /** The RFC 3394-wrapped key (40 bytes). */
  wrappedKey: Uint8Array;
}

/** Length of the wrapped part of a class-prefixed key: a 32-byte key wrapped by RFC 3394. */
export const WRAPPED_KEY_BYTES = 40;

/** Splits `LE_u32(class) ‖ wrapped(40)`; any other length throws PROTOCOL_DECODE. */
export function parseClassWrappedKey(bytes: Uint8Array): ClassWrappedKey {
  if (bytes.length !== 4 + WRAPPED_KEY_BYTES) {
    throw decodeError(`class-prefixed wrapped key is ${bytes.length} bytes, expected ${4 + WRAPPED_KEY_BYTES}`);
  }
  const protectionClass = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return { protectionClass, wrappedKey: bytes.slice(4) };
}

/** Joins `LE_u32(class) ‖ wrapped`. */
export function buildClassWrappedKey(k: ClassWrappedKey): Uint8Array {
  const out = new Uint8Array(4 + k.wrappedKey.length);
  new DataView(out.buffer).setUint32(0, checkU32(k.protectionClass, 'protection class'), true);
  out.set(k.wrappedKey, 4);
  return out;
}
