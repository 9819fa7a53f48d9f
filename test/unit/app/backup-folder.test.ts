import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseBackupFolder } from '../../../src/app/backup-folder.js';
import { backupRoot } from '../../../src/app/context.js';
import { isIbackupError } from '../../../src/errors.js';

async function refused(p: Promise<unknown>, what: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isIbackupError(err) && err.code === 'BACKUP_FOLDER_UNSUITABLE', String(err));
    assert.match(err.message, what);
    return true;
  });
}

test('the backup folder chosen in the web app: checked, saved, and ranked after the option and the environment', async () => {
  const base = await mkdtemp(join(tmpdir(), 'ibackup-folder-'));
  try {
    const config = join(base, 'config');
    const chosen = join(base, 'chosen');
    await refused(chooseBackupFolder(chosen, config), /There is no folder/);
    await refused(chooseBackupFolder('relative', config), /full path/);
    await refused(chooseBackupFolder(`${base}/a\0b`, config), /full path/);
    await writeFile(chosen, 'a file');
    await refused(chooseBackupFolder(chosen, config), /not a folder/);
    await rm(chosen);
    await mkdir(chosen);
    const check = await chooseBackupFolder(`${chosen}/`, config);
    assert.equal(check.path, chosen);
    assert.equal(check.hardLinks, true);
    assert.ok(check.freeBytes > 0);
    assert.deepEqual(JSON.parse(await readFile(join(config, 'settings.json'), 'utf8')), { backupDir: chosen });

    const env = { HOME: base };
    const at = (o: { backupDir?: string; env?: NodeJS.ProcessEnv }) =>
      backupRoot({ env: o.env ?? env, platform: 'linux', home: base, configDir: config, ...o });
    assert.deepEqual(
      { path: at({}).path, source: at({}).source },
      { path: chosen, source: 'setting' },
      'the setting before the OS default',
    );
    assert.equal(at({ env: { IBACKUP_BACKUP_DIR: '/env' } }).source, 'env');
    assert.equal(at({ backupDir: '/opt' }).source, 'option');
    await writeFile(join(config, 'settings.json'), '{ not json');
    assert.equal(at({}).source, 'default', 'a damaged settings file is ignored');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
