/**
 * `export notes`: the notes of NoteStore.sqlite that are not locked, as HTML pages (one per note,
 * and an index) or plain text files; locked notes are listed by title, never opened. Layout facts:
 * iLEAPP scripts/artifacts/notes.py — notes, folders and accounts in ZICCLOUDSYNCINGOBJECT
 * (ZTITLE1, ZFOLDER → ZTITLE2, ZMODIFICATIONDATE1, ZISPASSWORDPROTECTED, ZMARKEDFORDELETION; the
 * creation date in ZCREATIONDATE3 or ZCREATIONDATE1 by version), the body in ZICNOTEDATA.ZDATA
 * (ZNOTE → the note): gzip of a protobuf whose text is field 2 of field 3 of field 2. No public
 * reference covers iOS 26: the reader needs ZICCLOUDSYNCINGOBJECT.Z_PK/ZTITLE1 and
 * ZICNOTEDATA.ZNOTE/ZDATA and takes the other columns when present.
 */
import { unzipSync } from 'node:zlib';
import path from 'node:path';
import { hrefOf, page } from './messages-html.js';
import { OutputFolder, plainName } from './output.js';
import {
  checkCancelled,
  chooseFormat,
  itemProgress,
  type ExportOptions,
  type ExportResult,
  type ExportWarning,
} from './result.js';
import { columnsOf, optionalColumn, requireColumns } from './schema.js';
import { openBackupDb, type Db, type ExportSource } from './source.js';
import { cocoaDate, escapeHtml as h, localShort } from './text.js';

export const NOTE_STORE = { domain: 'AppDomainGroup-group.com.apple.notes', relativePath: 'NoteStore.sqlite' };

export interface Note {
  id: number;
  title: string;
  folder: string | null;
  created: Date | null;
  modified: Date | null;
  locked: boolean;
  deleted: boolean;
  /** The note's text (its first line is the title); null when locked or unreadable. */
  text: string | null;
}

/** The length-delimited fields numbered `field` of a protobuf message (others skipped). */
export function protoFields(buf: Uint8Array, field: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (p >= buf.length) throw new RangeError('truncated varint');
      const b = buf[p++] as number;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return v;
    }
  };
  while (p < buf.length) {
    const key = varint();
    const type = key % 8;
    if (type === 0) varint();
    else if (type === 1) p += 8;
    else if (type === 5) p += 4;
    else if (type === 2) {
      const len = varint();
      if (p + len > buf.length) throw new RangeError('truncated field');
      if (Math.floor(key / 8) === field) out.push(buf.subarray(p, p + len));
      p += len;
    } else throw new RangeError(`wire type ${type}`);
  }
  return out;
}

/** The text of a note body (gzip of NoteStoreProto → Document → Note → note_text), or null. */
export function noteText(data: Uint8Array | null): string | null {
  if (data === null) return null;
  try {
    const proto = new Uint8Array(unzipSync(data));
    const doc = protoFields(proto, 2)[0];
    const note = doc === undefined ? undefined : protoFields(doc, 3)[0];
    const text = note === undefined ? undefined : protoFields(note, 2)[0];
    return text === undefined ? null : Buffer.from(text).toString('utf8');
  } catch {
    return null;
  }
}

export function readNotes(db: Db): Note[] {
  requireColumns(db, 'notes database (NoteStore.sqlite)', {
    ZICCLOUDSYNCINGOBJECT: ['Z_PK', 'ZTITLE1'],
    ZICNOTEDATA: ['ZNOTE', 'ZDATA'],
  });
  const have = columnsOf(db, 'ZICCLOUDSYNCINGOBJECT');
  const created = ['ZCREATIONDATE3', 'ZCREATIONDATE1', 'ZCREATIONDATE'].find((c) => have.has(c));
  const o = (c: string, f = 'NULL'): string => optionalColumn(have, 'n', c, f);
  const folder = have.has('ZFOLDER') && have.has('ZTITLE2');
  const rows = db
    .prepare(
      `SELECT n.Z_PK AS id, n.ZTITLE1 AS title, ${created === undefined ? 'NULL' : `n.${created}`} AS created,
         ${o('ZMODIFICATIONDATE1')} AS modified, ${o('ZISPASSWORDPROTECTED', '0')} AS locked,
         ${o('ZMARKEDFORDELETION', '0')} AS deleted, ${folder ? 'f.ZTITLE2' : 'NULL'} AS folder, d.ZDATA AS data
       FROM ZICNOTEDATA d JOIN ZICCLOUDSYNCINGOBJECT n ON d.ZNOTE = n.Z_PK
       ${folder ? 'LEFT JOIN ZICCLOUDSYNCINGOBJECT f ON n.ZFOLDER = f.Z_PK' : ''}
       ORDER BY n.Z_PK`,
    )
    .all() as Record<string, unknown>[];
  return rows.map((r) => {
    const locked = Number(r['locked'] ?? 0) === 1;
    return {
      id: Number(r['id']),
      title: typeof r['title'] === 'string' ? r['title'] : '',
      folder: typeof r['folder'] === 'string' ? r['folder'] : null,
      created: cocoaDate(r['created'] as number | null),
      modified: cocoaDate(r['modified'] as number | null),
      locked,
      deleted: Number(r['deleted'] ?? 0) === 1,
      text: locked ? null : noteText(r['data'] instanceof Uint8Array ? r['data'] : null),
    };
  });
}

function notePage(n: Note, text: string): string {
  const lines = text.split('\n');
  const body = lines[0]?.trim() === n.title.trim() ? lines.slice(1).join('\n') : text;
  const meta = [
    n.folder,
    n.created && `created ${localShort(n.created)}`,
    n.modified && `modified ${localShort(n.modified)}`,
  ]
    .filter((x) => typeof x === 'string' && x !== '')
    .join(' · ');
  return page(
    n.title || 'Note',
    `<header><h1>${h(n.title || 'Untitled note')}</h1><p class="sub">${h(meta)}</p><p class="sub"><a href="index.html">All notes</a></p></header>\n<main><div class="bubble them" style="max-width:none;background:#fff">${h(body)}</div></main>`,
  );
}

function indexOf(written: { note: Note; file: string | null }[]): string {
  const items = written.map(({ note, file }) => {
    const when = note.modified === null ? '' : ` · ${localShort(note.modified)}`;
    if (file === null)
      return `<li>🔒 ${h(note.title || 'Untitled note')}<div class="sub">locked: not exported${h(when)}</div></li>`;
    return `<li><a href="${h(hrefOf(file))}">${h(note.title || 'Untitled note')}</a><div class="sub">${h(note.folder ?? '')}${h(when)}</div></li>`;
  });
  return page(
    'Notes',
    `<header><h1>Notes</h1><p class="sub">${written.length} notes</p></header>\n<main><ul class="list">${items.join('\n')}</ul></main>`,
  );
}

async function loadNotes(source: ExportSource, tempParent?: string): Promise<Note[]> {
  const opened = await openBackupDb(source, NOTE_STORE, 'notes database (NoteStore.sqlite)', tempParent);
  try {
    return readNotes(opened.db);
  } finally {
    opened.close();
  }
}

export async function exportNotes(source: ExportSource, options: ExportOptions): Promise<ExportResult> {
  const format = chooseFormat('notes', options, ['html', 'txt']);
  const notes = (await loadNotes(source, options.tempParent)).filter((n) => !n.deleted);
  const folder = await OutputFolder.create(options.out);
  const listed: { note: Note; file: string | null }[] = [];
  const unreadable: Note[] = [];
  for (const [i, n] of notes.entries()) {
    checkCancelled(options.signal);
    itemProgress(options, 'notes', i, notes.length, folder.written.length);
    if (n.locked || n.text === null) {
      if (!n.locked) unreadable.push(n);
      listed.push({ note: n, file: null });
      continue;
    }
    const name = folder.unique(`${plainName(n.title, `Note ${n.id}`)}.${format}`);
    await folder.write(name, format === 'txt' ? `${n.text}\n` : notePage(n, n.text));
    listed.push({ note: n, file: name });
  }
  if (format === 'html') await folder.write('index.html', indexOf(listed));
  const locked = notes.filter((n) => n.locked);
  const warnings: ExportWarning[] = [];
  if (locked.length > 0)
    warnings.push({
      code: 'NOTES_LOCKED',
      message: `${locked.length} locked note${locked.length === 1 ? ' is' : 's are'} listed but not exported: ${locked
        .map((n) => n.title)
        .slice(0, 10)
        .join(', ')}.`,
    });
  if (unreadable.length > 0)
    warnings.push({
      code: 'NOTES_UNREADABLE',
      message: `${unreadable.length} notes have a body ibackup cannot read; they are listed only.`,
    });
  const items = listed.filter((l) => l.file !== null).length;
  return { kind: 'notes', items, files: folder.written, out: path.resolve(options.out), format, warnings };
}
