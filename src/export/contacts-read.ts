/**
 * The address book of a backup as plain contacts: AddressBook.sqlitedb (ABPerson, ABMultiValue
 * with ABMultiValueLabel, ABMultiValueEntry/ABMultiValueEntryKey for addresses) and the photos of
 * AddressBookImages.sqlitedb (ABFullSizeImage, else the ABThumbnailImage of format 0). Layout
 * facts: iLEAPP scripts/artifacts/addressBook.py (one query over its samples from iOS 12.4 to
 * 18.7) and mvt src/mvt/ios/modules/mixed/contacts.py; property numbers 3 phone, 4 e-mail,
 * 5 address, 22 URL from the same iLEAPP query. No public reference covers iOS 26: the reader
 * needs only ABPerson's ROWID/First/Last and ABMultiValue's record_id/property/label/value, and
 * takes every other column when present.
 */
import { columnsOf, hasTable, optionalColumn, requireColumns } from './schema.js';
import type { Db } from './source.js';

export const ADDRESS_BOOK = { domain: 'HomeDomain', relativePath: 'Library/AddressBook/AddressBook.sqlitedb' };
export const ADDRESS_BOOK_IMAGES = {
  domain: 'HomeDomain',
  relativePath: 'Library/AddressBook/AddressBookImages.sqlitedb',
};

export interface Labelled {
  /** The raw label ("_$!<Mobile>!$_", or a custom one), null when none. */
  label: string | null;
  value: string;
}

export interface ContactAddress {
  label: string | null;
  street: string;
  city: string;
  state: string;
  postalCode: string;
  country: string;
}

export interface Contact {
  id: number;
  prefix: string;
  first: string;
  middle: string;
  last: string;
  suffix: string;
  nickname: string;
  organization: string;
  department: string;
  jobTitle: string;
  note: string;
  /** YYYY-MM-DD, or null. */
  birthday: string | null;
  phones: Labelled[];
  emails: Labelled[];
  urls: Labelled[];
  addresses: ContactAddress[];
  photo: Uint8Array | null;
}

const PERSON_COLUMNS = ['Prefix', 'Middle', 'Suffix', 'Nickname', 'Organization', 'Department', 'JobTitle', 'Note'];
const ADDRESS_KEYS: Record<string, keyof Omit<ContactAddress, 'label'>> = {
  Street: 'street',
  City: 'city',
  State: 'state',
  ZIP: 'postalCode',
  Country: 'country',
};

/** A birthday stored as Cocoa seconds (text or number) to YYYY-MM-DD (its UTC date). */
export function birthdayOf(value: unknown): string | null {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(n)) return null;
  const d = new Date((n + 978_307_200) * 1000);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

function readPeople(db: Db): Map<number, Contact> {
  const have = columnsOf(db, 'ABPerson');
  const cols = PERSON_COLUMNS.map((c) => `${optionalColumn(have, 'ABPerson', c)} AS ${c}`).join(', ');
  const birthday = optionalColumn(have, 'ABPerson', 'Birthday');
  const rows = db
    .prepare(`SELECT ROWID AS id, First, Last, ${cols}, ${birthday} AS Birthday FROM ABPerson ORDER BY ROWID`)
    .all() as Record<string, unknown>[];
  const out = new Map<number, Contact>();
  for (const r of rows) {
    out.set(Number(r['id']), {
      id: Number(r['id']),
      prefix: text(r['Prefix']),
      first: text(r['First']),
      middle: text(r['Middle']),
      last: text(r['Last']),
      suffix: text(r['Suffix']),
      nickname: text(r['Nickname']),
      organization: text(r['Organization']),
      department: text(r['Department']),
      jobTitle: text(r['JobTitle']),
      note: text(r['Note']),
      birthday: r['Birthday'] === null ? null : birthdayOf(r['Birthday']),
      phones: [],
      emails: [],
      urls: [],
      addresses: [],
      photo: null,
    });
  }
  return out;
}

/** Address parts by ABMultiValue UID. */
function readAddressParts(db: Db): Map<number, Partial<ContactAddress>> {
  const out = new Map<number, Partial<ContactAddress>>();
  if (!hasTable(db, 'ABMultiValueEntry') || !hasTable(db, 'ABMultiValueEntryKey')) return out;
  const rows = db
    .prepare(
      `SELECT e.parent_id AS parent, k.value AS key, e.value AS value FROM ABMultiValueEntry e
       JOIN ABMultiValueEntryKey k ON e.key = k.ROWID`,
    )
    .all() as { parent: number; key: string; value: unknown }[];
  for (const r of rows) {
    const field = ADDRESS_KEYS[r.key];
    if (field === undefined) continue;
    const a = out.get(r.parent) ?? {};
    a[field] = text(r.value);
    out.set(r.parent, a);
  }
  return out;
}

function readMultiValues(db: Db, people: Map<number, Contact>): void {
  const labels = hasTable(db, 'ABMultiValueLabel');
  const rows = db
    .prepare(
      `SELECT mv.UID AS uid, mv.record_id AS rid, mv.property AS property, ${labels ? 'l.value' : 'NULL'} AS label,
         mv.value AS value FROM ABMultiValue mv
       ${labels ? 'LEFT JOIN ABMultiValueLabel l ON mv.label = l.ROWID' : ''}
       ORDER BY mv.record_id, mv.property, mv.identifier, mv.UID`,
    )
    .all() as { uid: number; rid: number; property: number; label: string | null; value: unknown }[];
  const parts = readAddressParts(db);
  for (const r of rows) {
    const c = people.get(r.rid);
    if (c === undefined) continue;
    const label = typeof r.label === 'string' ? r.label : null;
    if (r.property === 5) {
      const p = parts.get(r.uid) ?? {};
      c.addresses.push({ label, street: '', city: '', state: '', postalCode: '', country: '', ...p });
      continue;
    }
    const value = text(r.value);
    if (value === '') continue;
    if (r.property === 3) c.phones.push({ label, value });
    else if (r.property === 4) c.emails.push({ label, value });
    else if (r.property === 22) c.urls.push({ label, value });
  }
}

/** Puts each contact's photo from AddressBookImages.sqlitedb, when it is there. */
export function readPhotos(images: Db, people: Map<number, Contact>): void {
  const pick = (table: string, where: string): void => {
    if (!hasTable(images, table)) return;
    const rows = images.prepare(`SELECT record_id AS rid, data FROM ${table} ${where}`).all() as {
      rid: number;
      data: unknown;
    }[];
    for (const r of rows) {
      const c = people.get(r.rid);
      if (c !== undefined && c.photo === null && r.data instanceof Uint8Array && r.data.length > 0) c.photo = r.data;
    }
  };
  pick('ABFullSizeImage', '');
  pick('ABThumbnailImage', columnsOf(images, 'ABThumbnailImage').has('format') ? 'WHERE format = 0' : '');
}

/** Every contact of the address book, in ROWID order. */
export function readContacts(db: Db, images?: Db): Contact[] {
  requireColumns(db, 'address book', {
    ABPerson: ['ROWID', 'First', 'Last'],
    ABMultiValue: ['UID', 'record_id', 'property', 'label', 'value'],
  });
  const people = readPeople(db);
  readMultiValues(db, people);
  if (images !== undefined) readPhotos(images, people);
  return [...people.values()];
}

/** The name a person is shown by: "First Middle Last", else the organisation, else a number or e-mail. */
export function displayName(c: Contact): string {
  const name = [c.prefix, c.first, c.middle, c.last, c.suffix].filter((s) => s !== '').join(' ');
  return name || c.organization || c.phones[0]?.value || c.emails[0]?.value || `Contact ${c.id}`;
}
