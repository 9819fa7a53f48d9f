/** A problem as the page shows it: what happened, then what to do about it. */
import type { ErrorView } from '../api.js';

export function ErrorBox({ error, testid = 'error' }: { error: ErrorView; testid?: string }) {
  return (
    <div class="error" role="alert" data-testid={testid} data-code={error.code}>
      <p class="error-message">{error.message}</p>
      {error.remedy ? <p class="error-remedy">{error.remedy}</p> : null}
    </div>
  );
}
