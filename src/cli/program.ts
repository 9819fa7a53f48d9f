/** The command tree: global options from CLI.md and one module per command group. */
import { Command, CommanderError } from 'commander';
import { IbackupError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerDevices } from './devices.js';
import { registerDoctor } from './doctor.js';
import { registerEmulator } from './emulator.js';
import { registerBackup } from './backup.js';
import { registerEncryption } from './encryption.js';
import { registerRestore } from './restore.js';
import { registerList } from './list.js';
import { registerManage } from './manage.js';
import { registerDemo } from './demo.js';
import { registerInfo } from './info.js';
import { registerPair } from './pair.js';
import { registerVerify } from './verify.js';
import { registerFiles } from './files.js';
import { registerPassword } from './password.js';
import { registerExport } from './export.js';
import { registerPhotos } from './photos.js';
import { registerUi } from './ui.js';
import { registerAuto } from './auto.js';
import { registerWatch } from './watch.js';
import { registerWifi } from './wifi.js';
import { registerService } from './service.js';
import { registerHistory } from './history.js';

export function buildProgram(): Command {
  const program = new Command('ibackup')
    .description("Back up an iPhone to this computer in Apple's own format, like Finder and iTunes.")
    .version(VERSION, '-V, --version', 'print the version')
    .option('-u, --udid <udid>', 'the device to use: its UDID or its name')
    .option(
      '--usbmuxd <addr>',
      'usbmuxd address (UNIX:/path or host:port); else USBMUXD_SOCKET_ADDRESS, else the platform default',
    )
    .option('--backup-dir <dir>', 'backup folder; else IBACKUP_BACKUP_DIR, else the OS default')
    .option('--json', 'print one JSON document (progress goes to stderr as NDJSON)')
    .option('-q, --quiet', 'print less')
    .showHelpAfterError()
    .exitOverride((err: CommanderError) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exit(0);
      }
      throw new IbackupError('USAGE', { message: err.message.replace(/^error: /, ''), cause: err });
    })
    .configureOutput({
      // commander prints its own usage errors; we print ours through reportError.
      writeErr: (s) => {
        if (!s.startsWith('error:')) process.stderr.write(s);
      },
    });
  registerDevices(program);
  registerPair(program);
  registerInfo(program);
  registerDoctor(program);
  registerBackup(program);
  registerEncryption(program);
  registerRestore(program);
  registerList(program);
  registerManage(program);
  registerHistory(program);
  registerVerify(program);
  registerFiles(program);
  registerPassword(program);
  registerExport(program);
  registerPhotos(program);
  registerWatch(program);
  registerAuto(program);
  registerWifi(program);
  registerService(program);
  registerUi(program);
  registerDemo(program);
  registerEmulator(program);
  return program;
}
