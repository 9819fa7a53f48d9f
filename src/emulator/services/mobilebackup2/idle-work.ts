/**
 * The device's own work done while it waits for the host (a full socket, an answer not yet
 * come), so that the two sides work at the same time.
 */

/** Does slices of `work` (true while some is left) until `wait` settles, letting I/O in between. */
export async function workWhile<T>(wait: Promise<T>, work: (() => boolean) | undefined): Promise<T> {
  if (work) {
    let settled = false;
    const done = (): void => {
      settled = true;
    };
    wait.then(done, done);
    while (!settled && work()) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return wait;
}
