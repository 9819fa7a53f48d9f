/**
 * vCard 3.0 (RFC 2426) of a contact: N, FN, NICKNAME, ORG, TITLE, TEL, EMAIL, ADR, URL, BDAY,
 * NOTE and PHOTO (base64 JPEG). Values are escaped (backslash, comma, semicolon, newline), lines
 * end with CRLF and are folded at 75 octets without splitting a UTF-8 character. The address
 * book's own labels become TYPE parameters; a custom label is kept the way Apple's Contacts
 * writes it, as an "itemN." group with X-ABLabel.
 */
import { displayName, type Contact, type Labelled } from './contacts-read.js';

/** Address-book labels and their vCard TYPE values. */
const TYPES: Record<string, string[]> = {
  Mobile: ['CELL'],
  iPhone: ['CELL', 'IPHONE'],
  Home: ['HOME'],
  Work: ['WORK'],
  Main: ['MAIN'],
  HomeFAX: ['HOME', 'FAX'],
  WorkFAX: ['WORK', 'FAX'],
  OtherFAX: ['FAX'],
  Pager: ['PAGER'],
  Other: ['OTHER'],
  HomePage: ['HOME'],
};

/** The TYPE values of a raw label, or undefined for a custom label. */
export function typesOf(label: string | null): string[] | undefined {
  if (label === null) return [];
  const m = /^_\$!<(.+)>!\$_$/.exec(label);
  const key = m === null ? label : (m[1] as string);
  return TYPES[key];
}

/** A custom label's text ("_$!<Anniversary>!$_" → "Anniversary"). */
export function labelText(label: string): string {
  return label.replace(/^_\$!<(.+)>!\$_$/, '$1');
}

/** Escapes a text value; `structured` values (N, ADR, ORG parts) escape their semicolons too. */
export function escapeValue(s: string, structured = false): string {
  const t = s
    .replace(/\\/g, '\\\\')
    .replace(/\r\n|\r|\n/g, '\\n')
    .replace(/,/g, '\\,');
  return structured ? t.replace(/;/g, '\\;') : t;
}

/** Folds a content line at 75 octets (continuation lines start with a space). */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, 'utf8');
    const limit = parts.length === 0 ? 75 : 74;
    if (bytes + n > limit) {
      parts.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += n;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

class Card {
  private readonly lines: string[] = [];
  private item = 0;

  add(name: string, value: string, types: readonly string[] = []): void {
    const params = types.length > 0 ? `;TYPE=${types.join(',')}` : '';
    this.lines.push(`${name}${params}:${value}`);
  }

  /** A labelled value: TYPE for the book's own labels, an itemN group with X-ABLabel for custom ones. */
  labelled(name: string, v: Labelled, base: readonly string[], value: string): void {
    const types = typesOf(v.label);
    if (types !== undefined || v.label === null) {
      this.add(name, value, [...base, ...(types ?? [])]);
      return;
    }
    this.item++;
    this.add(`item${this.item}.${name}`, value, base);
    this.add(`item${this.item}.X-ABLabel`, escapeValue(labelText(v.label)));
  }

  text(): string {
    return ['BEGIN:VCARD', 'VERSION:3.0', ...this.lines, 'END:VCARD'].map((l) => `${foldLine(l)}\r\n`).join('');
  }
}

export function vcardOf(c: Contact): string {
  const card = new Card();
  const e = (v: string): string => escapeValue(v);
  const part = (v: string): string => escapeValue(v, true);
  card.add('N', [c.last, c.first, c.middle, c.prefix, c.suffix].map(part).join(';'));
  card.add('FN', e(displayName(c)));
  if (c.nickname !== '') card.add('NICKNAME', e(c.nickname));
  if (c.organization !== '' || c.department !== '') card.add('ORG', `${part(c.organization)};${part(c.department)}`);
  if (c.jobTitle !== '') card.add('TITLE', e(c.jobTitle));
  for (const p of c.phones) card.labelled('TEL', p, [], e(p.value));
  for (const m of c.emails) card.labelled('EMAIL', m, ['INTERNET'], e(m.value));
  for (const a of c.addresses) {
    const adr = ['', '', a.street, a.city, a.state, a.postalCode, a.country].map(part).join(';');
    card.labelled('ADR', { label: a.label, value: adr }, [], adr);
  }
  for (const u of c.urls) card.labelled('URL', u, [], e(u.value));
  if (c.birthday !== null) card.add('BDAY', c.birthday);
  if (c.note !== '') card.add('NOTE', e(c.note));
  if (c.photo !== null) {
    const type = c.photo[0] === 0x89 ? 'PNG' : c.photo[0] === 0x47 ? 'GIF' : 'JPEG';
    card.add(`PHOTO;ENCODING=b;TYPE=${type}`, Buffer.from(c.photo).toString('base64'));
  }
  return card.text();
}
