/** Numeric benchmark settings from `--name N` on the command line or an environment variable. */

/**
 * The number given as `name` (argv) or `envName`, or undefined when neither is set. Negative
 * numbers are refused; zero only when `allowZero`.
 */
export function numberOption(name: string, envName: string, opts: { allowZero?: boolean } = {}): number | undefined {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[envName];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  const ok = Number.isFinite(n) && (opts.allowZero ? n >= 0 : n > 0);
  if (!ok) throw new Error(`${name} wants a ${opts.allowZero ? '' : 'positive '}number, got "${raw}"`);
  return n;
}
