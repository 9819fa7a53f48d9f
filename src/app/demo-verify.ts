/**
 * The demo's check of the backup it has just made: the verification core on its own — no
 * password and no saved key, as the virtual iPhone's demo backups are not encrypted.
 */
import { verifyBackup, type VerifyResult } from '../backup/verify.js';

export type { VerifyResult };

/** Structure, every file present with the right size; never throws for a problem it finds. */
export function verifyDemoBackup(dir: string, signal: AbortSignal): Promise<VerifyResult> {
  return verifyBackup(dir, { signal });
}
