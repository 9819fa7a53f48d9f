/**
 * Library/SMS/sms.db as each modelled iOS generation lays it out, written from the conversation
 * model (personal-messages.ts). Column facts, from public forensic references:
 * - tables handle, chat, message, chat_handle_join, chat_message_join, attachment,
 *   message_attachment_join, and message.date in nanoseconds since 2001 (iOS 11+), seconds before:
 *   iLEAPP scripts/artifacts/sms.py (its query and its "> 1000000000000000 → nanoseconds" rule),
 *   mvt src/mvt/ios/modules/mixed/sms.py and sms_attachments.py;
 * - tapbacks as rows with associated_message_type 2000–2005 (3000–3005 remove one) and
 *   associated_message_guid "p:N/<guid>": ReagentX/imessage-exporter (its reaction variants);
 * - thread_originator_guid (inline replies) from iOS 14, date_edited, date_retracted and
 *   message_summary_info (edit and unsend, with the versions of an edited text) from iOS 16:
 *   ReagentX/imessage-exporter ("edited or unsent messages are stored with a NULL text"; the
 *   current text then in attributedBody).
 * No public reference describes an iOS 26 sms.db; the virtual iPhone keeps the iOS 16+ layout
 * there, and the reader works from the columns present.
 */
import { serializeBinaryPlist } from '../../protocol/plist/index.js';
import { encodeJpeg } from './jpeg-encoder.js';
import { APPLE_EPOCH } from './model.js';
import {
  appleNanos,
  modelConversations,
  REACTIONS,
  type ModelAttachment,
  type ModelConversations,
  type ModelMessage,
} from './personal-messages.js';
import type { DatabaseSizes } from './personal.js';
import { rngFor } from './random.js';
import { buildDatabase, insertRows, type Db } from './sqlite.js';
import { attributedBody } from './typedstream.js';

const BASE_MESSAGE_COLUMNS = `ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, replace INTEGER DEFAULT 0,
  service_center TEXT, handle_id INTEGER DEFAULT 0, subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0,
  type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT, error INTEGER DEFAULT 0, date INTEGER, date_read INTEGER,
  date_delivered INTEGER, is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0, is_emote INTEGER DEFAULT 0,
  is_from_me INTEGER DEFAULT 0, is_empty INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0,
  is_system_message INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0, item_type INTEGER DEFAULT 0,
  group_title TEXT, group_action_type INTEGER DEFAULT 0, associated_message_guid TEXT, associated_message_type INTEGER DEFAULT 0,
  balloon_bundle_id TEXT, expressive_send_style_id TEXT, associated_message_range_location INTEGER DEFAULT 0,
  associated_message_range_length INTEGER DEFAULT 0`;

function schemaFor(major: number): string {
  const replies = major >= 14 ? ', thread_originator_guid TEXT, thread_originator_part TEXT' : '';
  const edits =
    major >= 16
      ? ', date_edited INTEGER DEFAULT 0, date_retracted INTEGER DEFAULT 0, message_summary_info BLOB, part_count INTEGER'
      : '';
  return `CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key));
    CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT, service TEXT NOT NULL,
      uncanonicalized_id TEXT, person_centric_id TEXT, UNIQUE (id, service));
    CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER, state INTEGER,
      account_id TEXT, properties BLOB, chat_identifier TEXT, service_name TEXT, room_name TEXT, account_login TEXT,
      is_archived INTEGER DEFAULT 0, last_addressed_handle TEXT, display_name TEXT, group_id TEXT, is_filtered INTEGER DEFAULT 0,
      last_read_message_timestamp INTEGER DEFAULT 0);
    CREATE TABLE message (${BASE_MESSAGE_COLUMNS}${replies}${edits});
    CREATE TABLE chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
      handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
    CREATE TABLE chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
      message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, message_date INTEGER DEFAULT 0, PRIMARY KEY (chat_id, message_id));
    CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, created_date INTEGER DEFAULT 0,
      start_date INTEGER DEFAULT 0, filename TEXT, uti TEXT, mime_type TEXT, transfer_state INTEGER DEFAULT 0,
      is_outgoing INTEGER DEFAULT 0, user_info BLOB, transfer_name TEXT, total_bytes INTEGER DEFAULT 0, is_sticker INTEGER DEFAULT 0,
      hide_attachment INTEGER DEFAULT 0);
    CREATE TABLE message_attachment_join (message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE,
      attachment_id INTEGER REFERENCES attachment (ROWID) ON DELETE CASCADE, UNIQUE(message_id, attachment_id));
    CREATE INDEX message_idx_handle ON message(handle_id, date);
    CREATE INDEX chat_message_join_idx_message_date_id_chat_id ON chat_message_join(chat_id, message_date, message_id);`;
}

/** The bytes of an attachment kept in the backup: a small seeded JPEG. */
export function attachmentBytes(seed: number, a: ModelAttachment): Uint8Array {
  const rng = rngFor(seed, 'attachment-pixels', a.guid);
  const w = 48;
  const h = 32;
  const rgb = new Uint8Array(w * h * 3);
  for (let p = 0; p < rgb.length; p++) rgb[p] = rng.int(0, 255);
  return encodeJpeg(rgb, w, h, 70);
}

function addChats(db: Db, model: ModelConversations): void {
  insertRows(
    db,
    'handle',
    model.handles.map((h) => ({
      ROWID: h.id,
      id: h.address,
      country: 'fr',
      service: h.service,
      uncanonicalized_id: h.address,
    })),
  );
  insertRows(
    db,
    'chat',
    model.chats.map((c) => ({
      ROWID: c.id,
      guid: c.guid,
      style: c.style,
      state: 3,
      chat_identifier: c.identifier,
      service_name: c.service,
      room_name: c.style === 43 ? c.identifier : null,
      display_name: c.displayName ?? '',
    })),
  );
  insertRows(
    db,
    'chat_handle_join',
    model.chats.flatMap((c) => c.handleIds.map((h) => ({ chat_id: c.id, handle_id: h }))),
  );
}

type Row = Record<string, string | number | bigint | Uint8Array | null>;

/**
 * message_summary_info of an edited or unsent message (ReagentX/imessage-exporter, edited.rs):
 * a binary plist whose "otr" lists the body parts, "ec" maps a part to its versions (each "d",
 * seconds since 2001, and "t", the version's attributedBody; the first is the text as sent, the
 * last the current one) and "rp" lists the parts that were unsent.
 */
function summaryInfo(m: ModelMessage): Uint8Array | null {
  if (m.editedAt !== undefined) {
    return serializeBinaryPlist({
      otr: { '0': { le: (m.text ?? '').length, lo: 0 } },
      ec: {
        '0': [
          { d: m.date - APPLE_EPOCH, t: attributedBody(m.originalText ?? '') },
          { d: m.editedAt - APPLE_EPOCH, t: attributedBody(m.text ?? '') },
        ],
      },
    });
  }
  if (m.unsent) return serializeBinaryPlist({ otr: { '0': { le: 0, lo: 0 } }, rp: [0] });
  return null;
}

function messageRow(m: ModelMessage, major: number): Row {
  const date = appleNanos(m.date);
  const row: Row = {
    ROWID: m.id,
    guid: m.guid,
    text: m.text,
    attributedBody: null,
    handle_id: m.handleId,
    service: m.service,
    account: m.fromMe ? 'E:owner@example.com' : null,
    date,
    date_read: m.fromMe ? 0n : date + 30_000_000_000n,
    date_delivered: date + 1_000_000_000n,
    is_delivered: 1,
    is_finished: 1,
    is_from_me: m.fromMe ? 1 : 0,
    is_read: 1,
    is_sent: m.fromMe ? 1 : 0,
    cache_has_attachments: m.attachments.length > 0 ? 1 : 0,
    associated_message_guid: m.reaction === undefined ? null : `p:0/${m.reaction.targetGuid}`,
    associated_message_type: m.reaction === undefined ? 0 : 2000 + REACTIONS.indexOf(m.reaction.kind),
  };
  if (major >= 14) row['thread_originator_guid'] = m.replyTo ?? null;
  if (major >= 16) {
    row['date_edited'] = m.editedAt === undefined ? 0n : appleNanos(m.editedAt);
    row['date_retracted'] = m.unsent ? date + 60_000_000_000n : 0n;
    row['message_summary_info'] = summaryInfo(m);
    // An edited message keeps its current text only in attributedBody.
    if (m.editedAt !== undefined) {
      row['text'] = null;
      row['attributedBody'] = attributedBody(m.text ?? '');
    }
  }
  return row;
}

function addMessages(db: Db, seed: number, model: ModelConversations, major: number): void {
  insertRows(
    db,
    'message',
    model.messages.map((m) => messageRow(m, major)),
  );
  insertRows(
    db,
    'chat_message_join',
    model.messages.map((m) => ({ chat_id: m.chatId, message_id: m.id, message_date: appleNanos(m.date) })),
  );
  const withFiles = model.messages.filter((m) => m.attachments.length > 0);
  insertRows(
    db,
    'attachment',
    withFiles.flatMap((m) =>
      m.attachments.map((a) => ({
        ROWID: a.id,
        guid: a.guid,
        created_date: m.date - 978_307_200,
        filename: a.filename,
        uti: 'public.jpeg',
        mime_type: a.mimeType,
        transfer_state: 5,
        is_outgoing: m.fromMe ? 1 : 0,
        transfer_name: a.transferName,
        total_bytes: attachmentBytes(seed, a).length,
      })),
    ),
  );
  insertRows(
    db,
    'message_attachment_join',
    withFiles.flatMap((m) => m.attachments.map((a) => ({ message_id: m.id, attachment_id: a.id }))),
  );
  // Messages deleted on the phone: their rows go, as iOS deletes them (the bytes may stay in free pages).
  const gone = model.messages.filter((m) => m.deleted).map((m) => m.id);
  const del = db.prepare('DELETE FROM message WHERE ROWID = ?');
  const delJoin = db.prepare('DELETE FROM chat_message_join WHERE message_id = ?');
  for (const id of gone) {
    del.run(id);
    delJoin.run(id);
  }
}

export function smsDb(seed: number, sizes: DatabaseSizes, major: number): Uint8Array {
  const model = modelConversations(seed, sizes, major);
  return buildDatabase(schemaFor(major), (db) => {
    insertRows(db, '_SqliteDatabaseProperties', [{ key: 'counter_last_all_messages', value: String(sizes.messages) }]);
    addChats(db, model);
    addMessages(db, seed, model, major);
  });
}
