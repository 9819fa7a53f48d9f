/** A labelled password input (never echoed, never kept beyond the form that owns its value). */
import type { Ref } from 'preact';

export interface PasswordFieldProps {
  label: string;
  value: string;
  onInput: (value: string) => void;
  testid: string;
  /** 'current-password' for an existing password, 'new-password' for one being chosen. */
  autocomplete: 'current-password' | 'new-password';
  disabled?: boolean;
  autofocus?: boolean;
  /** Marked invalid for assistive technology (a confirmation that does not match). */
  invalid?: boolean;
  /** To give the field focus again (after a refused password). */
  inputRef?: Ref<HTMLInputElement>;
}

export function PasswordField(p: PasswordFieldProps) {
  return (
    <label>
      {p.label}
      <input
        type="password"
        autocomplete={p.autocomplete}
        value={p.value}
        disabled={p.disabled}
        onInput={(e) => p.onInput(e.currentTarget.value)}
        data-testid={p.testid}
        autofocus={p.autofocus}
        aria-invalid={p.invalid}
        ref={p.inputRef}
      />
    </label>
  );
}
