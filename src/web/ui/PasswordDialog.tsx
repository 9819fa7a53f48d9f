/**
 * Turning "Encrypt local backup" on (new password twice), off (current password) or changing the
 * password (current, then new twice). The typed passwords live only in this dialog and are
 * cleared as soon as the request that needed them has an answer.
 */
import { useRef, useState } from 'preact/hooks';
import type { EncryptionRequest, EncryptionResponse, ErrorView } from '../api.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView, seg } from './http.js';
import { Advice, StrengthMeter, useStrength } from './Strength.js';
import { PasswordField } from './PasswordField.js';

export type PasswordMode = 'on' | 'off' | 'change';

const TITLES: Record<PasswordMode, string> = {
  on: 'Encrypt local backup',
  off: 'Turn off encryption',
  change: 'Change Password',
};

const INTROS: Record<PasswordMode, string> = {
  on: 'Enter a password to protect your backups. Encrypted backups also keep your saved passwords, Health and Wi-Fi settings. Without this password you cannot restore them.',
  off: 'Enter the backup password to turn off encryption. Later backups are not encrypted.',
  change: 'Enter the current backup password, then the new one twice.',
};

export interface PasswordDialogProps {
  udid: string;
  mode: PasswordMode;
  onClose: () => void;
  onDone: (encryption: boolean) => void;
}

/** The typed passwords, whether they can be sent, and sending them (cleared once answered). */
function usePasswordForm(udid: string, mode: PasswordMode, onDone: (encryption: boolean) => void) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [verify, setVerify] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);
  const wantsNew = mode !== 'off';
  const mismatch = wantsNew && verify !== '' && next !== verify;
  const matches = wantsNew && next !== '' && next === verify;
  const ready = !busy && (mode === 'on' || current !== '') && (!wantsNew || matches);

  const submit = async (): Promise<void> => {
    if (!ready) return;
    const body: EncryptionRequest = { action: mode };
    if (mode !== 'on') body.password = current;
    if (wantsNew) body.newPassword = next;
    setBusy(true);
    setError(null);
    try {
      const r = await api<EncryptionResponse>(`/api/devices/${seg(udid)}/encryption`, body);
      setNext('');
      setVerify('');
      onDone(r.encryption);
    } catch (e) {
      const view = errorView(e);
      setError(view);
      // A wrong current password is typed again; the new one, already typed twice, stays.
      if (view.code !== 'WRONG_PASSWORD') {
        setNext('');
        setVerify('');
      }
      const again = view.code === 'WRONG_PASSWORD' ? currentRef.current : (firstRef.current ?? currentRef.current);
      setTimeout(() => again?.focus(), 0);
    } finally {
      setCurrent('');
      setBusy(false);
    }
  };

  const currentRef = useRef<HTMLInputElement>(null);
  const firstRef = useRef<HTMLInputElement>(null);
  const fields = { current, setCurrent, next, setNext, verify, setVerify, currentRef, firstRef };
  return { ...fields, busy, error, wantsNew, mismatch, matches, ready, submit };
}

type PasswordForm = ReturnType<typeof usePasswordForm>;

/** The new password twice, whether they match, and how strong it is. */
function NewPasswordFields({ mode, form }: { mode: PasswordMode; form: PasswordForm }) {
  const strength = useStrength(form.next);
  const { mismatch, matches, busy } = form;
  return (
    <>
      <PasswordField
        label={mode === 'change' ? 'New password' : 'Password'}
        autocomplete="new-password"
        value={form.next}
        disabled={busy}
        onInput={form.setNext}
        testid="password-new"
        autofocus={mode === 'on'}
        inputRef={form.firstRef}
      />
      <PasswordField
        label="Verify password"
        autocomplete="new-password"
        value={form.verify}
        disabled={busy}
        onInput={form.setVerify}
        testid="password-verify"
        invalid={mismatch}
      />
      <p
        class={mismatch ? 'match bad' : 'match'}
        data-testid="password-match"
        data-match={matches ? 'yes' : mismatch ? 'no' : 'empty'}
        aria-live="polite"
      >
        {mismatch ? 'The passwords do not match.' : matches ? 'The passwords match.' : '\u00a0'}
      </p>
      <StrengthMeter strength={strength} />
      <Advice strength={strength} />
    </>
  );
}

const SUBMIT_LABELS: Record<PasswordMode, string> = {
  on: 'Set Password',
  off: 'Turn Off',
  change: 'Change Password',
};

export function PasswordDialog({ udid, mode, onClose, onDone }: PasswordDialogProps) {
  const form = usePasswordForm(udid, mode, onDone);
  const { busy } = form;
  return (
    <Dialog title={TITLES[mode]} testid="password-dialog" onClose={onClose}>
      <form
        method="dialog"
        class="form"
        data-mode={mode}
        onSubmit={(e) => {
          e.preventDefault();
          void form.submit();
        }}
      >
        <p>{INTROS[mode]}</p>
        {mode !== 'on' ? (
          <PasswordField
            label={mode === 'change' ? 'Old password' : 'Password'}
            autocomplete="current-password"
            value={form.current}
            disabled={busy}
            onInput={form.setCurrent}
            testid="password-current"
            autofocus
            inputRef={form.currentRef}
          />
        ) : null}
        {form.wantsNew ? <NewPasswordFields mode={mode} form={form} /> : null}
        {form.error ? <ErrorBox error={form.error} testid="password-error" /> : null}
        {busy ? (
          <p class="muted small" role="status" data-testid="password-busy">
            The iPhone is {mode === 'on' ? 'setting' : mode === 'off' ? 'removing' : 'changing'} its backup password;
            this takes a few seconds. Keep it connected.
          </p>
        ) : null}
        <div class="buttons">
          <button type="button" onClick={onClose} disabled={busy} data-testid="password-cancel">
            Cancel
          </button>
          <button type="submit" class="primary" disabled={!form.ready} data-testid="password-submit">
            {busy ? 'Working on the iPhone…' : SUBMIT_LABELS[mode]}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
