/**
 * The package as a user gets it: `npm pack` of the built tree, installed from the tarball into an
 * empty prefix (its dependencies from the registry, as `npm install` does), then `ibackup
 * --version`, `ibackup demo --profile tiny` and the web app's page from the installed copy. The
 * tarball holds only what runs (dist/ without source maps, package.json, README); its CLI is the
 * bundle (scripts/bundle-cli.mjs), which finds the version and the page from its chunks' folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

test(
  'npm pack → install into an empty prefix → ibackup --version and a demo backup',
  { timeout: 600_000 },
  async (t) => {
    if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) {
      assert.fail('dist/ is missing: run "npm run build" first (npm ci does it)');
    }
    const work = await mkdtemp(join(tmpdir(), 'ibackup-pack-'));
    try {
      // The built tree is packed as it is (no second build while other tests read dist/).
      const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: REPO,
        maxBuffer: 64 << 20,
      });
      const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
      const files = info[0]?.files.map((f) => f.path) ?? [];
      assert.ok(files.includes('dist/cli/main.js'), 'the CLI is in the package');
      assert.ok(
        files.some((f) => f.startsWith('dist/cli/chunks/')),
        'the CLI is bundled: its chunks are in the package',
      );
      assert.ok(files.includes('dist/web/ui/index.html'), 'the web page is in the package');
      const stray = files.filter(
        (f) => !(f.startsWith('dist/') || ['package.json', 'README.md', 'LICENSE'].includes(f)) || f.endsWith('.map'),
      );
      assert.deepEqual(stray, [], 'only what runs is shipped');

      const prefix = join(work, 'prefix');
      const env = {
        ...process.env,
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      };
      await run(
        'npm',
        ['install', '--global', '--prefix', prefix, '--prefer-offline', join(work, info[0]?.filename ?? '')],
        { env, maxBuffer: 64 << 20, timeout: 480_000 },
      );
      const bin = join(prefix, 'bin', 'ibackup');
      const version = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
      const v = await run(bin, ['--version'], { env });
      assert.equal(v.stdout.trim(), version.version);
      const home = join(work, 'home');
      const demo = await run(bin, ['demo', '--profile', 'tiny', '--backup-dir', join(home, 'Backup')], {
        env: {
          ...env,
          HOME: home,
          XDG_CONFIG_HOME: join(home, 'config'),
          XDG_DATA_HOME: join(home, 'data'),
          IBACKUP_TIME_SCALE: '0.01',
        },
        timeout: 120_000,
        maxBuffer: 16 << 20,
      });
      assert.match(demo.stdout + demo.stderr, /no problems/);
      assert.match(await pageFrom(bin, { ...env, XDG_CONFIG_HOME: join(home, 'config') }), /<title>ibackup<\/title>/);
      t.diagnostic(`installed and ran from ${prefix}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
);

/** Starts `ibackup ui` from `bin`, opens its address as a browser does (token, then cookie) and returns the page. */
async function pageFrom(bin: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(bin, ['--json', 'ui', '--no-open'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
      });
      child.on('exit', (code) => reject(new Error(`ibackup ui ended (${code}) before printing its address`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    const login = await fetch(url, { redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const page = await fetch(new URL('/', url), { headers: { cookie } });
    assert.equal(page.status, 200, 'the page is served');
    return await page.text();
  } finally {
    child.kill('SIGTERM');
  }
}
