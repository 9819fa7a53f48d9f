/** Asks for one password for one request (verify an encrypted backup…), then forgets it. */
import { useState } from 'preact/hooks';
import { Dialog } from './Dialog.js';
import { PasswordField } from './PasswordField.js';

export interface PasswordPromptProps {
  title: string;
  text: string;
  action: string;
  onSubmit: (password: string) => void;
  onClose: () => void;
}

export function PasswordPrompt({ title, text, action, onSubmit, onClose }: PasswordPromptProps) {
  const [password, setPassword] = useState('');
  return (
    <Dialog title={title} testid="password-prompt" onClose={onClose}>
      <form
        method="dialog"
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (password === '') return;
          const p = password;
          setPassword('');
          onSubmit(p);
        }}
      >
        <p>{text}</p>
        <PasswordField
          label="Backup password"
          autocomplete="current-password"
          value={password}
          onInput={setPassword}
          testid="prompt-password"
          autofocus
        />
        <div class="buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={password === ''} data-testid="prompt-submit">
            {action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
