/** A desktop notification (optional: nothing happens where the system offers none). */
import { notify } from '../host/notify.js';

export function notifyDesktop(title: string, text: string): void {
  notify(title, text);
}
