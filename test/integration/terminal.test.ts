/**
 * On a terminal (a pseudo-terminal from util-linux `script`): the numbered device prompt and the
 * spinner while the iPhone waits for "Trust".
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/repo-root.js';
import { cliEnv, startBench, type Bench } from '../support/bench.js';

function hasScript(t: TestContext): boolean {
  if (spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0) return true;
  t.skip('util-linux "script" is not installed: cannot make a terminal for this test');
  return false;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI in a pseudo-terminal; `answer` is typed once `prompt` shows. Bounded by 30 s. */
function inTerminal(
  b: Bench,
  args: string[],
  prompt?: RegExp,
  answer?: string,
  cols = 100,
): Promise<{ code: number | null; out: string }> {
  const cmd =
    `stty cols ${cols} rows 30 2>/dev/null; ` +
    [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--usbmuxd', b.address, ...args]
      .map(quote)
      .join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], {
    env: { ...cliEnv(b.configHome, b.backupDir), TERM: 'xterm' },
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let answered = false;
  const onData = (c: Buffer): void => {
    out += c.toString();
    if (prompt && answer !== undefined && !answered && prompt.test(out)) {
      answered = true;
      child.stdin.write(answer);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      child.stdin.destroy();
      resolve({ code, out });
    }),
  );
}

describe('on a terminal', () => {
  test('several devices and no -u: a numbered prompt picks one', async (t) => {
    if (!hasScript(t)) return;
    const b = await startBench({ devices: 2 });
    try {
      const second = b.te.udids[1]!;
      const r = await inTerminal(b, ['pair'], /Which one \(1-2\)\?/, '2\r');
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /1\) iPhone/);
      assert.ok(r.out.includes(`Paired with ${second}`), r.out);
      assert.equal(b.te.emu.summary(b.te.emu.find(second)).pairedHosts, 1);
      assert.equal(b.te.emu.summary(b.te.emu.find(b.te.udids[0]!)).pairedHosts, 0);
    } finally {
      await b.dispose();
    }
  });

  test('a spinner while the iPhone shows "Trust This Computer?"', async (t) => {
    if (!hasScript(t)) return;
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'pending', seconds: 2 });
      const r = await inTerminal(b, ['pair']);
      assert.equal(r.code, 0, r.out.slice(-2000));
      assert.match(r.out, /Tap "Trust" on the iPhone/);
      assert.match(r.out, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'a spinner frame');
      assert.match(r.out, /Trusted\./);
      assert.match(r.out, /Paired/);
    } finally {
      await b.dispose();
    }
  });

  test('a terminal that reports no width gets plain lines, not a spinner', async (t) => {
    if (!hasScript(t)) return;
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'pending', seconds: 1 });
      const r = await inTerminal(b, ['pair'], undefined, undefined, 0);
      assert.equal(r.code, 0, r.out.slice(-2000));
      assert.match(r.out, /Tap "Trust" on the iPhone/);
      assert.doesNotMatch(r.out, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    } finally {
      await b.dispose();
    }
  });
});
