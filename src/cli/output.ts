/** How the CLI prints results and errors: human text, or exactly one JSON document with --json. */
import { IbackupError, isIbackupError } from '../errors.js';

/** Exit codes of CLI.md: 0 success, 1 operation failed, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** Turns any thrown value into an IbackupError (unexpected ones become INTERNAL, keeping the cause). */
export function toIbackupError(err: unknown): IbackupError {
  if (isIbackupError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new IbackupError('INTERNAL', { message: `Unexpected error: ${message}`, cause: err });
}

/** Prints an error (stderr for humans, stdout JSON with --json) and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const e = toIbackupError(err);
  if (json) {
    printJson({ error: e.toJSON() });
  } else {
    process.stderr.write(`Error: ${e.message}\n${e.remedy}\n`);
    if (e.code === 'INTERNAL' && e.cause instanceof Error && e.cause.stack) {
      process.stderr.write(`${e.cause.stack}\n`);
    }
  }
  return e.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILED;
}

/** One NDJSON line on a stream. */
export function ndjson(stream: NodeJS.WritableStream, value: unknown): void {
  stream.write(`${JSON.stringify(value)}\n`);
}
