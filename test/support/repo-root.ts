import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (for running the CLI from its sources). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
