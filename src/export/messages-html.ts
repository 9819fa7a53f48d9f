/**
 * The HTML of a messages export: an index of the conversations and one page per conversation,
 * readable offline — styles inline, no script, images shown from the copied attachments beside
 * the pages, day headings and times in local time, tapbacks, replies, edits and unsent messages
 * said in words.
 */
import type { Message } from './messages-read.js';
import { escapeHtml as h, localShort } from './text.js';

/** A message's attachment as the export placed it: a path relative to the pages, or missing. */
export interface PlacedAttachment {
  name: string;
  mimeType: string | null;
  /** Relative to the export folder ("attachments/Emma/IMG_0001.jpeg"), null when not in the backup. */
  file: string | null;
}

export interface PageMessage {
  message: Message;
  senderName: string;
  attachments: PlacedAttachment[];
  /** Names of who reacted, with the reaction's emoji ("❤️ Emma"). */
  reactions: string[];
  /** An excerpt of the message this one answers. */
  replyExcerpt: string | null;
}

export interface PageConversation {
  title: string;
  /** A group chat: each message says who sent it. */
  group: boolean;
  file: string;
  subtitle: string;
  messages: PageMessage[];
  /** Said at the top of the page (attachments missing, nothing in the backup…). */
  notes: string[];
}

const STYLE = `body{font:15px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f4f6;color:#111}
header{background:#fff;padding:12px 20px;border-bottom:1px solid #ddd}h1{font-size:20px;margin:0 0 4px}
.sub{color:#666;margin:0}main{max-width:760px;margin:0 auto;padding:10px 16px 40px}
.day{text-align:center;color:#888;font-size:13px;font-weight:600;margin:18px 0 6px}
.msg{display:flex;flex-direction:column;margin:6px 0}.me{align-items:flex-end}.them{align-items:flex-start}
.who{font-size:12px;color:#666;margin:0 10px 2px}.bubble{max-width:78%;padding:7px 12px;border-radius:16px;
white-space:pre-wrap;overflow-wrap:anywhere}.me .bubble{background:#0a84ff;color:#fff}.them .bubble{background:#e5e5ea}
.sms.me .bubble{background:#34c759}.meta{font-size:11px;color:#888;margin:2px 10px}.gone{font-style:italic;opacity:.75}
.reply{font-size:12px;color:#555;margin:0 10px 2px;border-left:3px solid #bbb;padding-left:6px}
.att img{max-width:260px;max-height:260px;border-radius:12px;display:block;margin:3px 0}
.missing{font-size:12px;color:#a33}.note{background:#fff3cd;padding:8px 12px;border-radius:8px;margin:8px 0}
ul.list{list-style:none;padding:0}ul.list li{background:#fff;margin:6px 0;padding:10px 14px;border-radius:10px}`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** href of a relative file path, each segment percent-encoded. */
export function hrefOf(rel: string): string {
  return rel
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

function attachmentHtml(a: PlacedAttachment): string {
  if (a.file === null) return `<div class="missing">📎 ${h(a.name)} — not in this backup</div>`;
  if (a.mimeType?.startsWith('image/') === true)
    return `<a href="${h(hrefOf(a.file))}"><img src="${h(hrefOf(a.file))}" alt="${h(a.name)}"></a>`;
  return `<div><a href="${h(hrefOf(a.file))}">📎 ${h(a.name)}</a></div>`;
}

function timeOf(d: Date | null): string {
  return d === null ? '' : localShort(d).slice(11);
}

function messageHtml(pm: PageMessage, group: boolean): string {
  const m = pm.message;
  const cls = `msg ${m.fromMe ? 'me' : 'them'}${m.service === 'SMS' ? ' sms' : ''}`;
  const parts: string[] = [];
  if (group && !m.fromMe) parts.push(`<div class="who">${h(pm.senderName)}</div>`);
  if (pm.replyExcerpt !== null) parts.push(`<div class="reply">↪ ${h(pm.replyExcerpt)}</div>`);
  if (m.unsent) parts.push('<div class="bubble gone">This message was unsent.</div>');
  else if (m.text !== '') parts.push(`<div class="bubble">${h(m.text)}</div>`);
  if (pm.attachments.length > 0) parts.push(`<div class="att">${pm.attachments.map(attachmentHtml).join('')}</div>`);
  for (const v of m.earlier)
    parts.push(
      `<div class="reply">Before the edit${v.date === null ? '' : ` (${h(timeOf(v.date))})`}: ${h(v.text)}</div>`,
    );
  const meta = [timeOf(m.date)];
  if (m.editedAt !== null) meta.push(`edited ${timeOf(m.editedAt)}`);
  if (m.service !== null && m.service !== 'iMessage') meta.push(m.service);
  meta.push(...pm.reactions);
  parts.push(`<div class="meta">${h(meta.filter((x) => x !== '').join(' · '))}</div>`);
  return `<div class="${cls}" id="m-${h(m.guid)}">${parts.join('')}</div>`;
}

/** The page of one conversation. */
export function conversationPage(c: PageConversation): string {
  const out: string[] = [
    `<header><h1>${h(c.title)}</h1><p class="sub">${h(c.subtitle)}</p><p class="sub"><a href="index.html">All conversations</a></p></header>`,
    '<main>',
  ];
  for (const n of c.notes) out.push(`<p class="note">${h(n)}</p>`);
  let day = '';
  for (const pm of c.messages) {
    const d = pm.message.date === null ? 'Date unknown' : localShort(pm.message.date).slice(0, 10);
    if (d !== day) {
      out.push(`<h2 class="day">${h(d)}</h2>`);
      day = d;
    }
    out.push(messageHtml(pm, c.group));
  }
  out.push('</main>');
  return page(c.title, out.join('\n'));
}

export interface IndexEntry {
  title: string;
  /** The page, or null when the conversation has no messages in the backup. */
  file: string | null;
  count: number;
  last: Date | null;
}

/** The index page: every conversation, newest first, with its count and last date. */
export function indexPage(title: string, entries: readonly IndexEntry[], notes: readonly string[]): string {
  const items = entries.map((e) => {
    const when = e.last === null ? '' : ` · last ${localShort(e.last)}`;
    const label = e.file === null ? h(e.title) : `<a href="${h(hrefOf(e.file))}">${h(e.title)}</a>`;
    const count = e.file === null ? 'no messages in this backup' : `${e.count} message${e.count === 1 ? '' : 's'}`;
    return `<li>${label}<div class="sub">${count}${h(when)}</div></li>`;
  });
  const body = [
    `<header><h1>${h(title)}</h1><p class="sub">${entries.length} conversations</p></header>`,
    '<main>',
    ...notes.map((n) => `<p class="note">${h(n)}</p>`),
    `<ul class="list">${items.join('\n')}</ul>`,
    '</main>',
  ];
  return page(title, body.join('\n'));
}
