// Fails when a source file is longer than the limit: split files by responsibility.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const LIMIT = 400;
const roots = ['src'];
const offenders = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|tsx|mjs|js)$/.test(name)) {
      const lines = readFileSync(path, 'utf8').split('\n').length;
      if (lines > LIMIT) offenders.push(`${path}: ${lines} lines`);
    }
  }
}
roots.forEach(walk);
if (offenders.length > 0) {
  console.error(`Source files over ${LIMIT} lines (split them by responsibility):\n  ${offenders.join('\n  ')}`);
  process.exit(1);
}
console.log(`line count: every source file is at most ${LIMIT} lines`);
