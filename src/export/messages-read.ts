/**
 * The conversations of sms.db (iMessage and SMS) as plain values. Layout facts, from public
 * forensic references: tables chat, handle, message, chat_handle_join, chat_message_join,
 * attachment and message_attachment_join, message.date in nanoseconds since 2001 from iOS 11
 * (seconds before) — iLEAPP scripts/artifacts/sms.py, mvt src/mvt/ios/modules/mixed/sms.py and
 * sms_attachments.py; tapbacks as rows with associated_message_type 2000–2005 (3000–3005 take one
 * back) pointing at "p:N/<guid>" or "bp:<guid>", thread_originator_guid for inline replies (iOS
 * 14+), date_edited and date_retracted for edits and unsent messages (iOS 16+), text only in
 * attributedBody for some messages — ReagentX/imessage-exporter. Every optional column is used
 * only when present: no public reference describes iOS 26's sms.db, so its layout is detected,
 * not assumed.
 */
import { isPlistDict, parsePlist, type PlistValue } from '../protocol/plist/index.js';
import { columnsOf, hasTable, optionalColumn, requireColumns } from './schema.js';
import type { Db } from './source.js';
import { cocoaDate } from './text.js';

export const SMS_DB = { domain: 'HomeDomain', relativePath: 'Library/SMS/sms.db' };

export const REACTION_KINDS = ['love', 'like', 'dislike', 'laugh', 'emphasize', 'question'] as const;
export const REACTION_EMOJI: Record<string, string> = {
  love: '❤️',
  like: '👍',
  dislike: '👎',
  laugh: '😂',
  emphasize: '‼️',
  question: '❓',
};

export interface Attachment {
  id: number;
  /** The path sms.db records ("~/Library/SMS/Attachments/…"); untrusted. */
  filename: string | null;
  /** The sender's name for the file; untrusted. */
  transferName: string | null;
  mimeType: string | null;
  totalBytes: number;
}

export interface Reaction {
  kind: string;
  /** Handle of who reacted; null for the phone's owner. */
  from: string | null;
}

export interface Message {
  id: number;
  guid: string;
  date: Date | null;
  fromMe: boolean;
  /** Handle (number or e-mail) of the sender; null for the phone's owner. */
  sender: string | null;
  text: string;
  service: string | null;
  attachments: Attachment[];
  reactions: Reaction[];
  editedAt: Date | null;
  /** Earlier versions of an edited message, oldest first (from message_summary_info). */
  earlier: { date: Date | null; text: string }[];
  unsent: boolean;
  /** guid of the message this one replies to. */
  replyTo: string | null;
}

export interface Conversation {
  id: number;
  guid: string;
  identifier: string;
  service: string | null;
  displayName: string | null;
  group: boolean;
  /** Handles (numbers, e-mails) of the other people. */
  members: string[];
  messages: Message[];
}

interface MessageRow {
  id: number;
  guid: string;
  text: string | null;
  handle: number | null;
  date: number | null;
  fromMe: number | null;
  service: string | null;
  body: Uint8Array | null;
  assocGuid: string | null;
  assocType: number | null;
  reply: string | null;
  edited: number | null;
  retracted: number | null;
  summary: Uint8Array | null;
  chat: number;
}

/**
 * The text of an attributedBody (an NSAttributedString in Apple's typedstream): the bytes after
 * the first "NSString" class name, a "+" and a length (one byte, or 0x81 + 2 bytes or 0x82 + 4
 * bytes, little-endian).
 */
export function attributedText(body: Uint8Array | null): string | null {
  if (body === null) return null;
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const at = buf.indexOf('NSString');
  if (at < 0) return null;
  const plus = buf.indexOf(0x2b, at + 8);
  if (plus < 0 || plus > at + 16) return null;
  let p = plus + 1;
  let len = buf[p] ?? 0;
  p++;
  if (len === 0x81 && p + 2 <= buf.length) [len, p] = [buf.readUInt16LE(p), p + 2];
  else if (len === 0x82 && p + 4 <= buf.length) [len, p] = [buf.readUInt32LE(p), p + 4];
  if (p + len > buf.length) return null;
  return buf.subarray(p, p + len).toString('utf8');
}

function messageSql(have: Set<string>): string {
  const o = (c: string, f = 'NULL'): string => optionalColumn(have, 'm', c, f);
  return `SELECT m.ROWID AS id, m.guid AS guid, m.text AS text, m.handle_id AS handle, m.date AS date,
      m.is_from_me AS fromMe, ${o('service')} AS service, ${o('attributedBody')} AS body,
      ${o('associated_message_guid')} AS assocGuid, ${o('associated_message_type', '0')} AS assocType,
      ${o('thread_originator_guid')} AS reply, ${o('date_edited', '0')} AS edited,
      ${o('date_retracted', '0')} AS retracted, ${o('message_summary_info')} AS summary, j.chat_id AS chat
    FROM message m JOIN chat_message_join j ON j.message_id = m.ROWID
    ORDER BY m.date, m.ROWID`;
}

function readChats(db: Db, handles: Map<number, string>): Map<number, Conversation> {
  const have = columnsOf(db, 'chat');
  const o = (c: string): string => optionalColumn(have, 'chat', c);
  const rows = db
    .prepare(
      `SELECT ROWID AS id, guid, chat_identifier AS identifier, ${o('service_name')} AS service,
         ${o('display_name')} AS displayName, ${o('style')} AS style FROM chat ORDER BY ROWID`,
    )
    .all() as {
    id: number;
    guid: string;
    identifier: string | null;
    service: string | null;
    displayName: string | null;
    style: number | null;
  }[];
  const out = new Map<number, Conversation>();
  for (const r of rows) {
    out.set(r.id, {
      id: r.id,
      guid: String(r.guid),
      identifier: r.identifier ?? String(r.guid),
      service: r.service,
      displayName: r.displayName === null || r.displayName === '' ? null : r.displayName,
      group: r.style === 43,
      members: [],
      messages: [],
    });
  }
  if (hasTable(db, 'chat_handle_join')) {
    const joins = db
      .prepare('SELECT chat_id AS chat, handle_id AS handle FROM chat_handle_join ORDER BY rowid')
      .all() as {
      chat: number;
      handle: number;
    }[];
    for (const j of joins) {
      const h = handles.get(j.handle);
      if (h !== undefined) out.get(j.chat)?.members.push(h);
    }
  }
  return out;
}

function readAttachments(db: Db): Map<number, Attachment[]> {
  const out = new Map<number, Attachment[]>();
  if (!hasTable(db, 'attachment') || !hasTable(db, 'message_attachment_join')) return out;
  const have = columnsOf(db, 'attachment');
  const o = (c: string, f = 'NULL'): string => optionalColumn(have, 'a', c, f);
  const rows = db
    .prepare(
      `SELECT j.message_id AS message, a.ROWID AS id, ${o('filename')} AS filename, ${o('transfer_name')} AS transferName,
         ${o('mime_type')} AS mimeType, ${o('total_bytes', '0')} AS totalBytes
       FROM message_attachment_join j JOIN attachment a ON a.ROWID = j.attachment_id ORDER BY j.message_id, a.ROWID`,
    )
    .all() as (Attachment & { message: number })[];
  for (const { message, ...a } of rows) {
    const list = out.get(message) ?? [];
    list.push({ ...a, totalBytes: Number(a.totalBytes ?? 0) });
    out.set(message, list);
  }
  return out;
}

/** The guid a tapback points at ("p:0/GUID", "bp:GUID" or "GUID"). */
export function reactionTarget(assoc: string): string {
  return assoc.replace(/^(?:p:\d+\/|bp:)/, '');
}

/** Applies a tapback row to its target: 2000–2005 add, 3000–3005 take back. */
function applyReaction(row: MessageRow, sender: string | null, byGuid: Map<string, Message>): void {
  const type = Number(row.assocType);
  const target = row.assocGuid === null ? undefined : byGuid.get(reactionTarget(row.assocGuid));
  if (target === undefined) return;
  const adding = type >= 2000 && type < 3000;
  const kind = REACTION_KINDS[(type % 1000) as 0] ?? 'reaction';
  const from = row.fromMe === 1 ? null : sender;
  target.reactions = target.reactions.filter((r) => !(r.from === from && (adding || r.kind === kind)));
  if (adding) target.reactions.push({ kind, from });
}

/**
 * What message_summary_info says of an edited or unsent message: the earlier versions of body
 * part 0 ("ec": versions with "d", seconds since 2001, and "t", an attributedBody; the last is
 * the current text) and whether it was unsent ("rp").
 */
export function editSummary(bytes: Uint8Array | null): {
  earlier: { date: Date | null; text: string }[];
  unsent: boolean;
} {
  const none = { earlier: [], unsent: false };
  if (bytes === null || bytes.length === 0) return none;
  let root: PlistValue;
  try {
    root = parsePlist(bytes);
  } catch {
    return none;
  }
  if (!isPlistDict(root)) return none;
  const ec = root['ec'];
  const versions = isPlistDict(ec) && Array.isArray(ec['0']) ? ec['0'] : [];
  const texts = versions.flatMap((v) => {
    if (!isPlistDict(v)) return [];
    const t = v['t'];
    const text = t instanceof Uint8Array ? attributedText(t) : null;
    const d = v['d'];
    return text === null ? [] : [{ date: cocoaDate(typeof d === 'number' ? d : null), text }];
  });
  return { earlier: texts.slice(0, -1), unsent: Array.isArray(root['rp']) && root['rp'].length > 0 };
}

function toMessage(r: MessageRow, sender: string | null, attachments: Attachment[]): Message {
  const raw = r.text ?? attributedText(r.body) ?? '';
  const text = raw.replace(/\ufffc/g, '').trim();
  const summary = editSummary(r.summary);
  const retracted = Number(r.retracted ?? 0) !== 0 || summary.unsent;
  return {
    id: r.id,
    guid: String(r.guid),
    date: cocoaDate(r.date),
    fromMe: r.fromMe === 1,
    sender: r.fromMe === 1 ? null : sender,
    text,
    service: r.service,
    attachments,
    reactions: [],
    editedAt: Number(r.edited ?? 0) !== 0 ? cocoaDate(r.edited) : null,
    earlier: summary.earlier,
    unsent: retracted,
    replyTo: r.reply === null || r.reply === '' ? null : r.reply,
  };
}

/** Every conversation with its messages in date order (tapbacks folded into the messages they react to). */
export function readConversations(db: Db): Conversation[] {
  requireColumns(db, 'messages database (sms.db)', {
    message: ['ROWID', 'guid', 'text', 'handle_id', 'date', 'is_from_me'],
    chat: ['ROWID', 'guid', 'chat_identifier'],
    chat_message_join: ['chat_id', 'message_id'],
    handle: ['ROWID', 'id'],
  });
  const handles = new Map(
    (db.prepare('SELECT ROWID AS id, id AS address FROM handle').all() as { id: number; address: string }[]).map(
      (h) => [h.id, String(h.address)],
    ),
  );
  const chats = readChats(db, handles);
  const attachments = readAttachments(db);
  const byGuid = new Map<string, Message>();
  for (const r of db.prepare(messageSql(columnsOf(db, 'message'))).iterate() as IterableIterator<MessageRow>) {
    const chat = chats.get(r.chat);
    if (chat === undefined) continue;
    const sender = r.handle === null ? null : (handles.get(r.handle) ?? null);
    const type = Number(r.assocType ?? 0);
    if (type >= 2000 && type < 4000) {
      applyReaction(r, sender ?? (chat.group ? null : (chat.members[0] ?? null)), byGuid);
      continue;
    }
    const m = toMessage(r, sender ?? (chat.group ? null : (chat.members[0] ?? null)), attachments.get(r.id) ?? []);
    byGuid.set(m.guid, m);
    chat.messages.push(m);
  }
  return [...chats.values()];
}
