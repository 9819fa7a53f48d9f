/** What Verify found: no problems (with the file count), or the problems, the first 20. */
import type { VerifyResponse } from '../api.js';

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
            <li key={i}>
              {p.message}
              {p.path ? ` (${p.path})` : ''}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
