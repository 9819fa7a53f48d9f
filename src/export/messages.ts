/**
 * `export messages`: the conversations of sms.db as HTML pages (one per conversation and an
 * index), one CSV or one JSON file, with the attachments the backup holds copied beside them
 * under `attachments/<conversation>/`. What the backup lacks is said, never silently dropped:
 * conversations with no message in it (their messages are in iCloud) and attachments whose files
 * are not in it (offloaded, or removed). Names come from the address book when it is there.
 */
import type { BackupEntry } from '../backup/browse.js';
import { blobPresent } from '../backup/browse.js';
import { IbackupError } from '../errors.js';
import { contactNames, nameOf } from './contacts.js';
import { messagesCsv, messagesJson } from './messages-data.js';
import { conversationPage, indexPage, type PageConversation, type PlacedAttachment } from './messages-html.js';
import { readConversations, REACTION_EMOJI, SMS_DB, type Conversation, type Message } from './messages-read.js';
import { OutputFolder, plainName } from './output.js';
import { checkCancelled, chooseFormat, type ExportOptions, type ExportResult, type ExportWarning } from './result.js';
import { copyOut, openBackupDb, type ExportSource } from './source.js';
import { phoneKey } from './text.js';

type Names = Map<string, string>;

export function titleOf(c: Conversation, names: Names): string {
  if (c.displayName !== null) return c.displayName;
  if (c.members.length > 0) return c.members.map((m) => nameOf(names, m)).join(', ');
  return c.identifier;
}

/** Whether `--chat` names this conversation: a member's number or e-mail, its name, title or identifier. */
function matches(c: Conversation, wanted: string, names: Names): boolean {
  const w = wanted.trim().toLowerCase();
  const key = phoneKey(wanted);
  if (c.identifier.toLowerCase() === w || titleOf(c, names).toLowerCase() === w) return true;
  return c.members.some((m) => (key !== undefined && phoneKey(m) === key) || nameOf(names, m).toLowerCase() === w);
}

/** The backup's attachment files by "<domain>/<relativePath>". */
function attachmentIndex(source: ExportSource): Map<string, BackupEntry> {
  const out = new Map<string, BackupEntry>();
  for (const domain of ['MediaDomain', 'HomeDomain'])
    for (const e of source.entries({ domain }))
      if (e.type === 'file' && e.relativePath.startsWith('Library/SMS/Attachments/'))
        out.set(`${e.domain}/${e.relativePath}`, e);
  return out;
}

/** Where an attachment recorded as "~/Library/SMS/…" or "/var/mobile/Library/SMS/…" is in a backup. */
export function attachmentKeys(filename: string): string[] {
  const rel = filename.replace(/^(?:~|\/private\/var\/mobile|\/var\/mobile)\//, '');
  if (rel === filename || rel.split('/').includes('..')) return [];
  return [`MediaDomain/${rel}`, `HomeDomain/${rel}`];
}

interface Run {
  source: ExportSource;
  options: ExportOptions;
  names: Names;
  index: Map<string, BackupEntry>;
  attachments: OutputFolder | undefined;
  root: OutputFolder;
  /** Attachment files written. */
  files: string[];
  missing: number;
  copied: number;
  bytes: number;
}

async function placeAttachments(
  run: Run,
  m: Message,
  convFolder: () => Promise<OutputFolder>,
): Promise<PlacedAttachment[]> {
  const out: PlacedAttachment[] = [];
  for (const a of m.attachments) {
    const name = plainName(a.transferName ?? a.filename?.split('/').pop() ?? '', `attachment-${a.id}`);
    const entry = attachmentKeys(a.filename ?? '')
      .map((k) => run.index.get(k))
      .find((e) => e !== undefined && blobPresent(e));
    if (entry === undefined) {
      run.missing++;
      out.push({ name, mimeType: a.mimeType, file: null });
      continue;
    }
    const folder = await convFolder();
    const written = await folder.writeWith(folder.unique(name), async (tmp) => {
      run.bytes += await copyOut(run.source, entry, tmp);
    });
    run.copied++;
    run.files.push(written);
    out.push({ name, mimeType: a.mimeType, file: run.root.relative(written) });
  }
  return out;
}

async function pageOf(run: Run, c: Conversation, messages: Message[], file: string): Promise<PageConversation> {
  let folder: OutputFolder | undefined;
  const convFolder = async (): Promise<OutputFolder> => {
    run.attachments ??= await run.root.sub('attachments');
    folder ??= await run.attachments.sub(file.replace(/\.html$/, ''));
    return folder;
  };
  const byGuid = new Map(messages.map((m) => [m.guid, m]));
  const before = run.missing;
  const out: PageConversation['messages'] = [];
  for (const m of messages) {
    checkCancelled(run.options.signal);
    const target = m.replyTo === null ? undefined : byGuid.get(m.replyTo);
    out.push({
      message: m,
      senderName: nameOf(run.names, m.sender),
      attachments: await placeAttachments(run, m, convFolder),
      reactions: m.reactions.map((r) => `${REACTION_EMOJI[r.kind] ?? r.kind} ${nameOf(run.names, r.from)}`),
      replyExcerpt: target === undefined ? null : target.text.slice(0, 80) || '(attachment)',
    });
  }
  const lost = run.missing - before;
  const notes =
    lost > 0
      ? [`${lost} attachment${lost === 1 ? ' is' : 's are'} not in this backup (kept in iCloud, or removed).`]
      : [];
  const who = c.members.map((x) => `${nameOf(run.names, x)}${nameOf(run.names, x) === x ? '' : ` (${x})`}`).join(', ');
  const subtitle = `${who || c.identifier} · ${c.service ?? 'Messages'} · ${messages.length} messages`;
  return { title: titleOf(c, run.names), group: c.group, file, subtitle, messages: out, notes };
}

function select(all: readonly Conversation[], options: ExportOptions, names: Names): Conversation[] {
  const chosen = options.chat === undefined ? [...all] : all.filter((c) => matches(c, options.chat as string, names));
  if (options.chat !== undefined && chosen.length === 0) {
    const some = all.slice(0, 15).map((c) => `  ${titleOf(c, names)} (${c.identifier})`);
    throw new IbackupError('USAGE', {
      message: `No conversation in this backup matches "${options.chat}". Some there are:\n${some.join('\n')}`,
      remedy: 'Give a phone number, an e-mail address, a contact name or a group name from the list.',
    });
  }
  return chosen;
}

async function writeAll(
  run: Run,
  format: string,
  pages: PageConversation[],
  empty: Conversation[],
  notes: string[],
): Promise<void> {
  if (format === 'csv') await run.root.write('messages.csv', messagesCsv(pages));
  else if (format === 'json') await run.root.write('messages.json', messagesJson(pages));
  else {
    for (const p of pages) await run.root.write(p.file, conversationPage(p));
    const entries = [
      ...pages.map((p) => ({
        title: p.title,
        file: p.file,
        count: p.messages.length,
        last: p.messages.at(-1)?.message.date ?? null,
      })),
      ...empty.map((c) => ({ title: titleOf(c, run.names), file: null, count: 0, last: null })),
    ];
    await run.root.write('index.html', indexPage('Messages', entries, notes));
  }
}

/** Reads every conversation of the backup's sms.db. */
async function loadConversations(source: ExportSource, tempParent?: string): Promise<Conversation[]> {
  const sms = await openBackupDb(source, SMS_DB, 'messages database (sms.db)', tempParent);
  try {
    return readConversations(sms.db);
  } finally {
    sms.close();
  }
}

/** The pages of the chosen conversations (messages since --since), attachments copied. */
async function buildPages(run: Run, chosen: readonly Conversation[]): Promise<PageConversation[]> {
  const { options } = run;
  const pages: PageConversation[] = [];
  let done = 0;
  for (const c of chosen) {
    done++;
    const since = options.since;
    const messages = c.messages.filter((m) => since === undefined || (m.date !== null && m.date >= since));
    if (messages.length === 0) continue;
    const file = run.root.unique(`${plainName(titleOf(c, run.names), `Conversation ${c.id}`)}.html`);
    pages.push(await pageOf(run, c, messages, file));
    options.onProgress?.({
      phase: 'messages',
      percent: Math.round((done / chosen.length) * 100),
      bytesDone: run.bytes,
      filesDone: run.copied,
    });
  }
  return pages;
}

export async function exportMessages(source: ExportSource, options: ExportOptions): Promise<ExportResult> {
  const format = chooseFormat('messages', options, ['html', 'csv', 'json']);
  const conversations = await loadConversations(source, options.tempParent);
  const names = await contactNames(source, options.tempParent);
  const chosen = select(conversations, options, names);
  const root = await OutputFolder.create(options.out);
  const run: Run = {
    ...{ source, options, names, root, attachments: undefined, files: [] },
    ...{ index: attachmentIndex(source), missing: 0, copied: 0, bytes: 0 },
  };
  const pages = await buildPages(run, chosen);
  const empty = chosen.filter((c) => c.messages.length === 0);
  const warnings = warningsOf(empty, run);
  await writeAll(
    run,
    format,
    pages,
    empty,
    warnings.map((w) => w.message),
  );
  const items = pages.reduce((n, p) => n + p.messages.length, 0);
  return { kind: 'messages', items, files: [...root.written, ...run.files], out: root.dir, format, warnings };
}

function warningsOf(empty: readonly Conversation[], run: Run): ExportWarning[] {
  const warnings: ExportWarning[] = [];
  if (empty.length > 0)
    warnings.push({
      code: 'MESSAGES_NOT_IN_BACKUP',
      message: `${empty.length} conversation${empty.length === 1 ? ' has' : 's have'} no messages in this backup (Messages in iCloud keeps them out of computer backups): ${empty
        .map((c) => titleOf(c, run.names))
        .slice(0, 10)
        .join(', ')}.`,
    });
  if (run.missing > 0)
    warnings.push({
      code: 'ATTACHMENTS_NOT_IN_BACKUP',
      message: `${run.missing} attachment${run.missing === 1 ? ' is' : 's are'} not in this backup (kept in iCloud, or removed); the pages say where.`,
    });
  return warnings;
}

/** One conversation as a picker lists it. */
export interface ConversationSummary {
  title: string;
  identifier: string;
  messages: number;
  /** ISO date of the newest message, or null. */
  last: string | null;
}

/** The conversations of a backup's sms.db, newest first, for choosing one to export. */
export async function conversationSummaries(source: ExportSource, tempParent?: string): Promise<ConversationSummary[]> {
  const all = await loadConversations(source, tempParent);
  const names = await contactNames(source, tempParent);
  return all
    .map((c) => ({
      title: titleOf(c, names),
      identifier: c.identifier,
      messages: c.messages.length,
      last: c.messages.at(-1)?.date?.toISOString() ?? null,
    }))
    .sort((a, b) => (b.last ?? '').localeCompare(a.last ?? ''));
}
