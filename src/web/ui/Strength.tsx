/** How strong a new password is, asked of the server a moment after typing stops. */
import { useEffect, useState } from 'preact/hooks';
import type { StrengthResponse } from '../api.js';
import { api } from './http.js';

const DEBOUNCE_MS = 300;

/** The server's verdict on `password` (null while empty or not answered yet). */
export function useStrength(password: string): StrengthResponse | null {
  const [result, setResult] = useState<StrengthResponse | null>(null);
  useEffect(() => {
    if (password === '') {
      setResult(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      api<StrengthResponse>('/api/password-strength', { password })
        .then((r) => current && setResult(r))
        .catch(() => current && setResult(null));
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [password]);
  return result;
}

export function StrengthMeter({ strength }: { strength: StrengthResponse | null }) {
  if (!strength) return null;
  const score = Math.max(0, Math.min(4, Math.round(strength.score)));
  return (
    <div class="strength" data-testid="password-strength" data-score={score}>
      <div class="strength-row">
        <div
          class={`meter score-${score}`}
          role="meter"
          aria-label="Password strength"
          aria-valuemin={0}
          aria-valuemax={4}
          aria-valuenow={score}
          aria-valuetext={strength.label}
        >
          <div class="meter-fill" style={{ width: `${(score + 1) * 20}%` }} />
        </div>
        <span class="strength-label">{strength.label}</span>
      </div>
      {strength.suggestions.length > 0 ? (
        <ul class="suggestions">
          {strength.suggestions.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** The seed's advice on choosing and keeping the password (shown once it is known). */
export function Advice({ strength }: { strength: StrengthResponse | null }) {
  if (!strength || strength.advice === '') return null;
  return (
    <p class="advice" data-testid="password-advice">
      {strength.advice}
    </p>
  );
}
