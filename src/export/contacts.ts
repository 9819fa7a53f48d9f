/**
 * `export contacts`: every contact of the backup's address book as vCard 3.0, in one .vcf file
 * (when --out ends with .vcf) or one file per contact in a folder.
 */
import path from 'node:path';
import { IbackupError } from '../errors.js';
import { displayName, readContacts, ADDRESS_BOOK, ADDRESS_BOOK_IMAGES, type Contact } from './contacts-read.js';
import { OutputFolder, plainName } from './output.js';
import {
  checkCancelled,
  chooseFormat,
  itemProgress,
  type ExportOptions,
  type ExportResult,
  type ExportWarning,
} from './result.js';
import { openBackupDb, openOptionalDb, type ExportSource } from './source.js';
import { phoneKey } from './text.js';
import { vcardOf } from './vcard.js';

/** The contacts of a backup (address book and its photos). */
export async function loadContacts(source: ExportSource, tempParent?: string): Promise<Contact[]> {
  const book = await openBackupDb(source, ADDRESS_BOOK, 'address book', tempParent);
  try {
    const images = await openOptionalDb(source, ADDRESS_BOOK_IMAGES, 'address book photos', tempParent);
    try {
      return readContacts(book.db, images?.db);
    } finally {
      images?.close();
    }
  } finally {
    book.close();
  }
}

/** Names by phone number or e-mail, from the address book when the backup has one. */
export async function contactNames(source: ExportSource, tempParent?: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  try {
    for (const c of await loadContacts(source, tempParent)) {
      for (const v of [...c.phones, ...c.emails]) {
        const key = phoneKey(v.value);
        if (key !== undefined && !names.has(key)) names.set(key, displayName(c));
      }
    }
  } catch (err) {
    if (!(err instanceof IbackupError) || (err.code !== 'EXPORT_SOURCE_MISSING' && err.code !== 'SCHEMA_UNKNOWN'))
      throw err;
  }
  return names;
}

export function nameOf(names: ReadonlyMap<string, string>, handle: string | null): string {
  if (handle === null) return 'Me';
  const key = phoneKey(handle);
  return (key === undefined ? undefined : names.get(key)) ?? handle;
}

async function writeCards(contacts: readonly Contact[], options: ExportOptions, single: boolean): Promise<string[]> {
  const target = path.resolve(options.out);
  if (single) {
    const folder = await OutputFolder.create(path.dirname(target));
    await folder.write(path.basename(target), contacts.map(vcardOf).join(''));
    return folder.written;
  }
  const folder = await OutputFolder.create(target);
  let done = 0;
  for (const c of contacts) {
    checkCancelled(options.signal);
    await folder.write(folder.unique(`${plainName(displayName(c), `Contact ${c.id}`)}.vcf`), vcardOf(c));
    done++;
    if (done % 50 === 0 || done === contacts.length) itemProgress(options, 'contacts', done, contacts.length, done);
  }
  return folder.written;
}

export async function exportContacts(source: ExportSource, options: ExportOptions): Promise<ExportResult> {
  const format = chooseFormat('contacts', options, ['vcf']);
  const contacts = await loadContacts(source, options.tempParent);
  const warnings: ExportWarning[] = [];
  const out = path.resolve(options.out);
  if (contacts.length === 0) {
    warnings.push({
      code: 'EMPTY',
      message: 'The address book in this backup holds no contacts; nothing was written.',
    });
    return { kind: 'contacts', items: 0, files: [], out, format, warnings };
  }
  const single = path.extname(out).toLowerCase() === '.vcf';
  const files = await writeCards(contacts, options, single);
  return { kind: 'contacts', items: contacts.length, files, out, format, warnings };
}
