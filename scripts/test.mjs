// The test command: type check, lint (with the layering rules), line counts, the page's type check
// and build, then ONE node:test run over every test file, last, so that the runner's summary is
// the last thing printed.
import { spawnSync } from 'node:child_process';
import { testFiles } from './test-files.mjs';

function step(name, cmd, args) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`[timing] ${name}: ${secs} s${r.status === 0 ? '' : ' (failed)'}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

step('typecheck', 'npx', ['tsc', '--noEmit']);
step('format (prettier)', 'npx', ['prettier', '--check', '--log-level', 'warn', '.']);
step('lint + layering', 'npx', ['eslint', '.']);
step('line count', 'node', ['scripts/check-lines.mjs']);
// The web page: its own type check (DOM, JSX), then a build, so the browser tests load this page.
step('page typecheck', 'npx', ['tsc', '--noEmit', '-p', 'src/web/ui']);
step('page build', 'npx', ['vite', 'build']);
const files = testFiles();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Two test files at a time: most of them start a virtual iPhone and the host in one process, so a
// two-core machine runs two side by side in a little over half the time (every file has its own
// temporary folders, sockets and emulator state). The tests wait on events, not on fixed delays,
// so a loaded machine slows them without failing them.
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...files];
const r = spawnSync('node', args, { stdio: 'inherit' });
// The runner's own summary is the last thing printed; it reports each file's duration_ms.
process.exit(r.status ?? 1);
