import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IbackupError } from '../../../src/errors.js';
import { errorView, forThePage } from '../../../src/web/http-errors.js';

test('remedies written for the command line read right on the page', () => {
  assert.equal(
    forThePage('Unlock the iPhone, run "ibackup pair" again and tap "Trust".'),
    'Unlock the iPhone, press Trust again and tap "Trust".',
  );
  assert.equal(
    forThePage('Run "ibackup pair", unlock the iPhone and tap "Trust".'),
    'Press Trust, unlock the iPhone and tap "Trust".',
  );
  assert.equal(
    forThePage('Free 2 GB on that disk, or choose another folder with --backup-dir.'),
    'Free 2 GB on that disk, or choose another folder with Change… beside the backup folder on the device page.',
  );
  assert.equal(forThePage('Reconnect the iPhone.'), 'Reconnect the iPhone.');
  const disk = errorView(
    new IbackupError('DISK_FULL', {
      message: 'full',
      remedy: 'Free some space or choose another folder with --backup-dir, then try again.',
    }),
  );
  assert.deepEqual(disk, {
    code: 'DISK_FULL',
    message: 'full',
    remedy:
      'Free some space or choose another folder with Change… beside the backup folder on the device page, then try again.',
  });
  assert.equal(errorView(new Error('secret detail')).code, 'INTERNAL');
  assert.ok(!JSON.stringify(errorView(new Error('secret detail'))).includes('secret'));
});
