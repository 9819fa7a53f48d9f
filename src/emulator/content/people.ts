/** Seeded people, phone numbers and sentences for the generated databases and documents. */
import { rngFor, type Rng } from './random.js';

const FIRST = [
  'Emma',
  'Louis',
  'Chloé',
  'Noah',
  'Zoë',
  'Hugo',
  'Léa',
  'Liam',
  'Sofia',
  'Mateo',
  'Yuki',
  'Aarav',
  'Amélie',
  'Oscar',
  'Maya',
  'Ethan',
  'Inès',
  'Lucas',
  'Hana',
  'Jonas',
  'Nora',
  'Kenji',
  'Clara',
  'Omar',
];
const LAST = [
  'Martin',
  'Bernard',
  'Dubois',
  'Müller',
  'García',
  'Rossi',
  'Smith',
  'Nguyen',
  'Kowalski',
  'Tanaka',
  'Silva',
  'Novak',
  'Jensen',
  'Moreau',
  "O'Brien",
  'Petit',
  'Fischer',
  'Haddad',
  'Lefèvre',
  'Sato',
];
const COMPANIES = ['', '', '', 'Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay Industries'];
const WORDS = (
  'the a to and of in on for with at by from up about into over after see you me we they time day ' +
  'meeting lunch dinner tomorrow tonight today call back later soon thanks great okay sure photo train station ' +
  'coffee weekend plan trip beach mountain book film music concert birthday party gift office report project ' +
  'deadline budget doctor school kids dog cat garden rain sun snow café déjà vu naïve 😀 👍 🎉'
).split(' ');

export interface Person {
  first: string;
  last: string;
  organization: string;
  phone: string;
  email: string;
}

export function person(seed: number, index: number): Person {
  const rng = rngFor(seed, 'person', index);
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const phone = `+33 6 ${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)} ${String(index % 100).padStart(2, '0')}`;
  const mail = `${first}.${last}`
    .normalize('NFD')
    .replace(/[^A-Za-z.]/g, '')
    .toLowerCase();
  return { first, last, organization: rng.pick(COMPANIES), phone, email: `${mail}${index}@example.com` };
}

/** A phone number in E.164 form, as Messages stores handles. */
export function e164(phone: string): string {
  return phone.replace(/ /g, '');
}

export function sentence(rng: Rng, minWords = 3, maxWords = 16): string {
  const n = rng.int(minWords, maxWords);
  const words = Array.from({ length: n }, () => rng.pick(WORDS));
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${rng.pick(['.', '!', '?', '', '.'])}`;
}

export function paragraph(rng: Rng, sentences: number): string {
  return Array.from({ length: sentences }, () => sentence(rng, 6, 20)).join(' ');
}
