/** Byte arrays joined end to end: the one concatenation loop every layer uses. */

/**
 * The parts one after another in a new array. `total` is their summed length when the caller
 * already counted it (saves a pass over the parts).
 */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  let size = total;
  if (size === undefined) {
    size = 0;
    for (const p of parts) size += p.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
