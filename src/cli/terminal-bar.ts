/** The progress bar both progress renderers draw on a terminal (stderr), in one look. */
import cliProgress from 'cli-progress';

/** A 30-character bar on stderr with `format` after it (cli-progress placeholders), the cursor hidden while it runs. */
export function terminalBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
}
