/**
 * The personal databases of the device, as real SQLite files with plausible rows and the table
 * and column names iOS uses: contacts, messages, call history, notes and calendar.
 */
import { gzipSync } from 'node:zlib';
import { APPLE_EPOCH, CONTENT_NOW } from './model.js';
import { e164, paragraph, person, sentence } from './people.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows, type Db } from './sqlite.js';

/** How much a profile's databases hold. */
export interface DatabaseSizes {
  contacts: number;
  messages: number;
  calls: number;
  notes: number;
  events: number;
}

/** Seconds since 2001-01-01 of a moment up to `days` days before the content's "now". */
function appleTime(rng: { int(lo: number, hi: number): number }, days: number): number {
  return CONTENT_NOW - APPLE_EPOCH - rng.int(0, days * 86_400);
}

export function addressBookDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, First TEXT, Last TEXT, Middle TEXT, Organization TEXT,
       Department TEXT, Note TEXT, Kind INTEGER, Birthday TEXT, JobTitle TEXT, Nickname TEXT, CreationDate INTEGER,
       ModificationDate INTEGER, CompositeNameFallback TEXT, DisplayName TEXT, guid TEXT);
     CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, identifier INTEGER,
       label INTEGER, value TEXT, guid TEXT);
     CREATE TABLE ABMultiValueLabel (value TEXT, UNIQUE(value));
     CREATE TABLE ABGroup (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, Name TEXT);
     CREATE INDEX ABMultiValueRecordIDIndex ON ABMultiValue(record_id);`,
    (db) => {
      insertRows(
        db,
        'ABMultiValueLabel',
        ['_$!<Mobile>!$_', '_$!<Home>!$_', '_$!<Work>!$_'].map((value) => ({ value })),
      );
      insertRows(db, 'ABGroup', [{ Name: 'Family' }, { Name: 'Work' }]);
      const people = [];
      const values = [];
      for (let i = 0; i < sizes.contacts; i++) {
        const p = person(seed, i);
        const rng = rngFor(seed, 'abperson', i);
        const created = appleTime(rng, 2000);
        people.push({
          First: p.first,
          Last: p.last,
          Organization: p.organization || null,
          Kind: 0,
          CreationDate: created,
          ModificationDate: created + rng.int(0, 86_400 * 30),
          guid: rng.uuid(),
        });
        values.push({ record_id: i + 1, property: 3, identifier: 0, label: 1, value: p.phone, guid: rng.uuid() });
        if (rng.chance(0.6))
          values.push({ record_id: i + 1, property: 4, identifier: 0, label: 2, value: p.email, guid: rng.uuid() });
      }
      insertRows(db, 'ABPerson', people);
      insertRows(db, 'ABMultiValue', values);
    },
  );
}

export function smsDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  const handles = Math.max(1, Math.min(sizes.contacts, 40));
  return buildDatabase(
    `CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT,
       service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT, UNIQUE (id, service));
     CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER, state INTEGER,
       account_id TEXT, chat_identifier TEXT, service_name TEXT, display_name TEXT, last_read_message_timestamp INTEGER DEFAULT 0);
     CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, handle_id INTEGER DEFAULT 0,
       service TEXT, account TEXT, date INTEGER, date_read INTEGER, date_delivered INTEGER, is_delivered INTEGER DEFAULT 0,
       is_from_me INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0);
     CREATE TABLE chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
       handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
     CREATE TABLE chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
       message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, message_date INTEGER DEFAULT 0, PRIMARY KEY (chat_id, message_id));
     CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, filename TEXT, mime_type TEXT, total_bytes INTEGER DEFAULT 0);
     CREATE INDEX message_idx_handle ON message(handle_id, date);`,
    (db) => {
      addSmsChats(db, seed, handles);
      addSmsMessages(db, seed, sizes.messages, handles);
    },
  );
}

/** One chat per handle (every third an SMS one), each with its handle. */
function addSmsChats(db: Db, seed: number, handles: number): void {
  const handleRows = [];
  const chatRows = [];
  const joins = [];
  for (let h = 0; h < handles; h++) {
    const p = person(seed, h);
    const service = h % 3 === 2 ? 'SMS' : 'iMessage';
    handleRows.push({ id: e164(p.phone), country: 'fr', service, uncanonicalized_id: p.phone });
    chatRows.push({
      guid: `${service};-;${e164(p.phone)}`,
      style: 45,
      state: 3,
      chat_identifier: e164(p.phone),
      service_name: service,
      display_name: '',
      account_id: rngFor(seed, 'account').uuid(),
    });
    joins.push({ chat_id: h + 1, handle_id: h + 1 });
  }
  insertRows(db, 'handle', handleRows);
  insertRows(db, 'chat', chatRows);
  insertRows(db, 'chat_handle_join', joins);
}

/** `count` messages spread over the chats, one a minute from 400 days before "now". */
function addSmsMessages(db: Db, seed: number, count: number, handles: number): void {
  const messages = [];
  const chatJoins = [];
  for (let i = 0; i < count; i++) {
    const rng = rngFor(seed, 'message', i);
    const handle = rng.int(1, handles);
    // Later messages are newer: message i is i minutes after the first.
    const date = BigInt(CONTENT_NOW - APPLE_EPOCH - 400 * 86_400 + i * 60 + rng.int(0, 59)) * 1_000_000_000n;
    const fromMe = rng.chance(0.45) ? 1 : 0;
    messages.push({
      guid: rng.uuid(),
      text: sentence(rng),
      handle_id: handle,
      service: handle % 3 === 0 ? 'SMS' : 'iMessage',
      account: fromMe ? 'E:me@example.com' : null,
      date,
      date_read: fromMe ? 0n : date + 30_000_000_000n,
      date_delivered: date + 1_000_000_000n,
      is_delivered: 1,
      is_from_me: fromMe,
      is_read: 1,
      is_sent: fromMe,
    });
    chatJoins.push({ chat_id: handle, message_id: i + 1, message_date: date });
  }
  insertRows(db, 'message', messages);
  insertRows(db, 'chat_message_join', chatJoins);
}

export function callHistoryDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZANSWERED INTEGER, ZCALLTYPE INTEGER,
       ZDISCONNECTED_CAUSE INTEGER, ZFACE_TIME_DATA INTEGER, ZNUMBER_AVAILABILITY INTEGER, ZORIGINATED INTEGER, ZREAD INTEGER,
       ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS VARCHAR, ZISO_COUNTRY_CODE VARCHAR, ZNAME VARCHAR, ZSERVICE_PROVIDER VARCHAR,
       ZUNIQUE_ID VARCHAR);
     CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER, Z_MAX INTEGER);
     CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255), Z_PLIST BLOB);
     CREATE INDEX ZCALLRECORD_ZDATE_INDEX ON ZCALLRECORD (ZDATE);`,
    (db) => {
      const rows = [];
      for (let i = 0; i < sizes.calls; i++) {
        const rng = rngFor(seed, 'call', i);
        const p = person(seed, rng.int(0, Math.max(0, sizes.contacts - 1)));
        const answered = rng.chance(0.8) ? 1 : 0;
        rows.push({
          Z_PK: i + 1,
          Z_ENT: 2,
          Z_OPT: 1,
          ZANSWERED: answered,
          ZCALLTYPE: rng.pick([1, 1, 1, 8, 16]),
          ZORIGINATED: rng.chance(0.5) ? 1 : 0,
          ZREAD: 1,
          ZDATE: appleTime(rng, 365) + rng.float(),
          ZDURATION: answered ? rng.int(5, 3600) + rng.float() : 0,
          ZADDRESS: e164(p.phone),
          ZISO_COUNTRY_CODE: 'fr',
          ZNAME: null,
          ZSERVICE_PROVIDER: 'com.apple.Telephony',
          ZUNIQUE_ID: rng.uuid(),
        });
      }
      insertRows(db, 'ZCALLRECORD', rows);
      insertRows(db, 'Z_PRIMARYKEY', [{ Z_ENT: 2, Z_NAME: 'CallRecord', Z_SUPER: 0, Z_MAX: sizes.calls }]);
      insertRows(db, 'Z_METADATA', [{ Z_VERSION: 1, Z_UUID: rngFor(seed, 'callmeta').uuid(), Z_PLIST: null }]);
    },
  );
}

/** Library/Notes/notes.sqlite, the pre-iOS 9 store some tools still read. */
export function legacyNotesDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ZNOTE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZBODY INTEGER, ZCREATIONDATE TIMESTAMP,
       ZMODIFICATIONDATE TIMESTAMP, ZTITLE VARCHAR, ZSUMMARY VARCHAR, ZGUID VARCHAR);
     CREATE TABLE ZNOTEBODY (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZOWNER INTEGER, ZCONTENT VARCHAR);`,
    (db) => {
      const notes = [];
      const bodies = [];
      for (let i = 0; i < Math.ceil(sizes.notes / 2); i++) {
        const rng = rngFor(seed, 'legacy-note', i);
        const title = sentence(rng, 2, 5);
        const body = paragraph(rng, rng.int(1, 6));
        const created = appleTime(rng, 3000);
        notes.push({
          Z_PK: i + 1,
          Z_ENT: 1,
          Z_OPT: 1,
          ZBODY: i + 1,
          ZCREATIONDATE: created,
          ZMODIFICATIONDATE: created + 60,
          ZTITLE: title,
          ZSUMMARY: body.slice(0, 60),
          ZGUID: rng.uuid(),
        });
        bodies.push({
          Z_PK: i + 1,
          Z_ENT: 2,
          Z_OPT: 1,
          ZOWNER: i + 1,
          ZCONTENT: `<div>${title}</div><div>${body}</div>`,
        });
      }
      insertRows(db, 'ZNOTE', notes);
      insertRows(db, 'ZNOTEBODY', bodies);
    },
  );
}

/** NoteStore.sqlite of group.com.apple.notes: notes with gzipped bodies. */
export function noteStoreDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ZICCLOUDSYNCINGOBJECT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZNOTEDATA INTEGER, ZFOLDER INTEGER,
       ZCREATIONDATE1 TIMESTAMP, ZMODIFICATIONDATE1 TIMESTAMP, ZIDENTIFIER VARCHAR, ZTITLE1 VARCHAR, ZSNIPPET VARCHAR, ZTITLE2 VARCHAR);
     CREATE TABLE ZICNOTEDATA (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZNOTE INTEGER, ZDATA BLOB);`,
    (db) => {
      type Row = Record<string, string | number | null>;
      const objects: Row[] = [
        {
          Z_PK: 1,
          Z_ENT: 15,
          Z_OPT: 1,
          ZNOTEDATA: null,
          ZFOLDER: null,
          ZCREATIONDATE1: null,
          ZMODIFICATIONDATE1: null,
          ZIDENTIFIER: 'DefaultFolder-CloudKit',
          ZTITLE1: null,
          ZSNIPPET: null,
          ZTITLE2: 'Notes',
        },
      ];
      const data = [];
      for (let i = 0; i < sizes.notes; i++) {
        const rng = rngFor(seed, 'note', i);
        const title = sentence(rng, 2, 5);
        const body = paragraph(rng, rng.int(1, 8));
        const created = appleTime(rng, 1500);
        objects.push({
          Z_PK: i + 2,
          Z_ENT: 12,
          Z_OPT: 2,
          ZNOTEDATA: i + 1,
          ZFOLDER: 1,
          ZCREATIONDATE1: created,
          ZMODIFICATIONDATE1: created + rng.int(0, 86_400),
          ZIDENTIFIER: rng.uuid(),
          ZTITLE1: title,
          ZSNIPPET: body.slice(0, 80),
          ZTITLE2: null,
        });
        data.push({
          Z_PK: i + 1,
          Z_ENT: 13,
          Z_OPT: 1,
          ZNOTE: i + 2,
          ZDATA: new Uint8Array(gzipSync(`${title}\n${body}`, { level: 6 })),
        });
      }
      insertRows(db, 'ZICCLOUDSYNCINGOBJECT', objects);
      insertRows(db, 'ZICNOTEDATA', data);
    },
  );
}

export function calendarDb(seed: number, sizes: DatabaseSizes): Uint8Array {
  return buildDatabase(
    `CREATE TABLE Calendar (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, store_id INTEGER, title TEXT, color TEXT, type TEXT, UUID TEXT);
     CREATE TABLE Location (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, address TEXT, latitude REAL, longitude REAL);
     CREATE TABLE CalendarItem (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, summary TEXT, location_id INTEGER, description TEXT,
       start_date REAL, start_tz TEXT, end_date REAL, all_day INTEGER, calendar_id INTEGER, UUID TEXT, has_recurrences INTEGER);`,
    (db) => {
      insertRows(
        db,
        'Calendar',
        ['Home', 'Work', 'Birthdays'].map((title, i) => ({
          store_id: 1,
          title,
          color: ['#1BADF8', '#FF2968', '#63DA38'][i] ?? '#000000',
          type: 'local',
          UUID: rngFor(seed, 'calendar', i).uuid(),
        })),
      );
      insertRows(
        db,
        'Location',
        ['Office', 'Gare de Lyon', 'Parc Monceau', 'Café de Flore'].map((title, i) => ({
          title,
          address: `${i + 1} rue de Paris`,
          latitude: 48.85 + i / 100,
          longitude: 2.35 + i / 100,
        })),
      );
      const events = [];
      for (let i = 0; i < sizes.events; i++) {
        const rng = rngFor(seed, 'event', i);
        const start = appleTime(rng, 365) + rng.int(0, 200) * 86_400;
        const allDay = rng.chance(0.2) ? 1 : 0;
        events.push({
          summary: sentence(rng, 1, 4),
          location_id: rng.int(0, 4),
          description: rng.chance(0.3) ? sentence(rng) : null,
          start_date: start,
          start_tz: 'Europe/Paris',
          end_date: start + (allDay ? 86_400 : rng.int(1, 8) * 1800),
          all_day: allDay,
          calendar_id: rng.int(1, 3),
          UUID: rng.uuid(),
          has_recurrences: rng.chance(0.1) ? 1 : 0,
        });
      }
      insertRows(db, 'CalendarItem', events);
    },
  );
}
