/** The mutation journal as JSON: metadata encoding and a checked parser for saved journals. */
import { IbackupError } from '../../errors.js';
import {
  MUTATION_ACTIONS,
  type JournalMeta,
  type JournalOp,
  type MutationAction,
  type MutationJournal,
  type WriteMeta,
} from './model.js';

const NUMBER_FIELDS = ['mode', 'uid', 'gid', 'mtime', 'ctime', 'birth', 'protectionClass', 'flags'] as const;

export function encodeMeta(meta: WriteMeta): JournalMeta {
  const out: JournalMeta = {};
  for (const k of NUMBER_FIELDS) if (meta[k] !== undefined) out[k] = meta[k];
  if (meta.extendedAttributes !== undefined) {
    out.extendedAttributes = Object.fromEntries(
      Object.entries(meta.extendedAttributes).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
  }
  return out;
}

export function decodeMeta(meta: JournalMeta): WriteMeta {
  const out: WriteMeta = {};
  for (const k of NUMBER_FIELDS) if (meta[k] !== undefined) out[k] = meta[k];
  if (meta.extendedAttributes !== undefined) {
    out.extendedAttributes = Object.fromEntries(
      Object.entries(meta.extendedAttributes).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
    );
  }
  return out;
}

function damaged(what: string): IbackupError {
  return new IbackupError('INTERNAL', {
    message: `The virtual iPhone's saved content journal is damaged: ${what}.`,
    remedy: 'Delete the saved journal (the virtual iPhone then returns to its generated content).',
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function parseMeta(v: unknown, at: number): JournalMeta {
  if (!isObject(v)) throw damaged(`entry ${at} has no metadata`);
  const out: JournalMeta = {};
  for (const k of NUMBER_FIELDS) {
    const n = v[k];
    if (n === undefined) continue;
    if (!isNumber(n)) throw damaged(`entry ${at} has a bad ${k}`);
    out[k] = n;
  }
  const x = v.extendedAttributes;
  if (x !== undefined) {
    if (!isObject(x) || !Object.values(x).every(isString)) throw damaged(`entry ${at} has bad extended attributes`);
    out.extendedAttributes = x as Record<string, string>;
  }
  return out;
}

function parseOp(v: unknown, at: number): JournalOp {
  if (!isObject(v) || !isString(v.op)) throw damaged(`entry ${at} is not a change`);
  if ((MUTATION_ACTIONS as readonly string[]).includes(v.op)) {
    if (!isNumber(v.n) || v.n < 0) throw damaged(`entry ${at} has a bad count`);
    return { op: v.op as MutationAction, n: v.n };
  }
  if (!isString(v.domain) || !isString(v.relativePath)) throw damaged(`entry ${at} names no file`);
  if (v.op === 'remove') return { op: 'remove', domain: v.domain, relativePath: v.relativePath };
  if (v.op !== 'write') throw damaged(`entry ${at} is an unknown change "${v.op}"`);
  if (v.kind !== 'file' && v.kind !== 'directory' && v.kind !== 'symlink') throw damaged(`entry ${at} has a bad kind`);
  const op: JournalOp = {
    op: 'write',
    domain: v.domain,
    relativePath: v.relativePath,
    kind: v.kind,
    meta: parseMeta(v.meta, at),
  };
  if (v.target !== undefined) {
    if (!isString(v.target)) throw damaged(`entry ${at} has a bad link target`);
    op.target = v.target;
  }
  if (v.sha1 !== undefined) {
    if (!isString(v.sha1) || !/^[0-9a-f]{40}$/.test(v.sha1)) throw damaged(`entry ${at} has a bad digest`);
    op.sha1 = v.sha1;
  }
  if (v.size !== undefined) {
    if (!isNumber(v.size) || v.size < 0) throw damaged(`entry ${at} has a bad size`);
    op.size = v.size;
  }
  if (v.data !== undefined) {
    if (!isString(v.data)) throw damaged(`entry ${at} has bad data`);
    op.data = v.data;
  }
  if (op.kind === 'file' && op.sha1 === undefined && op.data === undefined) throw damaged(`entry ${at} has no bytes`);
  return op;
}

/** Checks a journal read back from JSON (or given in-process). */
export function parseJournal(v: unknown): MutationJournal {
  const value: unknown = typeof v === 'string' ? safeJson(v) : v;
  if (
    !isObject(value) ||
    value.format !== 'ibackup-content-journal' ||
    value.version !== 1 ||
    !Array.isArray(value.ops)
  ) {
    throw damaged('it is not a content journal of version 1');
  }
  return { format: 'ibackup-content-journal', version: 1, ops: value.ops.map(parseOp) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw damaged(`it is not JSON (${(cause as Error).message})`);
  }
}
