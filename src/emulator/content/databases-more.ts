/**
 * The smaller databases of other domains: Health, HomeKit, cellular data usage, Safari history, a messaging app's chat store.
 */
import { person, sentence } from './people.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows } from './sqlite.js';

/** Health samples (steps, heart rate); `secure` is the companion store of personal details. */
export function healthDb(seed: number, samples: number, secure: boolean): Uint8Array {
  return buildDatabase(
    `CREATE TABLE samples (data_id INTEGER PRIMARY KEY, start_date REAL, end_date REAL, data_type INTEGER);
     CREATE TABLE quantity_samples (data_id INTEGER PRIMARY KEY, quantity REAL, original_quantity REAL, original_unit INTEGER);
     CREATE TABLE data_provenances (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, origin_product_type TEXT, source_version TEXT, tz_name TEXT);
     CREATE TABLE key_value_secure (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, value BLOB, provenance INTEGER);`,
    (db) => {
      insertRows(db, 'data_provenances', [
        { origin_product_type: 'iPhone15,2', source_version: '17.5.1', tz_name: 'Europe/Paris' },
      ]);
      if (secure) {
        insertRows(db, 'key_value_secure', [
          { key: 'date_of_birth', value: new TextEncoder().encode('1990-04-12'), provenance: 1 },
          { key: 'height', value: new TextEncoder().encode('178 cm'), provenance: 1 },
        ]);
        return;
      }
      const s = [];
      const q = [];
      for (let i = 0; i < samples; i++) {
        const rng = rngFor(seed, 'health', i);
        const start = 700_000_000 + i * 600;
        const type = rng.pick([7, 5, 8]);
        s.push({ data_id: i + 1, start_date: start, end_date: start + 600, data_type: type });
        q.push({
          data_id: i + 1,
          quantity: type === 5 ? rng.int(55, 140) : rng.int(0, 1500),
          original_quantity: null,
          original_unit: null,
        });
      }
      insertRows(db, 'samples', s);
      insertRows(db, 'quantity_samples', q);
    },
  );
}

export function homeKitDb(seed: number): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ZMKFHOME (Z_PK INTEGER PRIMARY KEY, ZNAME VARCHAR, ZUUID VARCHAR);
     CREATE TABLE ZMKFACCESSORY (Z_PK INTEGER PRIMARY KEY, ZHOME INTEGER, ZNAME VARCHAR, ZMANUFACTURER VARCHAR, ZUUID VARCHAR);`,
    (db) => {
      insertRows(db, 'ZMKFHOME', [{ Z_PK: 1, ZNAME: 'Maison', ZUUID: rngFor(seed, 'home').uuid() }]);
      insertRows(
        db,
        'ZMKFACCESSORY',
        ['Lamp', 'Thermostat', 'Door Lock'].map((name, i) => ({
          Z_PK: i + 1,
          ZHOME: 1,
          ZNAME: name,
          ZMANUFACTURER: 'Acme',
          ZUUID: rngFor(seed, 'accessory', i).uuid(),
        })),
      );
    },
  );
}

export function dataUsageDb(seed: number, bundles: readonly string[]): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ZPROCESS (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFIRSTTIMESTAMP TIMESTAMP, ZTIMESTAMP TIMESTAMP, ZBUNDLENAME VARCHAR, ZPROCNAME VARCHAR);
     CREATE TABLE ZLIVEUSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZHASPROCESS INTEGER, ZWIFIIN FLOAT, ZWIFIOUT FLOAT, ZWWANIN FLOAT, ZWWANOUT FLOAT);`,
    (db) => {
      insertRows(
        db,
        'ZPROCESS',
        bundles.map((b, i) => ({
          Z_PK: i + 1,
          Z_ENT: 9,
          Z_OPT: 1,
          ZFIRSTTIMESTAMP: 700_000_000 + i,
          ZTIMESTAMP: 738_000_000 + i,
          ZBUNDLENAME: b,
          ZPROCNAME: b.split('.').pop() ?? b,
        })),
      );
      insertRows(
        db,
        'ZLIVEUSAGE',
        bundles.map((_b, i) => {
          const rng = rngFor(seed, 'usage', i);
          return {
            Z_PK: i + 1,
            Z_ENT: 6,
            Z_OPT: 1,
            ZHASPROCESS: i + 1,
            ZWIFIIN: rng.int(0, 1e9),
            ZWIFIOUT: rng.int(0, 1e8),
            ZWWANIN: rng.int(0, 1e8),
            ZWWANOUT: rng.int(0, 1e7),
          };
        }),
      );
    },
  );
}

export function safariHistoryDb(seed: number, visits: number): Uint8Array {
  const sites = [
    'https://www.apple.com/',
    'https://en.wikipedia.org/wiki/Caf%C3%A9',
    'https://news.ycombinator.com/',
    'https://www.lemonde.fr/',
    'https://maps.example.com/?q=Paris',
    'https://github.com/',
  ];
  return buildDatabase(
    `CREATE TABLE history_items (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, domain_expansion TEXT NULL, visit_count INTEGER NOT NULL);
     CREATE TABLE history_visits (id INTEGER PRIMARY KEY AUTOINCREMENT, history_item INTEGER NOT NULL REFERENCES history_items(id) ON DELETE CASCADE,
       visit_time REAL NOT NULL, title TEXT NULL, load_successful BOOLEAN NOT NULL DEFAULT 1);`,
    (db) => {
      insertRows(
        db,
        'history_items',
        sites.map((url) => ({
          url,
          domain_expansion: new URL(url).hostname.replace(/^www\./, '').split('.')[0] ?? null,
          visit_count: 0,
        })),
      );
      const rows = [];
      for (let i = 0; i < visits; i++) {
        const rng = rngFor(seed, 'visit', i);
        rows.push({
          history_item: rng.int(1, sites.length),
          visit_time: 738_000_000 + i * 97.5,
          title: sentence(rng, 1, 5),
          load_successful: 1,
        });
      }
      insertRows(db, 'history_visits', rows);
      db.exec(
        'UPDATE history_items SET visit_count = (SELECT COUNT(*) FROM history_visits WHERE history_item = history_items.id)',
      );
    },
  );
}

export function chatStorageDb(seed: number, messages: number): Uint8Array {
  return buildDatabase(
    `CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, ZCONTACTJID VARCHAR, ZPARTNERNAME VARCHAR, ZLASTMESSAGEDATE TIMESTAMP);
     CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, ZCHATSESSION INTEGER, ZISFROMME INTEGER, ZMESSAGEDATE TIMESTAMP, ZFROMJID VARCHAR, ZTEXT VARCHAR, ZSTANZAID VARCHAR);`,
    (db) => {
      const chats = Array.from({ length: 5 }, (_, i) => {
        const p = person(seed, i + 3);
        return {
          Z_PK: i + 1,
          ZCONTACTJID: `${p.phone.replace(/[^0-9]/g, '')}@s.whatsapp.net`,
          ZPARTNERNAME: `${p.first} ${p.last}`,
          ZLASTMESSAGEDATE: 738_000_000 + i,
        };
      });
      insertRows(db, 'ZWACHATSESSION', chats);
      const rows = [];
      for (let i = 0; i < messages; i++) {
        const rng = rngFor(seed, 'wamessage', i);
        const chat = rng.int(1, chats.length);
        const fromMe = rng.chance(0.5) ? 1 : 0;
        rows.push({
          Z_PK: i + 1,
          ZCHATSESSION: chat,
          ZISFROMME: fromMe,
          ZMESSAGEDATE: 737_000_000 + i * 300,
          ZFROMJID: fromMe ? null : (chats[chat - 1]?.ZCONTACTJID ?? null),
          ZTEXT: sentence(rng),
          ZSTANZAID: rng.uuid().replace(/-/g, ''),
        });
      }
      insertRows(db, 'ZWAMESSAGE', rows);
    },
  );
}
