/**
 * The backup folder: shown with where it came from and its free space; Change… checks the folder
 * the page names (a full path; it must exist, be writable and make hard links), saves it in
 * ibackup's settings and uses it from now on: the backup list, Last Backup and new backups.
 */
import type { Hono } from 'hono';
import { chooseBackupFolder, describeBackupFolder } from '../app/backup-folder.js';
import type { BackupFolderView } from './api-settings.js';
import { onlyFields, readJson, requiredString } from './body.js';
import { backupsChanged, type Deps } from './deps.js';

/** Where the backup folder came from, and ibackup's own folder (where the choice is saved). */
export interface BackupFolderSetting {
  source: BackupFolderView['source'];
  configDir: string;
}

export function registerSettingsRoutes(app: Hono, deps: Deps, setting: BackupFolderSetting): void {
  app.get('/api/settings/backup-folder', async (c) =>
    c.json<BackupFolderView>(await describeBackupFolder(deps.roots[0] as string, setting.source)),
  );

  app.post('/api/settings/backup-folder', async (c) => {
    const body = await readJson(c.req.raw);
    onlyFields(body, ['path']);
    const chosen = await chooseBackupFolder(requiredString(body, 'path', 4096), setting.configDir);
    setting.source = 'setting';
    // Every part of the server shares this one list of roots: the chosen folder alone from now on.
    (deps.roots as string[]).splice(0, deps.roots.length, chosen.path);
    await backupsChanged(deps);
    return c.json<BackupFolderView>({ path: chosen.path, source: 'setting', freeBytes: chosen.freeBytes });
  });
}
