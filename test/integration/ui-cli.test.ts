/**
 * `ibackup ui`: one stdout line with the address (or one JSON object with --json), the API
 * answering with the printed token, and Ctrl-C ending it with exit 0.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { DevicesResponse } from '../../src/web/api.js';
import { startBench } from '../support/bench.js';

/** Resolves with stdout's first line (fails after `ms`). */
function firstLine(child: ChildProcess, ms: number, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no line on stdout after ${ms} ms; stderr: ${stderr()}`)), ms);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, i));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${String(code)} before printing; stderr: ${stderr()}`));
    });
  });
}

function exitOf(child: ChildProcess, ms: number): Promise<number | 'hung'> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => resolve('hung'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

describe('ibackup ui', { timeout: 60_000 }, () => {
  test('--no-open --port 0 prints exactly the address line; the token works; SIGINT exits 0', async () => {
    const b = await startBench();
    const child = b.spawnCli(['ui', '--no-open', '--port', '0']);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      const line = await firstLine(child, 30_000, () => stderr);
      const m = /^ibackup ui: http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]{43})$/.exec(line);
      assert.ok(m, line);
      const [, port, token] = m;
      const r = await fetch(`http://127.0.0.1:${port}/api/devices`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(r.status, 200);
      const body = (await r.json()) as DevicesResponse;
      assert.equal(body.problem, null);
      assert.equal(
        (await fetch(`http://127.0.0.1:${port}/api/devices`, { signal: AbortSignal.timeout(10_000) })).status,
        401,
      );
      assert.ok(child.kill('SIGINT'));
      assert.equal(await exitOf(child, 20_000), 0, stderr);
      assert.equal(stdout, `${line}\n`, 'one line on stdout');
      assert.doesNotMatch(stderr, /Error/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await b.dispose();
    }
  });

  test('--json prints {"url","port","token"} on one line; SIGTERM exits 0', async () => {
    const b = await startBench();
    const child = b.spawnCli(['--json', 'ui', '--no-open']);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const line = await firstLine(child, 30_000, () => stderr);
      const doc = JSON.parse(line) as { url: string; port: number; token: string };
      assert.deepEqual(Object.keys(doc), ['url', 'port', 'token']);
      assert.equal(doc.url, `http://127.0.0.1:${doc.port}/?token=${doc.token}`);
      assert.ok(doc.port > 0);
      assert.ok(child.kill('SIGTERM'));
      assert.equal(await exitOf(child, 20_000), 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await b.dispose();
    }
  });

  test('a bad --port is a usage error (exit 2)', async () => {
    const b = await startBench();
    try {
      const r = await b.cli(['ui', '--no-open', '--port', '70000'], { timeoutMs: 20_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--port 70000/);
    } finally {
      await b.dispose();
    }
  });
});
