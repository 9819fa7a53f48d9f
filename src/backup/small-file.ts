/**
 * ibackup's own small records under `.ibackup/` (history ids, retention policies, scans): written
 * whole under a temporary name, flushed, then renamed over the old one, so a reader finds either
 * the old record or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { parentDir, type FsLayer } from './fs-layer.js';

export async function writeSmallFile(fs: FsLayer, path: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(parentDir(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    await fh.close().catch(() => undefined);
  }
  await fs.rename(tmp, path);
  await fs.sync(parentDir(path), true);
}
