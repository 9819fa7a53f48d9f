// The explicit, sorted list of test files (Node 20's runner skips .ts files given a directory).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function testFiles(root = 'test') {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.ts')) out.push(path);
    }
  };
  walk(root);
  return out.sort();
}
