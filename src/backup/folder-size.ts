/** How many bytes the files under a folder hold. */
import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { sep } from 'node:path';

/** Total bytes of the files under `dir`, each inode once; unreadable entries are skipped. */
export async function folderSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    await new Promise((r) => setImmediate(r)); // let other work run between folders
    const prefix = d.endsWith(sep) ? d : d + sep;
    for (const e of entries) {
      if (e.isDirectory()) {
        stack.push(prefix + e.name);
        continue;
      }
      if (!e.isFile()) continue;
      // Metadata the kernel answers from its caches: looked up at once, a folder at a time,
      // rather than one queued call per file (a backup holds tens of thousands).
      let st;
      try {
        st = lstatSync(prefix + e.name, { throwIfNoEntry: false });
      } catch {
        continue; // unreadable: not counted
      }
      if (st === undefined) continue; // vanished
      if (st.nlink > 1) {
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) continue;
        seen.add(id);
      }
      total += st.size;
    }
  }
  return total;
}
