/**
 * What Verify found: no problems (with the file count), or the problems in plain words (the first
 * 20, the technical detail kept for a support request) and what to do next.
 */
import type { VerifyResponse } from '../api.js';

type Problem = VerifyResponse['problems'][number];

/** Problems a person can act on, in their words; the rest keep the checker's message. */
const PLAIN: Record<string, string> = {
  SNAPSHOT_NOT_FINISHED: 'This backup did not finish: it was interrupted or cancelled before the iPhone completed it.',
  STATUS_PLIST_MISSING: 'This backup did not finish: the record of its state is missing.',
  MANIFEST_DB_MISSING: 'This backup did not finish: its list of files is missing.',
};

function nextStep(problems: readonly Problem[]): string {
  if (problems.some((p) => p.code in PLAIN))
    return 'Back up the iPhone again to make a complete backup. This one cannot be restored; delete it once the new backup is done.';
  return 'Back up the iPhone again: a new backup replaces the damaged files. Archive this one first if you want to keep it as it is.';
}

export function VerifyResult({ result }: { result: VerifyResponse }) {
  const files = result.counts.files ?? result.counts.checked ?? null;
  return (
    <div
      class={result.ok ? 'verify ok' : 'verify bad'}
      data-testid="verify-result"
      data-ok={result.ok ? 'yes' : 'no'}
      role="status"
    >
      <p>
        {result.ok
          ? `Verified: no problems found${files === null ? '' : ` (${files} files)`}.`
          : `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} found:`}
      </p>
      {result.problems.length > 0 ? (
        <ul>
          {result.problems.slice(0, 20).map((p, i) => (
            <li key={i} title={p.message}>
              {PLAIN[p.code] ?? `${p.message}${p.path ? ` (${p.path})` : ''}`}
            </li>
          ))}
        </ul>
      ) : null}
      {result.ok ? null : (
        <p class="next-step" data-testid="verify-next-step">
          {nextStep(result.problems)}
        </p>
      )}
    </div>
  );
}
