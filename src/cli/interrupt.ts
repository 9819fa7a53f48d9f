/** Ctrl-C and SIGTERM as an AbortSignal: long work obeys it and ends cleanly. */

/** An AbortSignal that fires on Ctrl-C or SIGTERM (the handlers go away with `dispose`). */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
