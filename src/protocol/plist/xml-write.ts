/**
 * XML property list encoder, in the layout Apple and libplist write: XML declaration, DOCTYPE,
 * `<plist version="1.0">`, one element per line indented with tabs, base64 data in lines.
 *
 * Reals are written with the shortest text that reads back to the same double ("2" for 2.0,
 * like Apple and libplist; the `<real>` element keeps it a real), and `nan`, `+infinity`,
 * `-infinity` for the special values. Dates are whole seconds. A UID is written as the one-key
 * dict `{CF$UID: n}`. Control characters and CR, which XML text cannot carry literally, are
 * written as numeric character references.
 */
import { base64Lines } from './base64.js';
import { encodeError, kindOf, realValue } from './common.js';
import { PlistUid, type PlistDict, type PlistValue } from './types.js';

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';
const FOOTER = '</plist>\n';
/** Base64 line length: 76 columns less 8 per tab of indentation, at least 16. */
const dataLine = (depth: number): number => Math.max(16, 76 - 8 * depth);

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>\x00-\x08\x0b-\x1f]/;
// eslint-disable-next-line no-control-regex
const ESCAPES = /[&<>\x00-\x08\x0b-\x1f]/g;

function escapeText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(ESCAPES, (c) => {
    if (c === '&') return '&amp;';
    if (c === '<') return '&lt;';
    if (c === '>') return '&gt;';
    return `&#${c.charCodeAt(0)};`;
  });
}

function formatReal(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return '+infinity';
  if (v === -Infinity) return '-infinity';
  return Object.is(v, -0) ? '-0' : String(v);
}

function formatInteger(v: number | bigint): string {
  return typeof v === 'bigint' || Number.isSafeInteger(v) ? String(v) : BigInt(v).toString();
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** YYYY-MM-DDTHH:MM:SSZ, the fraction of a second dropped. */
function formatDate(d: Date): string {
  const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
  const year = whole.getUTCFullYear();
  if (year < 0 || year > 9999) throw encodeError(`date year ${year} is outside 0000-9999`);
  return (
    `${String(year).padStart(4, '0')}-${pad2(whole.getUTCMonth() + 1)}-${pad2(whole.getUTCDate())}` +
    `T${pad2(whole.getUTCHours())}:${pad2(whole.getUTCMinutes())}:${pad2(whole.getUTCSeconds())}Z`
  );
}

/** An open array or dict whose children are still being written. */
interface Frame {
  node: object;
  name: 'array' | 'dict';
  keys: string[] | undefined;
  values: PlistValue[];
  pos: number;
  depth: number;
}

/** Encodes a plist value as an XML plist (UTF-8). Throws IbackupError INTERNAL for unencodable values. */
export function serializeXmlPlist(value: PlistValue): Uint8Array {
  const w = new XmlWriter();
  w.emit(value, 0);
  w.drain();
  w.out.push(FOOTER);
  return new TextEncoder().encode(w.out.join(''));
}

/** The text being written, and the arrays and dicts still open (walked without recursion). */
class XmlWriter {
  readonly out: string[] = [HEADER];
  private readonly tabs: string[] = [''];
  private readonly open = new Set<object>();
  private readonly stack: Frame[] = [];

  /** Writes the children of the open containers, closing each when its last child is written. */
  drain(): void {
    const { out, stack } = this;
    while (stack.length > 0) {
      const f = stack[stack.length - 1] as Frame;
      if (f.pos < f.values.length) {
        const i = f.pos++;
        const child = f.values[i];
        if (child === undefined) throw encodeError('an array item or dict value is undefined');
        if (f.keys !== undefined)
          out.push(`${this.indent(f.depth + 1)}<key>${escapeText(f.keys[i] as string)}</key>\n`);
        this.emit(child, f.depth + 1);
      } else {
        out.push(`${this.indent(f.depth)}</${f.name}>\n`);
        this.open.delete(f.node);
        stack.pop();
      }
    }
  }

  /** Writes a value; an array or dict is opened and its children are left to `drain`. */
  emit(v: PlistValue, depth: number): void {
    const ind = this.indent(depth);
    const out = this.out;
    switch (kindOf(v)) {
      case 'string':
        out.push(`${ind}<string>${escapeText(v as string)}</string>\n`);
        return;
      case 'int':
        out.push(`${ind}<integer>${formatInteger(v as number | bigint)}</integer>\n`);
        return;
      case 'real':
        out.push(`${ind}<real>${formatReal(realValue(v))}</real>\n`);
        return;
      case 'bool':
        out.push(v === true ? `${ind}<true/>\n` : `${ind}<false/>\n`);
        return;
      case 'date':
        out.push(`${ind}<date>${formatDate(v as Date)}</date>\n`);
        return;
      case 'data':
        return this.emitData(v as Uint8Array, depth, ind);
      case 'uid': {
        const inner = this.indent(depth + 1);
        const n = (v as PlistUid).value;
        out.push(`${ind}<dict>\n${inner}<key>CF$UID</key>\n${inner}<integer>${n}</integer>\n${ind}</dict>\n`);
        return;
      }
      case 'array':
      case 'dict':
        return this.openContainer(v as PlistValue[] | PlistDict, depth, ind);
    }
  }

  private indent(depth: number): string {
    const tabs = this.tabs;
    while (tabs.length <= depth) tabs.push(`${tabs[tabs.length - 1] as string}\t`);
    return tabs[depth] as string;
  }

  private emitData(v: Uint8Array, depth: number, ind: string): void {
    const lines = base64Lines(v, dataLine(depth));
    this.out.push(`${ind}<data>\n`);
    for (const line of lines) this.out.push(`${ind}${line}\n`);
    this.out.push(`${ind}</data>\n`);
  }

  private openContainer(v: PlistValue[] | PlistDict, depth: number, ind: string): void {
    const node = v as object;
    if (this.open.has(node)) throw encodeError('the value contains a reference cycle');
    let keys: string[] | undefined;
    let values: PlistValue[];
    if (Array.isArray(v)) {
      values = v;
    } else {
      const dict = v as PlistDict;
      keys = Object.keys(dict);
      values = keys.map((k) => dict[k] as PlistValue);
    }
    const name = keys === undefined ? 'array' : 'dict';
    if (values.length === 0) {
      this.out.push(`${ind}<${name}/>\n`);
      return;
    }
    this.out.push(`${ind}<${name}>\n`);
    this.open.add(node);
    this.stack.push({ node, name, keys, values, pos: 0, depth });
  }
}
