/**
 * How strong a backup password is (zxcvbn): the seed asks for a strong password kept in a
 * password manager, so ibackup tells the user how theirs rates before it is set.
 */
import { zxcvbn, zxcvbnOptions } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

let configured = false;

export interface Strength {
  /** 0 (very weak) … 4 (very strong). */
  score: 0 | 1 | 2 | 3 | 4;
  label: 'very weak' | 'weak' | 'fair' | 'strong' | 'very strong';
  /** Advice from the checker, in English. */
  suggestions: string[];
  warning: string | null;
}

const LABELS = ['very weak', 'weak', 'fair', 'strong', 'very strong'] as const;

export const PASSWORD_ADVICE =
  'Choose a long password you do not use anywhere else (a few unrelated words work well) and keep it in a password manager: ' +
  'without it an encrypted backup cannot be restored or opened, and Apple cannot recover it.';

export function passwordStrength(password: string): Strength {
  if (!configured) {
    zxcvbnOptions.setOptions({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
    configured = true;
  }
  const r = zxcvbn(password);
  const score = r.score as Strength['score'];
  return { score, label: LABELS[score], suggestions: r.feedback.suggestions, warning: r.feedback.warning || null };
}
