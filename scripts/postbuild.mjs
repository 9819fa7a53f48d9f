// Makes the built CLI executable (npm also does this when it links "bin").
import { chmodSync, existsSync } from 'node:fs';
const bin = 'dist/cli/main.js';
if (existsSync(bin)) chmodSync(bin, 0o755);
