/**
 * What the virtual iPhone's personal databases hold, as plain values: the people of the address
 * book, the call log and the notes (messages are in personal-messages.ts). The databases are
 * written from this model (databases.ts, sms-db.ts), and tests read it as the oracle of what an
 * export must contain. Same seed and sizes, same model.
 */
import { encodeJpeg } from './jpeg-encoder.js';
import { APPLE_EPOCH, CONTENT_NOW } from './model.js';
import { e164, paragraph, person, sentence } from './people.js';
import { rngFor, type Rng } from './random.js';

/** How much a profile's databases hold. */
export interface DatabaseSizes {
  contacts: number;
  messages: number;
  calls: number;
  notes: number;
  events: number;
}

/** A labelled value of a contact; `label` is the address book's raw label ("_$!<Mobile>!$_", or a custom one). */
export interface LabelledValue {
  label: string | null;
  value: string;
}

export interface PostalAddress {
  label: string | null;
  street: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface ModelContact {
  /** ABPerson ROWID. */
  id: number;
  first: string;
  last: string;
  middle: string | null;
  organization: string | null;
  department: string | null;
  jobTitle: string | null;
  nickname: string | null;
  note: string | null;
  /** YYYY-MM-DD. */
  birthday: string | null;
  phones: LabelledValue[];
  emails: LabelledValue[];
  /** Web pages (property 22). */
  urls: LabelledValue[];
  addresses: PostalAddress[];
  /** A JPEG, when the contact has a photo (AddressBookImages.sqlitedb). */
  photo: Uint8Array | null;
}

export interface ModelCall {
  /** ZCALLRECORD Z_PK. */
  id: number;
  /** E.164 number or an Apple ID e-mail (FaceTime). */
  address: string;
  /** Unix seconds. */
  date: number;
  /** Seconds, 0 when not answered. */
  duration: number;
  outgoing: boolean;
  answered: boolean;
  /** 1 phone, 8 FaceTime video, 16 FaceTime audio (iLEAPP callHistory.py). */
  callType: number;
  /** The contact the number belongs to, when it is in the address book. */
  contactId: number | null;
}

export interface ModelNote {
  id: number;
  title: string;
  body: string;
  /** Unix seconds. */
  created: number;
  modified: number;
  /** Locked with a password: only the title is readable. */
  locked: boolean;
  /** In "Recently Deleted" (ZMARKEDFORDELETION): no export shows it. */
  deleted: boolean;
}

export const LABEL_MOBILE = '_$!<Mobile>!$_';
export const LABEL_HOME = '_$!<Home>!$_';
export const LABEL_WORK = '_$!<Work>!$_';
export const LABEL_IPHONE = 'iPhone';
export const LABEL_HOMEPAGE = '_$!<HomePage>!$_';
const STREETS = ['rue de Rivoli', 'Hauptstraße', 'Calle Mayor', 'Via Roma', 'Baker Street', '銀座通り'];
const CITIES: readonly [string, string, string][] = [
  ['Paris', '75001', 'France'],
  ['München', '80331', 'Deutschland'],
  ['Madrid', '28013', 'España'],
  ['Roma', '00184', 'Italia'],
  ['London', 'NW1 6XE', 'United Kingdom'],
  ['東京', '104-0061', '日本'],
];

/** A moment up to `days` days before the content's "now", in Unix seconds. */
export function pastMoment(rng: Rng, days: number): number {
  return CONTENT_NOW - rng.int(0, days * 86_400);
}

/** Seconds since 2001-01-01 of a Unix time. */
export function appleSeconds(unix: number): number {
  return unix - APPLE_EPOCH;
}

/** A small seeded portrait JPEG. */
function portrait(seed: number, i: number): Uint8Array {
  const side = 32;
  const rgb = new Uint8Array(side * side * 3);
  const rng = rngFor(seed, 'portrait', i);
  const base = [rng.int(40, 215), rng.int(40, 215), rng.int(40, 215)];
  for (let p = 0; p < side * side; p++)
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.max(0, Math.min(255, (base[c] ?? 0) + rng.int(-30, 30)));
  return encodeJpeg(rgb, side, side, 80);
}

function address(rng: Rng): PostalAddress {
  const [city, postalCode, country] = rng.pick(CITIES);
  return {
    label: rng.pick([LABEL_HOME, LABEL_WORK]),
    street: `${rng.int(1, 120)} ${rng.pick(STREETS)}`,
    city,
    postalCode,
    country,
  };
}

export function modelContact(seed: number, i: number): ModelContact {
  const p = person(seed, i);
  const rng = rngFor(seed, 'contact', i);
  const phones: LabelledValue[] = [{ label: rng.pick([LABEL_MOBILE, LABEL_IPHONE]), value: p.phone }];
  if (rng.chance(0.3))
    phones.push({
      label: LABEL_WORK,
      value: `+33 1 ${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)}`,
    });
  const emails: LabelledValue[] = rng.chance(0.6)
    ? [{ label: rng.pick([LABEL_HOME, LABEL_WORK]), value: p.email }]
    : [];
  if (rng.chance(0.15)) emails.push({ label: 'Club 🎾', value: `club${i}@example.org` });
  const month = rng.int(1, 12);
  const day = rng.int(1, 28);
  return {
    id: i + 1,
    first: p.first,
    last: p.last,
    middle: rng.chance(0.1) ? 'Marie' : null,
    organization: p.organization === '' ? null : p.organization,
    department: p.organization !== '' && rng.chance(0.5) ? 'R&D' : null,
    jobTitle: p.organization !== '' && rng.chance(0.5) ? rng.pick(['Engineer', 'Directrice', 'Chef de projet']) : null,
    nickname: rng.chance(0.1) ? `${p.first.slice(0, 3)} ✨` : null,
    note: rng.chance(0.2) ? `${sentence(rng)}\nMet at ${rng.pick(CITIES)[0]}; "quotes", commas, and; semicolons` : null,
    birthday: rng.chance(0.4)
      ? `${rng.int(1950, 2005)}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`
      : null,
    phones,
    emails,
    addresses: rng.chance(0.35) ? [address(rng)] : [],
    urls:
      p.organization !== '' && i % 3 === 0
        ? [{ label: LABEL_HOMEPAGE, value: `https://www.example.com/${i}?a=1&b=2` }]
        : [],
    photo: rng.chance(0.25) ? portrait(seed, i) : null,
  };
}

export function modelContacts(seed: number, sizes: DatabaseSizes): ModelContact[] {
  return Array.from({ length: sizes.contacts }, (_, i) => modelContact(seed, i));
}

/** Calls: most with people of the address book, some with unknown numbers, a few FaceTime calls by e-mail. */
export function modelCalls(seed: number, sizes: DatabaseSizes): ModelCall[] {
  const out: ModelCall[] = [];
  for (let i = 0; i < sizes.calls; i++) {
    const rng = rngFor(seed, 'call', i);
    const known = sizes.contacts > 0 && rng.chance(0.8);
    const who = known ? rng.int(0, sizes.contacts - 1) : -1;
    const callType = rng.pick([1, 1, 1, 8, 16]);
    const p = known ? person(seed, who) : undefined;
    let addr = p === undefined ? `+3361${String(rng.int(0, 9_999_999)).padStart(7, '0')}` : e164(p.phone);
    if (callType !== 1 && p !== undefined && rng.chance(0.3)) addr = p.email;
    const answered = rng.chance(0.8);
    out.push({
      id: i + 1,
      address: addr,
      date: pastMoment(rng, 365),
      duration: answered ? rng.int(5, 3600) : 0,
      outgoing: rng.chance(0.5),
      answered,
      callType,
      contactId: known ? who + 1 : null,
    });
  }
  return out;
}

export function modelNotes(seed: number, sizes: DatabaseSizes): ModelNote[] {
  return Array.from({ length: sizes.notes }, (_, i) => {
    const rng = rngFor(seed, 'note', i);
    const created = pastMoment(rng, 1500);
    return {
      id: i + 1,
      title: i === 0 ? 'Courses 🛒 & <idées>' : sentence(rng, 2, 5),
      body: i === 0 ? 'Pain, fromage\n• Café\n<b>not bold</b> & "quoted"' : paragraph(rng, rng.int(1, 8)),
      created,
      modified: created + rng.int(0, 86_400),
      locked: i % 4 === 3,
      deleted: i % 7 === 5,
    };
  });
}
