/**
 * Byte counts in decimal units, as Finder shows sizes ("128 GB"): the one place that scales them.
 * Pure (no Node, no DOM), so the CLI, the use cases and the web page all use it.
 */

export type ByteUnit = 'bytes' | 'KB' | 'MB' | 'GB' | 'TB';

const UNITS: readonly ByteUnit[] = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** `n` in the largest decimal unit that keeps the value at 1000 or less; one decimal below 100. */
export function scaleBytes(n: number): { value: number; unit: ByteUnit; digits: 0 | 1 } {
  let value = n;
  let i = 0;
  while (value >= 1000 && i < UNITS.length - 1) {
    value /= 1000;
    i++;
  }
  return { value, unit: UNITS[i] as ByteUnit, digits: i === 0 || value >= 100 ? 0 : 1 };
}

/** "59 bytes", "70.0 KB", "128 GB" — the same in every locale; "unknown" for null. */
export function formatBytes(n: number | null): string {
  if (n === null) return 'unknown';
  const { value, unit, digits } = scaleBytes(n);
  return unit === 'bytes' ? `${n} bytes` : `${value.toFixed(digits)} ${unit}`;
}
