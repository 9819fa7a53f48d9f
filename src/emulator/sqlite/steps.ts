/**
 * Work in steps: a generator that yields after each slice of its work, so that a caller can
 * spread a long job over its idle moments (or run it at once with `complete`).
 */
export type Steps<T> = Generator<void, T>;

/** Runs steps to their end and returns the result. */
export function complete<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
