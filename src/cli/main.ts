#!/usr/bin/env node
/**
 * The `ibackup` command. Parses arguments, runs one command, prints its result (human text or
 * --json) and turns every error into its message and remedy with the right exit code.
 */
import { buildProgram } from './program.js';
import { reportError } from './output.js';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err, program.opts<{ json?: boolean }>().json === true);
}
