/** Messages as data: one CSV row per message, or one JSON document of conversations. */
import type { PageConversation } from './messages-html.js';
import { CSV_BOM, csvLine, localIso } from './text.js';

const HEADER = [
  'conversation',
  'date',
  'direction',
  'sender',
  'sender_name',
  'text',
  'service',
  'attachments',
  'missing_attachments',
  'reactions',
  'edited',
  'unsent',
  'reply_to',
  'earlier_versions',
];

export function messagesCsv(conversations: readonly PageConversation[]): string {
  const lines = [CSV_BOM + csvLine(HEADER)];
  for (const c of conversations) {
    for (const pm of c.messages) {
      const m = pm.message;
      lines.push(
        csvLine([
          c.title,
          m.date === null ? '' : localIso(m.date),
          m.fromMe ? 'sent' : 'received',
          m.sender ?? 'me',
          pm.senderName,
          m.unsent ? '' : m.text,
          m.service,
          pm.attachments.flatMap((a) => (a.file === null ? [] : [a.file])).join('; '),
          pm.attachments.flatMap((a) => (a.file === null ? [a.name] : [])).join('; '),
          pm.reactions.join('; '),
          m.editedAt === null ? '' : localIso(m.editedAt),
          m.unsent ? 'yes' : '',
          m.replyTo ?? '',
          m.earlier.map((v) => v.text).join(' | '),
        ]),
      );
    }
  }
  return lines.join('');
}

export function messagesJson(conversations: readonly PageConversation[]): string {
  const doc = {
    conversations: conversations.map((c) => ({
      title: c.title,
      notes: c.notes,
      messages: c.messages.map((pm) => ({
        guid: pm.message.guid,
        date: pm.message.date === null ? null : localIso(pm.message.date),
        fromMe: pm.message.fromMe,
        sender: pm.message.sender,
        senderName: pm.senderName,
        text: pm.message.unsent ? '' : pm.message.text,
        service: pm.message.service,
        attachments: pm.attachments,
        reactions: pm.reactions,
        edited: pm.message.editedAt === null ? null : localIso(pm.message.editedAt),
        unsent: pm.message.unsent,
        replyTo: pm.message.replyTo,
        earlierVersions: pm.message.earlier.map((v) => ({
          date: v.date === null ? null : localIso(v.date),
          text: v.text,
        })),
      })),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
