/**
 * The conversations of the virtual iPhone as plain values: handles, one-to-one and group chats,
 * messages with attachments, reactions, replies, edits and unsent messages as the iOS generation
 * has them, rows deleted from the database, a chat whose messages live only in iCloud and
 * attachments that are not in the backup. sms-db.ts writes sms.db from it; tests read it as the
 * oracle. Message i depends only on the seed, i and the iOS major version, so adding messages
 * keeps the earlier ones.
 */
import { APPLE_EPOCH, CONTENT_NOW } from './model.js';
import { e164, person, sentence } from './people.js';
import type { DatabaseSizes } from './personal.js';
import { rngFor, type Rng } from './random.js';

export interface ModelHandle {
  /** handle ROWID. */
  id: number;
  /** E.164 number or e-mail address. */
  address: string;
  service: 'iMessage' | 'SMS';
  /** The address-book contact (ROWID) this handle belongs to. */
  contactId: number;
}

export interface ModelChat {
  /** chat ROWID. */
  id: number;
  guid: string;
  /** 45 one-to-one, 43 group (chat.style). */
  style: 43 | 45;
  identifier: string;
  service: 'iMessage' | 'SMS';
  displayName: string | null;
  handleIds: number[];
}

export interface ModelAttachment {
  id: number;
  guid: string;
  /** The path sms.db records ("~/Library/SMS/Attachments/…"). */
  filename: string;
  /** The name the sender gave it (attachment.transfer_name); untrusted. */
  transferName: string;
  mimeType: string;
  /** Whether the file is in the backup (else offloaded to iCloud). */
  inBackup: boolean;
}

export const REACTIONS = ['love', 'like', 'dislike', 'laugh', 'emphasize', 'question'] as const;
export type ReactionKind = (typeof REACTIONS)[number];

export interface ModelMessage {
  /** message ROWID. */
  id: number;
  guid: string;
  chatId: number;
  /** handle ROWID of the sender; for messages from the owner, the other party (one-to-one) or 0 (group). */
  handleId: number;
  fromMe: boolean;
  /** null for an unsent message. */
  text: string | null;
  /** Unix seconds. */
  date: number;
  service: 'iMessage' | 'SMS';
  attachments: ModelAttachment[];
  /** A tapback on another message (associated_message_type 2000–2005). */
  reaction?: { kind: ReactionKind; targetGuid: string };
  /** Inline reply (thread_originator_guid, iOS 14+). */
  replyTo?: string;
  /** Unix seconds of the last edit (date_edited, iOS 16+). */
  editedAt?: number;
  /** The text as first sent, before the edit (message_summary_info). */
  originalText?: string;
  /** Unsent by its sender (date_retracted, iOS 16+). */
  unsent: boolean;
  /** Deleted on the phone: the row is gone from the database, so no export may show it. */
  deleted: boolean;
}

export interface ModelConversations {
  handles: ModelHandle[];
  chats: ModelChat[];
  messages: ModelMessage[];
}

/** The first message's time: 400 days before the content's "now". */
const FIRST_MESSAGE = CONTENT_NOW - 400 * 86_400;

function handlesOf(seed: number, sizes: DatabaseSizes): ModelHandle[] {
  const n = Math.max(1, Math.min(sizes.contacts, 40));
  return Array.from({ length: n }, (_, h) => {
    const p = person(seed, h);
    const service = h % 3 === 2 ? 'SMS' : 'iMessage';
    const address = service === 'iMessage' && h % 5 === 4 ? p.email : e164(p.phone);
    return { id: h + 1, address, service, contactId: h + 1 };
  });
}

/** One chat per handle, two group chats (one named), and one chat whose messages are only in iCloud. */
function chatsOf(seed: number, handles: readonly ModelHandle[]): ModelChat[] {
  const chats: ModelChat[] = handles.map((h) => ({
    id: h.id,
    guid: `${h.service};-;${h.address}`,
    style: 45,
    identifier: h.address,
    service: h.service,
    displayName: null,
    handleIds: [h.id],
  }));
  const imessage = handles.filter((h) => h.service === 'iMessage').map((h) => h.id);
  const groups: [string | null, number][] = [
    ['Famille 👨‍👩‍👧 & amis', 4],
    [null, 3],
  ];
  for (const [name, size] of groups) {
    const members = imessage.slice(chats.length % 3, (chats.length % 3) + size);
    if (members.length < 2) continue;
    const identifier = `chat${rngFor(seed, 'group', chats.length).int(100_000_000, 999_999_999)}`;
    chats.push({
      id: chats.length + 1,
      guid: `iMessage;+;${identifier}`,
      style: 43,
      identifier,
      service: 'iMessage',
      displayName: name,
      handleIds: members,
    });
  }
  const last = handles[handles.length - 1] as ModelHandle;
  chats.push({
    id: chats.length + 1,
    guid: `iMessage;-;icloud-only-${last.id}@example.com`,
    style: 45,
    identifier: `icloud-only-${last.id}@example.com`,
    service: 'iMessage',
    displayName: null,
    handleIds: [last.id],
  });
  return chats;
}

function attachmentOf(seed: number, i: number, rng: Rng): ModelAttachment {
  const guid = rng.uuid();
  const hex = guid.replace(/-/g, '').toLowerCase();
  const n = String(1000 + (i % 9000)).padStart(4, '0');
  // One sender names its file with "..": it must stay a plain name in the export.
  const transferName = i % 97 === 13 ? `../../escape ${n} 🎉.jpeg` : `IMG_${n}.jpeg`;
  return {
    id: 0,
    guid,
    filename: `~/Library/SMS/Attachments/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${guid}/IMG_${n}.jpeg`,
    transferName,
    mimeType: 'image/jpeg',
    inBackup: rngFor(seed, 'attachment-kept', i).chance(0.8),
  };
}

/** Which chat message i goes to: the first chat is a long one, the iCloud-only chat gets none. */
function chatFor(rng: Rng, chats: readonly ModelChat[]): ModelChat {
  const live = chats.slice(0, -1);
  if (rng.chance(0.35)) return live[0] as ModelChat;
  return rng.pick(live);
}

interface Draft {
  seed: number;
  major: number;
  handles: readonly ModelHandle[];
  lastInChat: Map<number, ModelMessage>;
}

function messageOf(d: Draft, i: number, chat: ModelChat, rng: Rng): ModelMessage {
  const fromMe = rng.chance(0.45);
  const sender = chat.style === 43 ? rng.pick(chat.handleIds) : (chat.handleIds[0] as number);
  const m: ModelMessage = {
    id: i + 1,
    guid: rng.uuid(),
    chatId: chat.id,
    handleId: fromMe && chat.style === 43 ? 0 : sender,
    fromMe,
    text: sentence(rng),
    date: FIRST_MESSAGE + i * 60 + rng.int(0, 59),
    service: chat.service,
    attachments: [],
    unsent: false,
    deleted: rng.chance(0.02),
  };
  const previous = d.lastInChat.get(chat.id);
  const roll = rng.float();
  if (previous !== undefined && !previous.deleted && roll < 0.05) {
    m.reaction = { kind: rng.pick(REACTIONS), targetGuid: previous.guid };
    m.text = `Reacted to “${previous.text ?? ''}”`;
  } else if (roll < 0.13) {
    m.attachments.push(attachmentOf(d.seed, i, rng));
    m.text = rng.chance(0.5) ? '\ufffc' : `\ufffc${sentence(rng, 1, 4)}`;
  } else if (d.major >= 14 && previous !== undefined && !previous.deleted && roll < 0.16) {
    m.replyTo = previous.guid;
  } else if (d.major >= 16 && fromMe && roll < 0.19) {
    m.editedAt = m.date + rng.int(10, 600);
    m.originalText = sentence(rng);
  } else if (d.major >= 16 && fromMe && roll < 0.2) {
    m.unsent = true;
    m.text = null;
  }
  return m;
}

/** The conversations of a phone with `sizes` databases on iOS `major`. */
export function modelConversations(seed: number, sizes: DatabaseSizes, major: number): ModelConversations {
  const handles = handlesOf(seed, sizes);
  const chats = chatsOf(seed, handles);
  const d: Draft = { seed, major, handles, lastInChat: new Map() };
  const messages: ModelMessage[] = [];
  let attachmentId = 1;
  for (let i = 0; i < sizes.messages; i++) {
    const rng = rngFor(seed, 'message', i);
    const chat = chatFor(rng, chats);
    const m = messageOf(d, i, chat, rng);
    for (const a of m.attachments) a.id = attachmentId++;
    messages.push(m);
    if (m.reaction === undefined) d.lastInChat.set(chat.id, m);
  }
  return { handles, chats, messages };
}

/** Nanoseconds since 2001-01-01 (sms.db's date columns since iOS 11). */
export function appleNanos(unix: number): bigint {
  return BigInt(unix - APPLE_EPOCH) * 1_000_000_000n;
}

/** The backup path of an attachment recorded as "~/Library/SMS/Attachments/…" (MediaDomain). */
export function attachmentBackupPath(filename: string): { domain: string; relativePath: string } {
  return { domain: 'MediaDomain', relativePath: filename.replace(/^~\//, '') };
}
