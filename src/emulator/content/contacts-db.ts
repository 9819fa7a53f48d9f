/**
 * The address book (AddressBook.sqlitedb and AddressBookImages.sqlitedb) and the call log
 * (CallHistory.storedata), written from the content model (personal.ts). Layout facts, from
 * public forensic references:
 * - ABPerson (Prefix, First, Middle, Last, Suffix, Organization, Department, JobTitle, Nickname,
 *   Note, Birthday as Cocoa seconds in text, CreationDate, ModificationDate, StoreID),
 *   ABMultiValue (record_id, property 3 phone / 4 e-mail / 5 address / 22 URL, label →
 *   ABMultiValueLabel.ROWID, value), ABMultiValueEntry (parent_id → ABMultiValue.UID, key →
 *   ABMultiValueEntryKey.ROWID, value) for the parts of an address, ABGroup, ABGroupMembers,
 *   ABStore; photos in AddressBookImages.sqlitedb ABFullSizeImage and ABThumbnailImage (record_id,
 *   format, data): iLEAPP scripts/artifacts/addressBook.py, whose one query runs on its samples
 *   from iOS 12.4 to 18.7, so the virtual iPhone keeps one layout for every generation; mvt
 *   src/mvt/ios/modules/mixed/contacts.py.
 * - ZCALLRECORD (ZDATE Cocoa seconds, ZDURATION seconds, ZADDRESS, ZNAME, ZANSWERED, ZORIGINATED,
 *   ZCALLTYPE 1 phone / 8 FaceTime video / 16 FaceTime audio, ZISO_COUNTRY_CODE, ZLOCATION,
 *   ZSERVICE_PROVIDER): iLEAPP scripts/artifacts/callHistory.py; ZADDRESS may hold bytes instead
 *   of text (mvt src/mvt/ios/modules/mixed/calls.py decodes both); which generations store bytes
 *   is not documented, so the virtual iPhone stores bytes up to iOS 12 and text after, and the
 *   reader takes either. No public reference covers iOS 26; the iOS 17 layout is kept there.
 */
import {
  LABEL_HOME,
  LABEL_IPHONE,
  LABEL_MOBILE,
  LABEL_WORK,
  appleSeconds,
  modelCalls,
  modelContacts,
} from './personal.js';
import type { DatabaseSizes, ModelContact } from './personal.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows, type Db } from './sqlite.js';

const ADDRESS_KEYS = ['Street', 'City', 'ZIP', 'Country', 'CountryCode', 'State'];

const AB_SCHEMA = `CREATE TABLE ABStore (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, Name TEXT, ExternalIdentifier TEXT, Type INTEGER);
  CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, First TEXT, Last TEXT, Middle TEXT, FirstPhonetic TEXT,
    MiddlePhonetic TEXT, LastPhonetic TEXT, Organization TEXT, Department TEXT, Note TEXT, Kind INTEGER, Birthday TEXT,
    JobTitle TEXT, Nickname TEXT, Prefix TEXT, Suffix TEXT, FirstSort TEXT, LastSort TEXT, CreationDate INTEGER,
    ModificationDate INTEGER, CompositeNameFallback TEXT, ExternalIdentifier TEXT, StoreID INTEGER, DisplayName TEXT,
    ExternalRepresentation BLOB, FirstSortSection TEXT, LastSortSection TEXT, FirstSortLanguageIndex INTEGER DEFAULT 2147483647,
    LastSortLanguageIndex INTEGER DEFAULT 2147483647, PersonLink INTEGER DEFAULT -1, ImageURI TEXT, IsPreferredName INTEGER DEFAULT 1,
    guid TEXT);
  CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, identifier INTEGER, label INTEGER,
    value TEXT, guid TEXT);
  CREATE TABLE ABMultiValueLabel (value TEXT, UNIQUE(value));
  CREATE TABLE ABMultiValueEntry (parent_id INTEGER, key INTEGER, value TEXT, UNIQUE(parent_id, key));
  CREATE TABLE ABMultiValueEntryKey (value TEXT, UNIQUE(value));
  CREATE TABLE ABGroup (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, Name TEXT, StoreID INTEGER);
  CREATE TABLE ABGroupMembers (UID INTEGER PRIMARY KEY, group_id INTEGER, member_type INTEGER, member_id INTEGER);
  CREATE INDEX ABMultiValueRecordIDIndex ON ABMultiValue(record_id);`;

/** Cocoa seconds of a YYYY-MM-DD birthday at midnight UTC, as text. */
function birthdayValue(day: string): string {
  return String(appleSeconds(Date.parse(`${day}T00:00:00Z`) / 1000));
}

function personRow(c: ModelContact, created: number, guid: string): Record<string, string | number | null> {
  return {
    ROWID: c.id,
    First: c.first,
    Last: c.last,
    Middle: c.middle,
    Organization: c.organization,
    Department: c.department,
    JobTitle: c.jobTitle,
    Nickname: c.nickname,
    Note: c.note,
    Birthday: c.birthday === null ? null : birthdayValue(c.birthday),
    Kind: 0,
    StoreID: 1,
    CreationDate: created,
    ModificationDate: created + 3600,
    guid,
  };
}

/** The label table's ROWID of a label, adding it when new. */
function labelIds(db: Db): (label: string | null) => number | null {
  const ids = new Map<string, number>();
  const insert = db.prepare('INSERT INTO ABMultiValueLabel (value) VALUES (?)');
  for (const l of [LABEL_MOBILE, LABEL_IPHONE, LABEL_HOME, LABEL_WORK])
    ids.set(l, Number(insert.run(l).lastInsertRowid));
  return (label) => {
    if (label === null) return null;
    let id = ids.get(label);
    if (id === undefined) {
      id = Number(insert.run(label).lastInsertRowid);
      ids.set(label, id);
    }
    return id;
  };
}

function addMultiValues(db: Db, seed: number, contacts: readonly ModelContact[]): void {
  const label = labelIds(db);
  insertRows(
    db,
    'ABMultiValueEntryKey',
    ADDRESS_KEYS.map((value) => ({ value })),
  );
  const values: Record<string, string | number | null>[] = [];
  const entries: Record<string, string | number>[] = [];
  let uid = 1;
  for (const c of contacts) {
    const rng = rngFor(seed, 'abmultivalue', c.id);
    const row = (property: number, l: string | null, value: string | null, i: number): void => {
      values.push({ UID: uid++, record_id: c.id, property, identifier: i, label: label(l), value, guid: rng.uuid() });
    };
    c.phones.forEach((p, i) => row(3, p.label, p.value, i));
    c.emails.forEach((e, i) => row(4, e.label, e.value, i));
    c.urls.forEach((u, i) => row(22, u.label, u.value, i));
    c.addresses.forEach((a, i) => {
      const parent = uid;
      row(5, a.label, null, i);
      const parts = [a.street, a.city, a.postalCode, a.country];
      parts.forEach((value, k) => entries.push({ parent_id: parent, key: k + 1, value }));
    });
  }
  insertRows(db, 'ABMultiValue', values);
  insertRows(db, 'ABMultiValueEntry', entries);
}

export function addressBookDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  const contacts = modelContacts(seed, sizes);
  return buildDatabase(AB_SCHEMA, (db) => {
    insertRows(db, 'ABStore', [{ Name: 'Local', Type: 0 }]);
    insertRows(
      db,
      'ABPerson',
      contacts.map((c) => {
        const rng = rngFor(seed, 'abperson', c.id);
        return personRow(c, appleSeconds(1_600_000_000) - rng.int(0, 86_400 * 2000), rng.uuid());
      }),
    );
    addMultiValues(db, seed, contacts);
    insertRows(db, 'ABGroup', [
      { Name: 'Family', StoreID: 1 },
      { Name: 'Work', StoreID: 1 },
    ]);
    insertRows(
      db,
      'ABGroupMembers',
      contacts.filter((c) => c.id % 5 === 0).map((c) => ({ group_id: 1, member_type: 0, member_id: c.id })),
    );
  });
}

export function addressBookImagesDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  const contacts = modelContacts(seed, sizes).filter((c) => c.photo !== null);
  return buildDatabase(
    `CREATE TABLE ABFullSizeImage (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, record_id INTEGER, crop_x INTEGER, crop_y INTEGER,
       crop_width INTEGER, data BLOB);
     CREATE TABLE ABThumbnailImage (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, record_id INTEGER, format INTEGER,
       derived_from_format INTEGER, data BLOB);`,
    (db) => {
      insertRows(
        db,
        'ABFullSizeImage',
        contacts.map((c) => ({ record_id: c.id, crop_x: 0, crop_y: 0, crop_width: 32, data: c.photo })),
      );
      insertRows(
        db,
        'ABThumbnailImage',
        contacts.map((c) => ({ record_id: c.id, format: 0, derived_from_format: 0, data: c.photo })),
      );
    },
  );
}

export function callHistoryDb(seed: number, sizes: DatabaseSizes, major: number): Uint8Array {
  const calls = modelCalls(seed, sizes);
  return buildDatabase(
    `CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZANSWERED INTEGER, ZCALLTYPE INTEGER,
       ZDISCONNECTED_CAUSE INTEGER, ZFACE_TIME_DATA INTEGER, ZNUMBER_AVAILABILITY INTEGER, ZORIGINATED INTEGER, ZREAD INTEGER,
       ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS VARCHAR, ZDEVICE_ID VARCHAR, ZISO_COUNTRY_CODE VARCHAR, ZLOCATION VARCHAR,
       ZNAME VARCHAR, ZSERVICE_PROVIDER VARCHAR, ZUNIQUE_ID VARCHAR);
     CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER, Z_MAX INTEGER);
     CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255), Z_PLIST BLOB);
     CREATE INDEX ZCALLRECORD_ZDATE_INDEX ON ZCALLRECORD (ZDATE);`,
    (db) => {
      insertRows(
        db,
        'ZCALLRECORD',
        calls.map((c) => {
          const rng = rngFor(seed, 'callrow', c.id);
          return {
            Z_PK: c.id,
            Z_ENT: 2,
            Z_OPT: 1,
            ZANSWERED: c.answered ? 1 : 0,
            ZCALLTYPE: c.callType,
            ZORIGINATED: c.outgoing ? 1 : 0,
            ZREAD: 1,
            ZDATE: appleSeconds(c.date) + rng.float() / 2,
            ZDURATION: c.duration,
            ZADDRESS: major <= 12 ? new TextEncoder().encode(c.address) : c.address,
            ZISO_COUNTRY_CODE: 'fr',
            ZLOCATION: c.address.startsWith('+33') ? 'France' : null,
            ZNAME: null,
            ZSERVICE_PROVIDER: c.callType === 1 ? 'com.apple.Telephony' : 'com.apple.FaceTime',
            ZUNIQUE_ID: rng.uuid(),
          };
        }),
      );
      insertRows(db, 'Z_PRIMARYKEY', [{ Z_ENT: 2, Z_NAME: 'CallRecord', Z_SUPER: 0, Z_MAX: calls.length }]);
      insertRows(db, 'Z_METADATA', [{ Z_VERSION: 1, Z_UUID: rngFor(seed, 'callmeta').uuid(), Z_PLIST: null }]);
    },
  );
}
