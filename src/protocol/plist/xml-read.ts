/**
 * XML property list decoder: a small single-pass tokenizer and an explicit-stack parser (linear
 * time, no recursion), for the subset of XML that plists use: prolog, DOCTYPE, comments,
 * processing instructions, CDATA, the five named entities and numeric character references.
 *
 * Like libimobiledevice, control characters other than TAB, LF and CR are read as spaces (some
 * devices send them). Line ends are normalised to LF as XML requires. A one-key dict
 * `{CF$UID: n}` is read as a UID.
 */
import { decodeError } from '../../errors.js';
import { base64Decode } from './base64.js';
import { canonicalInt, setEntry } from './common.js';
import { resolveLimits, type PlistLimits } from './limits.js';
import { PlistReal, PlistUid, type PlistDict, type PlistValue } from './types.js';

/** An open array or dict. */
interface Container {
  array: PlistValue[] | undefined;
  dict: PlistDict | undefined;
  key: string | undefined;
  keyCount: number;
}

interface Tag {
  name: string;
  close: boolean;
  empty: boolean;
}

const MAX_INTEGER_CHARS = 4096;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

class XmlReader {
  pos = 0;

  constructor(private readonly s: string) {}

  private fail(what: string): never {
    throw decodeError(`XML plist ${what} (at character ${this.pos})`);
  }

  /** Skips whitespace, comments, processing instructions and DOCTYPE; rejects other text. */
  skipMisc(): void {
    const s = this.s;
    for (;;) {
      let c = s.charCodeAt(this.pos);
      while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = s.charCodeAt(++this.pos);
      if (this.pos >= s.length) return;
      if (c !== 0x3c) this.fail('has text outside of an element');
      if (s.startsWith('<!--', this.pos)) this.skipPast('-->', 'comment');
      else if (s.startsWith('<?', this.pos)) this.skipPast('?>', 'processing instruction');
      else if (s.startsWith('<!DOCTYPE', this.pos)) this.skipDoctype();
      else return;
    }
  }

  private skipPast(end: string, what: string): void {
    const i = this.s.indexOf(end, this.pos);
    if (i < 0) this.fail(`has an unclosed ${what}`);
    this.pos = i + end.length;
  }

  private skipDoctype(): void {
    // An internal subset ("[...]") may contain '>' itself; look for '[' only up to the first '>'.
    const gt = this.s.indexOf('>', this.pos);
    if (gt < 0) this.fail('has an unclosed DOCTYPE');
    if (this.s.slice(this.pos, gt).includes('[')) this.skipPast(']', 'DOCTYPE');
    this.skipPast('>', 'DOCTYPE');
  }

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }

  /** Reads a start, end or empty-element tag at the current position (which is a '<'). */
  tag(): Tag {
    const s = this.s;
    if (s.charCodeAt(this.pos) !== 0x3c) this.fail('expected a tag');
    let i = this.pos + 1;
    const close = s.charCodeAt(i) === 0x2f;
    if (close) i++;
    const nameStart = i;
    for (;;) {
      const c = s.charCodeAt(i);
      const nameChar =
        (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x30 && c <= 0x39) ||
        c === 0x5f ||
        c === 0x2d ||
        c === 0x3a ||
        c === 0x2e;
      if (!nameChar) break;
      i++;
    }
    if (i === nameStart) this.fail('has a malformed tag');
    const name = s.slice(nameStart, i);
    // Attributes are skipped; quoted values may contain '>' or '/'.
    let quote = 0;
    let empty = false;
    for (;;) {
      if (i >= s.length) this.fail(`has an unclosed <${name}> tag`);
      const c = s.charCodeAt(i);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) {
        if (close) this.fail('has a malformed end tag');
        quote = c;
      } else if (c === 0x3e) {
        empty = s.charCodeAt(i - 1) === 0x2f && i - 1 >= nameStart + name.length;
        break;
      } else if (c === 0x3c) {
        this.fail(`has a malformed <${name}> tag`);
      }
      i++;
    }
    if (close && (empty || s.slice(nameStart + name.length, i).trim() !== '')) this.fail('has a malformed end tag');
    this.pos = i + 1;
    return { name, close, empty };
  }

  /** The text content of element `name` up to its end tag, entities decoded. */
  text(name: string): string {
    const s = this.s;
    let out = '';
    for (;;) {
      const lt = s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`has an unclosed <${name}>`);
      out += this.entities(s.slice(this.pos, lt));
      this.pos = lt;
      if (s.startsWith('<![CDATA[', lt)) {
        const end = s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('has an unclosed CDATA section');
        out += s.slice(lt + 9, end);
        this.pos = end + 3;
      } else if (s.startsWith('<!--', lt)) {
        this.skipPast('-->', 'comment');
      } else {
        const t = this.tag();
        if (!t.close || t.name !== name) this.fail(`has <${t.close ? '/' : ''}${t.name}> inside <${name}>`);
        return out;
      }
    }
  }

  private entities(raw: string): string {
    let amp = raw.indexOf('&');
    if (amp < 0) return raw;
    let out = '';
    let from = 0;
    while (amp >= 0) {
      const semi = raw.indexOf(';', amp);
      if (semi < 0 || semi - amp > 12) this.fail('has a malformed entity');
      out += raw.slice(from, amp);
      out += this.entity(raw.slice(amp + 1, semi));
      from = semi + 1;
      amp = raw.indexOf('&', from);
    }
    return out + raw.slice(from);
  }

  private entity(name: string): string {
    const named = Object.hasOwn(NAMED, name) ? NAMED[name] : undefined;
    if (named !== undefined) return named;
    let code = NaN;
    if (/^#[0-9]{1,7}$/.test(name)) code = parseInt(name.slice(1), 10);
    else if (/^#[xX][0-9a-fA-F]{1,6}$/.test(name)) code = parseInt(name.slice(2), 16);
    if (!(code >= 0 && code <= 0x10ffff)) this.fail(`has an unknown entity &${name};`);
    return String.fromCodePoint(code);
  }
}

function parseInteger(text: string): number | bigint {
  const t = text.trim();
  if (t.length > MAX_INTEGER_CHARS) throw decodeError('XML plist <integer> is too long');
  const m = /^([+-]?)(?:(0[xX][0-9a-fA-F]+)|([0-9]+))$/.exec(t);
  if (m === null) throw decodeError(`XML plist <integer> "${t.slice(0, 40)}" is not an integer`);
  const magnitude = BigInt((m[2] ?? m[3]) as string);
  return canonicalInt(m[1] === '-' ? -magnitude : magnitude);
}

function parseReal(text: string): PlistReal {
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === 'nan') return new PlistReal(NaN);
  if (/^\+?inf(inity)?$/.test(lower)) return new PlistReal(Infinity);
  if (/^-inf(inity)?$/.test(lower)) return new PlistReal(-Infinity);
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) {
    throw decodeError(`XML plist <real> "${t.slice(0, 40)}" is not a number`);
  }
  return new PlistReal(Number(t));
}

function parseDate(text: string): Date {
  const t = text.trim();
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?Z$/.exec(t);
  if (m === null) throw decodeError(`XML plist <date> "${t.slice(0, 40)}" is not YYYY-MM-DDTHH:MM:SSZ`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    throw decodeError(`XML plist <date> "${t}" is out of range`);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, m[7] === undefined ? 0 : Math.floor(Number(m[7]) * 1000));
  return d;
}

/** A one-key dict {CF$UID: integer} is a UID. */
function finish(c: Container): PlistValue {
  if (c.array !== undefined) return c.array;
  const dict = c.dict as PlistDict;
  if (c.key !== undefined) throw decodeError(`XML plist <key>${c.key.slice(0, 40)}</key> has no value`);
  if (c.keyCount === 1) {
    const v = dict['CF$UID'];
    if (typeof v === 'number' && v >= 0 && v <= 0xffffffff) return new PlistUid(v);
  }
  return dict;
}

function scalar(r: XmlReader, t: Tag): PlistValue {
  const text = t.empty ? '' : r.text(t.name);
  switch (t.name) {
    case 'string':
      return text;
    case 'integer':
      return parseInteger(text);
    case 'real':
      return parseReal(text);
    case 'date':
      return parseDate(text);
    case 'data':
      return base64Decode(text);
    case 'true':
    case 'false':
      if (text.trim() !== '') throw decodeError(`XML plist <${t.name}> has content`);
      return t.name === 'true';
    default:
      throw decodeError(`XML plist element <${t.name}> is not a plist element`);
  }
}

/**
 * Decodes an XML plist (bytes are read as UTF-8). Throws IbackupError PROTOCOL_DECODE on malformed
 * XML, unknown elements, bad values, or more elements/depth than `limits` allow.
 */
export function parseXmlPlist(input: Uint8Array | string, limits?: Partial<PlistLimits>): PlistValue {
  const r = new XmlReader(xmlText(input));
  const { wrapped, first } = openPlist(r);
  const result = new TreeBuilder(resolveLimits(limits)).read(r, first);
  closePlist(r, wrapped);
  return result;
}

/** The document as text: no byte order mark, control characters as spaces, line ends as LF. */
function xmlText(input: Uint8Array | string): string {
  let s = typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, ' ');
  if (s.includes('\r')) s = s.replace(/\r\n?/g, '\n');
  return s;
}

/** Reads up to the first element of the value, past `<plist>` when there is one. */
function openPlist(r: XmlReader): { wrapped: boolean; first: Tag } {
  r.skipMisc();
  if (r.atEnd()) throw decodeError('XML plist is empty');
  const t = r.tag();
  const wrapped = t.name === 'plist' && !t.close;
  if (!wrapped) return { wrapped, first: t };
  if (t.empty) throw decodeError('XML plist <plist> is empty');
  r.skipMisc();
  if (r.atEnd()) throw decodeError('XML plist has an unclosed <plist>');
  return { wrapped, first: r.tag() };
}

/** Reads `</plist>` when the value was wrapped, then checks nothing follows. */
function closePlist(r: XmlReader, wrapped: boolean): void {
  r.skipMisc();
  if (wrapped) {
    if (r.atEnd()) throw decodeError('XML plist has an unclosed <plist>');
    const end = r.tag();
    if (!end.close || end.name !== 'plist') throw decodeError('XML plist has more than one value in <plist>');
    r.skipMisc();
  }
  if (!r.atEnd()) throw decodeError('XML plist has content after the end');
}

/** Builds one value from a stream of tags, with the arrays and dicts still open on a stack. */
class TreeBuilder {
  private readonly stack: Container[] = [];
  private count = 0;

  constructor(private readonly l: PlistLimits) {}

  read(r: XmlReader, first: Tag): PlistValue {
    let t = first;
    for (;;) {
      const value = this.onTag(r, t);
      if (value !== undefined && this.attach(value)) return value;
      r.skipMisc();
      if (r.atEnd()) throw decodeError('XML plist ends inside an element');
      t = r.tag();
    }
  }

  /** The value a tag completes (a scalar, an empty or a closed container), if any. */
  private onTag(r: XmlReader, t: Tag): PlistValue | undefined {
    const top = this.stack[this.stack.length - 1];
    if (t.close) {
      if (top === undefined || t.name !== (top.array !== undefined ? 'array' : 'dict')) {
        throw decodeError(`XML plist has an unexpected </${t.name}>`);
      }
      this.stack.pop();
      return finish(top);
    }
    if (t.name === 'key') {
      if (top?.dict === undefined || top.key !== undefined) throw decodeError('XML plist has a <key> outside a dict');
      top.key = t.empty ? '' : r.text('key');
      return undefined;
    }
    if (++this.count > this.l.maxObjects) throw decodeError('XML plist has too many elements');
    if ((t.name === 'array' || t.name === 'dict') && !t.empty) {
      if (this.stack.length + 1 > this.l.maxDepth) throw decodeError('XML plist is nested too deeply');
      const isArray = t.name === 'array';
      this.stack.push({ array: isArray ? [] : undefined, dict: isArray ? undefined : {}, key: undefined, keyCount: 0 });
      return undefined;
    }
    if (t.name === 'array') return [];
    if (t.name === 'dict') return {};
    return scalar(r, t);
  }

  /** Adds a value to the open container; true when it is the whole plist's value. */
  private attach(value: PlistValue): boolean {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) return true;
    if (parent.array !== undefined) {
      parent.array.push(value);
    } else {
      if (parent.key === undefined) throw decodeError('XML plist dict value has no <key>');
      setEntry(parent.dict as PlistDict, parent.key, value);
      parent.keyCount++;
      parent.key = undefined;
    }
    return false;
  }
}
