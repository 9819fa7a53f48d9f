/**
 * A desktop notification where the system offers one, never required: `notify-send` (libnotify)
 * on Linux, `osascript`'s "display notification" on macOS, a toast through PowerShell's WinRT
 * ToastNotificationManager on Windows. Title and text travel as arguments or environment values,
 * never spliced into a script. A missing tool, no desktop session or any failure is ignored.
 */
import { spawn } from 'node:child_process';

export interface NotifyCommand {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/** Windows: builds the toast from the environment values, so no text is ever parsed as code. */
const WINDOWS_TOAST = [
  '[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime] | Out-Null',
  '$t = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)',
  '$n = $t.GetElementsByTagName("text")',
  '$n.Item(0).AppendChild($t.CreateTextNode($env:IBACKUP_NOTE_TITLE)) | Out-Null',
  '$n.Item(1).AppendChild($t.CreateTextNode($env:IBACKUP_NOTE_TEXT)) | Out-Null',
  '$toast = [Windows.UI.Notifications.ToastNotification]::new($t)',
  '[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier("ibackup").Show($toast)',
].join('; ');

/** The command that shows a notification on `platform`, or null where there is none. */
export function notifyCommand(platform: NodeJS.Platform, title: string, text: string): NotifyCommand | null {
  switch (platform) {
    case 'linux':
    case 'freebsd':
    case 'openbsd':
      return { cmd: 'notify-send', args: ['--app-name=ibackup', '--', title, text] };
    case 'darwin':
      return {
        cmd: 'osascript',
        args: [
          '-e',
          'on run argv',
          '-e',
          'display notification (item 2 of argv) with title (item 1 of argv)',
          '-e',
          'end run',
          title,
          text,
        ],
      };
    case 'win32':
      return {
        cmd: 'powershell.exe',
        args: ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_TOAST],
        env: { IBACKUP_NOTE_TITLE: title, IBACKUP_NOTE_TEXT: text },
      };
    default:
      return null;
  }
}

/** Shows the notification in the background; whatever happens, nothing is thrown or waited for. */
export function notify(title: string, text: string, platform: NodeJS.Platform = process.platform): void {
  const c = notifyCommand(platform, title.slice(0, 200), text.slice(0, 1000));
  if (c === null) return;
  try {
    const child = spawn(c.cmd, c.args, {
      stdio: 'ignore',
      detached: false,
      windowsHide: true,
      env: { ...process.env, ...(c.env ?? {}) },
    });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No notifier on this system: notifications are optional.
  }
}
