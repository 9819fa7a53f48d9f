/**
 * NoteStore.sqlite of AppDomainGroup-group.com.apple.notes, written from the notes of the content
 * model (personal.ts). Layout facts, from iLEAPP scripts/artifacts/notes.py: notes, folders and
 * accounts are rows of ZICCLOUDSYNCINGOBJECT (ZTITLE1, ZSNIPPET, ZFOLDER → the folder's ZTITLE2,
 * the account's ZNAME, ZMODIFICATIONDATE1, ZISPASSWORDPROTECTED, ZPASSWORDHINT,
 * ZMARKEDFORDELETION, ZISPINNED); the creation date and account columns differ between versions
 * (ZCREATIONDATE1 with ZACCOUNT2 or ZACCOUNT3, ZCREATIONDATE3 with ZACCOUNT4); the body is
 * ZICNOTEDATA.ZDATA (ZNOTE → the note), gzip of a protobuf whose text is field 2 of field 3 of
 * field 2 ("08 00 12 … 08 00 10 … 1A … 12 <text>"); a locked note's body is encrypted. Which iOS
 * versions carry which column set is not in the source: the virtual iPhone uses the first set for
 * 12, ZACCOUNT3 for 13–16 and ZCREATIONDATE3 with ZACCOUNT4 from 17 (our model), and keeps that
 * layout for 26, which no public reference covers.
 */
import { gzipSync } from 'node:zlib';
import { appleSeconds, modelNotes, type DatabaseSizes, type ModelNote } from './personal.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows } from './sqlite.js';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function field(tag: number, body: Uint8Array): Uint8Array {
  return new Uint8Array([tag, ...varint(body.length), ...body]);
}

/** The note's protobuf (NoteStoreProto → Document → Note → note_text), gzipped. */
export function noteBody(text: string): Uint8Array {
  const note = field(0x12, new TextEncoder().encode(text));
  const document = new Uint8Array([0x08, 0x00, 0x10, 0x00, ...field(0x1a, note)]);
  const proto = new Uint8Array([0x08, 0x00, ...field(0x12, document)]);
  return new Uint8Array(gzipSync(proto, { level: 6 }));
}

function columnsFor(major: number): { created: string; account: string } {
  if (major <= 12) return { created: 'ZCREATIONDATE1', account: 'ZACCOUNT2' };
  if (major <= 16) return { created: 'ZCREATIONDATE1', account: 'ZACCOUNT3' };
  return { created: 'ZCREATIONDATE3', account: 'ZACCOUNT4' };
}

type Row = Record<string, string | number | Uint8Array | null>;

function noteRow(seed: number, n: ModelNote, cols: { created: string; account: string }): Row {
  return {
    Z_PK: n.id + 2,
    Z_ENT: 12,
    Z_OPT: 2,
    ZNOTEDATA: n.id,
    ZFOLDER: 2,
    [cols.account]: 1,
    [cols.created]: appleSeconds(n.created),
    ZMODIFICATIONDATE1: appleSeconds(n.modified),
    ZIDENTIFIER: rngFor(seed, 'note-id', n.id).uuid(),
    ZTITLE1: n.title,
    ZSNIPPET: n.locked ? null : n.body.slice(0, 80),
    ZTITLE2: null,
    ZNAME: null,
    ZISPASSWORDPROTECTED: n.locked ? 1 : 0,
    ZPASSWORDHINT: n.locked ? 'the usual' : null,
    ZMARKEDFORDELETION: n.deleted ? 1 : 0,
    ZISPINNED: n.id === 1 ? 1 : 0,
  };
}

export function noteStoreDb(seed: number, sizes: DatabaseSizes, major: number): Uint8Array {
  const cols = columnsFor(major);
  const dates =
    cols.created === 'ZCREATIONDATE3'
      ? 'ZCREATIONDATE1 TIMESTAMP, ZCREATIONDATE3 TIMESTAMP'
      : 'ZCREATIONDATE1 TIMESTAMP';
  const accounts = ['ZACCOUNT2', 'ZACCOUNT3', 'ZACCOUNT4'].filter((a) => a <= cols.account).map((a) => `${a} INTEGER`);
  const notes = modelNotes(seed, sizes);
  return buildDatabase(
    `CREATE TABLE ZICCLOUDSYNCINGOBJECT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZNOTEDATA INTEGER,
       ZFOLDER INTEGER, ${accounts.join(', ')}, ${dates}, ZMODIFICATIONDATE1 TIMESTAMP, ZIDENTIFIER VARCHAR,
       ZTITLE1 VARCHAR, ZSNIPPET VARCHAR, ZTITLE2 VARCHAR, ZNAME VARCHAR, ZISPASSWORDPROTECTED INTEGER,
       ZPASSWORDHINT VARCHAR, ZMARKEDFORDELETION INTEGER, ZISPINNED INTEGER, ZCRYPTOINITIALIZATIONVECTOR BLOB,
       ZCRYPTOTAG BLOB);
     CREATE TABLE ZICNOTEDATA (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZNOTE INTEGER, ZDATA BLOB,
       ZCRYPTOINITIALIZATIONVECTOR BLOB, ZCRYPTOTAG BLOB);`,
    (db) => {
      insertRows(db, 'ZICCLOUDSYNCINGOBJECT', [
        { Z_PK: 1, Z_ENT: 14, Z_OPT: 1, ZNAME: 'iPhone', ZIDENTIFIER: 'LocalAccount' },
      ]);
      insertRows(db, 'ZICCLOUDSYNCINGOBJECT', [
        { Z_PK: 2, Z_ENT: 15, Z_OPT: 1, [cols.account]: 1, ZTITLE2: 'Notes', ZIDENTIFIER: 'DefaultFolder-CloudKit' },
      ]);
      for (const n of notes) insertRows(db, 'ZICCLOUDSYNCINGOBJECT', [noteRow(seed, n, cols)]);
      insertRows(
        db,
        'ZICNOTEDATA',
        notes.map((n) => {
          const rng = rngFor(seed, 'note-crypto', n.id);
          return {
            Z_PK: n.id,
            Z_ENT: 13,
            Z_OPT: 1,
            ZNOTE: n.id + 2,
            // A locked note's body is encrypted: seeded bytes stand for it.
            ZDATA: n.locked ? rng.bytes(64 + n.body.length) : noteBody(`${n.title}\n${n.body}`),
            ZCRYPTOINITIALIZATIONVECTOR: n.locked ? rng.bytes(16) : null,
            ZCRYPTOTAG: n.locked ? rng.bytes(16) : null,
          };
        }),
      );
    },
  );
}
