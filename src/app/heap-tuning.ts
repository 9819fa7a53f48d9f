/**
 * Garbage-collector tuning for a backup's stream of file data.
 *
 * A backup keeps a small heap (about 10 MB for 20 000 files) while it allocates fast: a buffer
 * for every chunk read from the device, and the promises that write it. With V8's default
 * growing factor the old generation's limit then stays so close to its size that V8 starts a
 * full collection every few dozen milliseconds: measured, over a hundred full collections in a
 * 2 GB backup, with 8–12 MB of old generation each time, about 2 CPU-seconds of marking (a third
 * of the process's user time).
 *
 * V8 also counts the buffers' memory (outside its heap) allocated since the last full collection
 * against that limit, and starts marking once what is left is under the young generation's size:
 * a backup streams tens of megabytes of chunks between two young collections, which free them.
 * A room of 32 MB, at most four times the heap, still left a full collection every 100–400 ms at
 * 200 000 files (86–89 in a run); a room of 48 MB, whatever the heap's size below
 * SMALL_HEAP_BYTES, leaves 3 (user time 14.3 → 11.7 s, peak RSS 152 → 156 MB; 64 MB: 2, and
 * 166 MB). So while the heap is small the old generation may grow by ROOM_BYTES beyond what
 * survives, as a growing percentage V8 reads whenever it sets a new limit. Once what survives
 * passes SMALL_HEAP_BYTES the default comes back: its room then far exceeds the young
 * generation. The fixed room bounds what the tuning may add to a run's peak.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

const SMALL_HEAP_BYTES = 24 * 1024 * 1024;
const ROOM_BYTES = 48 * 1024 * 1024;
/** A bound for a heap far smaller than any real run's (the program alone holds about 8 MB). */
const MAX_PERCENT = 1000;

let observer: PerformanceObserver | undefined;
let current: number | undefined;

/** The growing percentage for a heap where `usedBytes` survived (0: V8's own choice). */
export function growingPercent(usedBytes: number): number {
  if (usedBytes >= SMALL_HEAP_BYTES) return 0;
  const percent = Math.round((ROOM_BYTES / Math.max(usedBytes, 1)) * 10) * 10;
  return Math.min(MAX_PERCENT, percent);
}

/** Sets the growing percentage for the heap's current size (after each full collection); returns it. */
export function adjustHeapGrowing(usedBytes = getHeapStatistics().used_heap_size): number {
  const percent = growingPercent(usedBytes);
  if (percent !== current) {
    current = percent;
    setFlagsFromString(`--heap-growing-percent=${percent}`);
  }
  return percent;
}

/** Applies the tuning once per process (backups may run one after another in the web app). */
export function tuneHeapForStreaming(): void {
  if (observer) return;
  adjustHeapGrowing();
  observer = new PerformanceObserver((list) => {
    const major = list
      .getEntries()
      .some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (major) adjustHeapGrowing();
  });
  observer.observe({ entryTypes: ['gc'] });
}
