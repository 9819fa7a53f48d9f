/**
 * The personal databases of the device, as real SQLite files with plausible rows and the table
 * and column names iOS uses: notes and calendar (contacts and calls: contacts-db.ts; messages:
 * sms-db.ts).
 */
import { APPLE_EPOCH, CONTENT_NOW } from './model.js';
import { paragraph, sentence } from './people.js';
import type { DatabaseSizes } from './personal.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows } from './sqlite.js';

export type { DatabaseSizes } from './personal.js';

/** Seconds since 2001-01-01 of a moment up to `days` days before the content's "now". */
function appleTime(rng: { int(lo: number, hi: number): number }, days: number): number {
  return CONTENT_NOW - APPLE_EPOCH - rng.int(0, days * 86_400);
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
