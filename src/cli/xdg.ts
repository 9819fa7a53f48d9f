/** The XDG base folders the virtual iPhone commands keep their data and state in (Linux defaults elsewhere too). */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_DATA_HOME`, else `~/.local/share`. */
export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_DATA_HOME && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
}

/** `$XDG_STATE_HOME`, else `~/.local/state`. */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_STATE_HOME && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
}
