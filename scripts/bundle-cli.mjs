// The command-line program as it runs: `dist/cli/main.js` and every module it imports, bundled
// into one file, with the parts only some commands need (the web app, the virtual iPhone, the
// password strength meter, the legacy TLS server) split into chunks loaded when used.
//
// Why: Node.js's ES module loader resolves, reads and links each module on its own (about half a
// millisecond each here), and the program is about 240 modules, so every start of ibackup spent
// more than 0.1 CPU-second loading itself. Bundled, `ibackup --version` takes 0.14 s instead of
// 0.25, and a backup of 100 files 0.56 CPU-seconds instead of 0.73 (README, Performance). Packages
// from node_modules stay outside the bundle (better-sqlite3 has a native part; the others load
// as they did).
//
// Runs after tsc (it bundles tsc's output, so the code that runs is the code tsc checked);
// the other modules of dist/ stay as tsc wrote them, for whoever imports them directly.
// Usage: node scripts/bundle-cli.mjs [DIST]   (default: dist)
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const MARK = '// ibackup: bundled CLI';
const dist = resolve(process.argv[2] ?? 'dist');
const entry = join(dist, 'cli', 'main.js');

if (readFileSync(entry, 'utf8').includes(MARK)) {
  console.error(`${entry} is already the bundle: run tsc first (npm run build does both).`);
  process.exit(1);
}
// Chunk names carry a hash of their content: the previous build's chunks would stay beside the new.
rmSync(join(dist, 'cli', 'chunks'), { recursive: true, force: true });
await build({
  entryPoints: [entry],
  outdir: join(dist, 'cli'),
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  banner: { js: MARK },
  logLevel: 'warning',
});
