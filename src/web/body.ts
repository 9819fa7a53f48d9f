/**
 * Request bodies: JSON objects of at most 64 KiB, read without ever logging them (they carry
 * passwords), and checks that name the field that is wrong (400 USAGE).
 */
import { IbackupError } from '../errors.js';
import { badField } from './http-errors.js';

export const MAX_BODY_BYTES = 64 * 1024;
/** Longer than any password anyone types, short enough to keep key derivation bounded. */
export const MAX_PASSWORD_CHARS = 1024;

export type JsonObject = Record<string, unknown>;

function tooLarge(limit: number): IbackupError {
  return new IbackupError('USAGE', {
    message: `The request body is larger than ${Math.round(limit / 1024)} KiB.`,
    remedy: 'Reload the page and try again.',
  });
}

async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** The body as a JSON object; an empty body is `{}`. Bad JSON, arrays, a wrong type or size: 400. */
export async function readJson(req: Request, limit = MAX_BODY_BYTES): Promise<JsonObject> {
  const bytes = await readLimited(req, limit);
  if (bytes.byteLength === 0) return {};
  const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new IbackupError('USAGE', {
      message: 'The request body must be JSON (Content-Type: application/json).',
      remedy: 'Reload the page and try again.',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new IbackupError('USAGE', {
      message: 'The request body is not valid JSON.',
      remedy: 'Reload the page and try again.',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IbackupError('USAGE', {
      message: 'The request body must be a JSON object.',
      remedy: 'Reload the page and try again.',
    });
  }
  return value as JsonObject;
}

/** Fails on any field not in `allowed`. */
export function onlyFields(body: JsonObject, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw badField(k, 'is not expected here');
}

export function optionalBoolean(body: JsonObject, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badField(field, 'must be true or false');
  return v;
}

export function requiredString(body: JsonObject, field: string, max = 4096): string {
  const v = body[field];
  if (v === undefined) throw badField(field, 'is missing');
  if (typeof v !== 'string') throw badField(field, 'must be a string');
  if (v.length === 0) throw badField(field, 'is empty');
  if (v.length > max) throw badField(field, `is longer than ${max} characters`);
  if (v.includes('\0')) throw badField(field, 'contains a NUL character');
  return v;
}

export function optionalString(body: JsonObject, field: string, max = 4096): string | undefined {
  return body[field] === undefined ? undefined : requiredString(body, field, max);
}

/** A password: a non-empty string of at most MAX_PASSWORD_CHARS (never echoed back). */
export function optionalPassword(body: JsonObject, field: string): string | undefined {
  return optionalString(body, field, MAX_PASSWORD_CHARS);
}

export function oneOf<T extends string>(body: JsonObject, field: string, values: readonly T[]): T {
  const v = body[field];
  if (v === undefined) throw badField(field, 'is missing');
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw badField(field, `must be one of ${values.join(', ')}`);
  return v as T;
}
