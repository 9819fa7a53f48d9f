/**
 * `files extract`: writes the selected entries of an open backup as `<out>/<domain>/<relativePath>`,
 * safely (names made safe, nothing outside `out`, nothing into the backup), with progress. The
 * file work is backup/extract.ts.
 */
import { extractEntries, type ExtractOptions, type ExtractResult } from '../backup/extract.js';
import type { BackupView } from './backup-view.js';

export type { ExtractOptions, ExtractProgress, ExtractResult, ExtractSkip, SkipCode } from '../backup/extract.js';

export function extractFiles(view: BackupView, options: ExtractOptions): Promise<ExtractResult> {
  return extractEntries(view, options);
}
