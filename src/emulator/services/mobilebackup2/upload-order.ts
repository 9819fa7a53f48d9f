/** The order in which the virtual iPhone uploads a backup's files. */
import type { ContentSource } from '../../content/model.js';

interface Upload {
  size: number;
  entry: { source: ContentSource };
}

/**
 * Files of `bigBytes` or more go first: while they stream the device mostly waits for the host,
 * and that is when its Manifest.db work gets done. The others keep their order, except that the
 * ones whose bytes the device renders on the spot (camera-roll photos: milliseconds of JPEG
 * encoding each) are spread evenly among them. One after another, 500 photos kept the host
 * waiting with nothing to read for two seconds; spread out, each is rendered while the host still
 * works through what was sent before it, as a phone's own storage would keep the stream going.
 */
export function uploadOrder<T extends Upload>(uploads: readonly T[], bigBytes: number): T[] {
  const big: T[] = [];
  const rendered: T[] = [];
  const rest: T[] = [];
  for (const u of uploads) {
    if (u.size >= bigBytes) big.push(u);
    else if (u.entry.source === 'photo') rendered.push(u);
    else rest.push(u);
  }
  const out = big;
  const total = rendered.length + rest.length;
  let r = 0;
  let o = 0;
  for (let i = 0; i < total; i++) {
    // The r-th rendered file goes in the middle of its share of the positions.
    const due = r < rendered.length && ((r + 0.5) * total) / rendered.length <= i + 1;
    if (due || o >= rest.length) out.push(rendered[r++] as T);
    else out.push(rest[o++] as T);
  }
  return out;
}
