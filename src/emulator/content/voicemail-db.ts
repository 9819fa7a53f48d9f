/**
 * Visual voicemail: Library/Voicemail/voicemail.db and one `<ROWID>.amr` audio file per message
 * (HomeDomain), written from the content model. Layout facts, from iLEAPP
 * scripts/artifacts/voicemail.py: table voicemail (ROWID, remote_uid, date in Unix seconds,
 * token, sender, callback_num, duration in seconds, expiration, trashed_date in Cocoa seconds,
 * flags; 75 or a trashed_date means deleted), newer versions with receiver and label → table map
 * (label, account); the audio beside it as `<ROWID>.amr`. Which versions have the map table is
 * not in the source: the virtual iPhone adds it from iOS 13 (our model), and keeps that layout
 * for 26, which no public reference covers.
 */
import { e164, person } from './people.js';
import { appleSeconds, pastMoment, type DatabaseSizes } from './personal.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows } from './sqlite.js';

export interface ModelVoicemail {
  id: number;
  sender: string;
  /** Unix seconds. */
  date: number;
  duration: number;
  /** Deleted by the owner (trashed): no export shows it. */
  trashed: boolean;
  /** Whether its audio file is in the backup. */
  audioInBackup: boolean;
}

export const VOICEMAIL_DIR = 'Library/Voicemail/';

export function modelVoicemails(seed: number, sizes: DatabaseSizes): ModelVoicemail[] {
  const n = Math.max(3, Math.min(200, Math.round(sizes.calls / 6)));
  return Array.from({ length: n }, (_, i) => {
    const rng = rngFor(seed, 'voicemail', i);
    const known = sizes.contacts > 0 && rng.chance(0.7);
    const sender = known
      ? e164(person(seed, rng.int(0, sizes.contacts - 1)).phone)
      : `+3314${rng.int(1_000_000, 9_999_999)}`;
    return {
      id: i + 1,
      sender,
      date: pastMoment(rng, 200),
      duration: rng.int(3, 90),
      trashed: i % 5 === 4,
      audioInBackup: i !== 1,
    };
  });
}

/** An AMR-NB file of the voicemail: the header and 12.2 kbit/s frames (at most 10 s of them). */
export function voicemailAudio(seed: number, v: ModelVoicemail): Uint8Array {
  const frames = Math.min(v.duration, 10) * 50;
  const out = new Uint8Array(6 + frames * 32);
  out.set(new TextEncoder().encode('#!AMR\n'));
  const noise = rngFor(seed, 'voicemail-audio', v.id).bytes(frames * 31);
  for (let f = 0; f < frames; f++) {
    out[6 + f * 32] = 0x3c;
    out.set(noise.subarray(f * 31, f * 31 + 31), 6 + f * 32 + 1);
  }
  return out;
}

export function voicemailDb(seed: number, sizes: DatabaseSizes, major: number): Uint8Array {
  const map = major >= 13;
  return buildDatabase(
    `CREATE TABLE voicemail (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, remote_uid INTEGER, date INTEGER, token TEXT,
       sender TEXT, callback_num TEXT, duration INTEGER, expiration INTEGER, trashed_date INTEGER, flags INTEGER
       ${map ? ', receiver TEXT, label TEXT' : ''});
     ${map ? 'CREATE TABLE map (label TEXT, account TEXT);' : ''}
     CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key));`,
    (db) => {
      if (map) insertRows(db, 'map', [{ label: 'voicemail-1', account: '8933150319000000001' }]);
      insertRows(
        db,
        'voicemail',
        modelVoicemails(seed, sizes).map((v) => ({
          ROWID: v.id,
          remote_uid: 1000 + v.id,
          date: v.date,
          token: 'Complete',
          sender: v.sender,
          callback_num: v.sender,
          duration: v.duration,
          expiration: v.date + 30 * 86_400,
          trashed_date: v.trashed ? appleSeconds(v.date + 86_400) : 0,
          flags: v.trashed ? 75 : 11,
          ...(map ? { receiver: '+33600000000', label: 'voicemail-1' } : {}),
        })),
      );
    },
  );
}
