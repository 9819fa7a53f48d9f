import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linuxFamily, usbmuxdAdvice, type UsbmuxdHintContext } from '../../../src/app/doctor-usbmuxd.js';

const base: UsbmuxdHintContext = {
  platform: 'linux',
  osRelease: '',
  installed: false,
  customAddress: false,
  address: '/var/run/usbmuxd',
};

test('Linux family from /etc/os-release ID and ID_LIKE', () => {
  assert.equal(linuxFamily('NAME="Debian GNU/Linux"\nID=debian\n'), 'debian');
  assert.equal(linuxFamily('ID=ubuntu\nID_LIKE=debian\n'), 'debian');
  assert.equal(linuxFamily('ID="linuxmint"\nID_LIKE="ubuntu debian"\n'), 'debian');
  assert.equal(linuxFamily('ID=fedora\n'), 'fedora');
  assert.equal(linuxFamily('ID="rocky"\nID_LIKE="rhel centos fedora"\n'), 'fedora');
  assert.equal(linuxFamily('ID=arch\n'), 'arch');
  assert.equal(linuxFamily('ID=manjaro\nID_LIKE=arch\n'), 'arch');
  assert.equal(linuxFamily('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n'), 'suse');
  assert.equal(linuxFamily(''), 'unknown');
});

test('how to install or start usbmuxd, per OS', () => {
  const install = (osRelease: string): string => usbmuxdAdvice({ ...base, osRelease }).remedy;
  assert.match(install('ID=debian\n'), /sudo apt install usbmuxd/);
  assert.match(install('ID=fedora\n'), /sudo dnf install usbmuxd/);
  assert.match(install('ID=arch\n'), /sudo pacman -S usbmuxd/);
  assert.match(install('ID=debian\n'), /sudo systemctl start usbmuxd/);
  assert.match(install('ID=debian\n'), /sudo usbmuxd -f/);
  assert.match(usbmuxdAdvice({ ...base, osRelease: 'ID=debian\n' }).message, /not installed/);

  const notRunning = usbmuxdAdvice({ ...base, installed: true });
  assert.match(notRunning.message, /installed but not running/);
  assert.doesNotMatch(notRunning.remedy, /apt install/);

  assert.match(usbmuxdAdvice({ ...base, platform: 'darwin' }).message, /built into macOS/);
  assert.match(
    usbmuxdAdvice({ ...base, platform: 'win32', address: '127.0.0.1:27015' }).remedy,
    /Apple Devices app.*iTunes/,
  );
  const custom = usbmuxdAdvice({ ...base, customAddress: true, address: '/tmp/x.sock' });
  assert.match(custom.message, /Nothing answers at \/tmp\/x\.sock/);
});
