/**
 * Runs an operation over a list at most `width` at a time: the backup store's fsyncs and the
 * host's independent moves and removes. A top-level module, importable from every layer.
 */

/** Calls `op` for every item, at most `width` at a time. The first failure rejects the whole call (calls under way still finish, and the other workers go on). */
export async function parallel<T>(items: readonly T[], width: number, op: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await op(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
