/**
 * The virtual iPhone's mobilebackup2 session per iOS generation, driven by a minimal DeviceLink
 * host: the DeviceLink version, the passcode prompt (Backup from 16.1, ChangePassword from 13),
 * the silence while an iOS 16.1+ phone prepares its snapshot, a goodbye or a closed socket during
 * a silence, the owner's cancel on the phone, a host's syncCancelRequest (no effect), the iOS 15
 * snapshot left by an interrupted run, and a lock during an iOS 18 backup. Minutes of phone time
 * are compressed by the time scale.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VirtualDevice } from '../../src/emulator/device.js';
import { SYNC_CANCEL } from '../../src/emulator/device-services.js';
import { PROMPT_DISMISSED, PROMPT_PRESENTED } from '../../src/emulator/passcode.js';
import type { DeviceBehaviour } from '../../src/emulator/profile-types.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';
import { waitFor } from '../support/wait.js';
import { answer, msUntilNext, openMb2, serveUntilResponse, type Mb2Session } from '../support/devicelink-host.js';

/** One phone minute is 60 ms: a 60 s preparation takes 0.6 s, a 180 s prompt 1.8 s. */
const SCALE = 0.01;

describe('the virtual iPhone per iOS generation', () => {
  let te: TestEmulator;
  const sessions: Mb2Session[] = [];

  before(async () => {
    te = await startTestEmulator({ devices: 0, timeScale: SCALE });
  });
  after(async () => {
    for (const s of sessions) s.close();
    await te.dispose();
  });

  async function phone(
    productVersion: string,
    behaviour: Partial<DeviceBehaviour> = {},
    passcodeSet = true,
  ): Promise<VirtualDevice> {
    return te.emu.attach({ profile: { extends: 'tiny', identity: { productVersion, passcodeSet }, behaviour } });
  }
  async function open(d: VirtualDevice): Promise<Mb2Session> {
    const s = await openMb2(d);
    sessions.push(s);
    return s;
  }
  function notes(d: VirtualDevice): string[] {
    const posted: string[] = [];
    d.runtime?.bus.on('post', (n) => posted.push(n));
    return posted;
  }
  const backup = (d: VirtualDevice): Record<string, string> => ({ MessageName: 'Backup', TargetIdentifier: d.udid });
  const runsOf = (d: VirtualDevice): number => d.runtime?.runs.size ?? -1;

  test('DeviceLink version: 300 up to iOS 13, 400 from 14; a ping from the host is ignored', async () => {
    for (const [v, major] of [
      ['12.5.7', 300],
      ['13.7', 300],
      ['14.0', 400],
      ['17.5.1', 400],
      ['26.0', 400],
    ] as const) {
      const s = await open(await phone(v));
      assert.equal(s.major, major, v);
    }
    const s = await open(await phone('17.5.1'));
    await s.send({ name: 'DLMessagePing', message: 'Preparing' });
    await s.request({ MessageName: 'Info' });
    const out = await serveUntilResponse(s);
    assert.equal(out.response.ErrorCode, 4, 'the request after the ping is answered');
  });

  test('16.1+: the Backup waits in silence for the passcode, then 208 "Device locked" after 3 phone minutes', async () => {
    const d = await phone('17.5.1', { passcode: { mode: 'never' } });
    const posted = notes(d);
    const s = await open(d);
    const started = Date.now();
    await s.request(backup(d));
    const out = await serveUntilResponse(s);
    const ms = Date.now() - started;
    assert.deepEqual(out.requests, [], 'nothing is sent while the prompt is up');
    assert.equal(out.response.ErrorCode, 208);
    assert.equal(out.response.ErrorDescription, 'Device locked (MBErrorDomain/208)');
    assert.ok(ms >= 1_700 && ms < 4_000, `the prompt timed out after ${ms} ms (180 s × ${SCALE})`);
    assert.deepEqual(posted, [PROMPT_PRESENTED, PROMPT_DISMISSED]);
  });

  test('the passcode is asked for a Backup from 16.1 and for ChangePassword from 13, only when one is set', async () => {
    const asks = async (v: string, request: Record<string, string>, passcodeSet = true): Promise<boolean> => {
      const d = await phone(v, { passcode: { mode: 'enter' }, preparationSeconds: 0 }, passcodeSet);
      const posted = notes(d);
      const s = await open(d);
      await s.request({ ...request, TargetIdentifier: d.udid });
      await serveUntilResponse(s);
      return posted.includes(PROMPT_PRESENTED);
    };
    const change = { MessageName: 'ChangePassword', NewPassword: 'pw' };
    assert.equal(await asks('16.0', { MessageName: 'Backup' }), false);
    assert.equal(await asks('16.1', { MessageName: 'Backup' }), true);
    assert.equal(await asks('12.5.7', change), false);
    assert.equal(await asks('13.0', change), true);
    assert.equal(await asks('16.0', change), true);
    assert.equal(await asks('17.5.1', { MessageName: 'Backup' }, false), false, 'no passcode set: nothing to ask');
  });

  test('16.1+: after the passcode the phone prepares in silence (60 phone seconds); before 16.1 it starts at once', async () => {
    const silence = async (v: string, behaviour: Partial<DeviceBehaviour> = {}): Promise<number> => {
      const d = await phone(v, behaviour);
      const s = await open(d);
      await s.request(backup(d));
      const { ms, msg } = await msUntilNext(s);
      assert.equal(msg.name, 'DLMessageDownloadFiles', 'the first message of the run');
      s.close();
      return ms;
    };
    const prepared = await silence('17.5.1');
    assert.ok(prepared >= 550, `17.5.1: ${prepared} ms (60 s × ${SCALE})`);
    assert.ok((await silence('16.0')) < 400, '16.0 starts at once');
    assert.ok((await silence('18.0', { preparationSeconds: 0 })) < 400, 'a profile can set the preparation');
    assert.ok(
      (await silence('16.0', { preparationSeconds: 120 })) >= 1_150,
      'a profile can set the preparation before 16.1 too',
    );
  });

  test('a goodbye during the preparation or a closed socket during the prompt ends the run at once', async () => {
    const d = await phone('17.5.1', { preparationSeconds: 3_600 });
    const s = await open(d);
    await s.request(backup(d));
    await waitFor(() => runsOf(d) === 1, 2_000, 'the run to start');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await s.send({ name: 'DLMessageDisconnect', reason: '___EmptyParameterString___' });
    await waitFor(() => runsOf(d) === 0, 1_000, 'the run to end after the goodbye');
    assert.ok(Date.now() - t0 < 1_000);

    const e = await phone('17.5.1', { passcode: { mode: 'never' }, passcodeTimeoutSeconds: 3_600 });
    const posted = notes(e);
    const s2 = await open(e);
    await s2.request(backup(e));
    await waitFor(() => posted.includes(PROMPT_PRESENTED), 2_000, 'the prompt');
    s2.close();
    await waitFor(() => runsOf(e) === 0, 1_000, 'the run to end after the socket closed');
    assert.deepEqual(posted, [PROMPT_PRESENTED, PROMPT_DISMISSED]);
  });

  test('a syncCancelRequest posted by a host changes nothing; a cancel on the phone posts it and ends with 202', async () => {
    const d = await phone('17.5.1', { preparationSeconds: 30 });
    const posted = notes(d);
    const s = await open(d);
    await s.request(backup(d));
    await waitFor(() => runsOf(d) === 1, 2_000, 'the run to start');
    d.runtime?.bus.post(SYNC_CANCEL);
    const first = await msUntilNext(s);
    assert.equal(first.msg.name, 'DLMessageDownloadFiles', 'the run went on');
    assert.equal(runsOf(d), 1);
    await answer(s, first.msg);

    let cancelled = false;
    const out = await serveUntilResponse(s, async (_name, i) => {
      if (i === 1 && !cancelled) {
        cancelled = true;
        assert.deepEqual(await te.emu.control({ Action: 'cancel', UDID: d.udid }), { device: d.udid, cancelled: 1 });
      }
    });
    assert.ok(cancelled);
    assert.equal(out.response.ErrorCode, 202);
    assert.equal(out.response.ErrorDescription, 'Backup cancelled (MBErrorDomain/202)');
    assert.deepEqual(
      posted.filter((n) => n === SYNC_CANCEL),
      [SYNC_CANCEL, SYNC_CANCEL],
      "the host's post, then the phone's",
    );

    // During the silence the owner's cancel ends the request too.
    await s.request(backup(d));
    await waitFor(() => runsOf(d) === 1, 2_000, 'the second run');
    await te.emu.control({ Action: 'cancel', UDID: d.udid });
    const quiet = await serveUntilResponse(s);
    assert.deepEqual(quiet.requests, []);
    assert.equal(quiet.response.ErrorCode, 202);
  });

  test('iOS 15: after a run the host walked away from, Backup fails with error 3 until the phone restarts', async () => {
    const interrupt = async (d: VirtualDevice): Promise<void> => {
      const s = await open(d);
      await s.request(backup(d));
      await serveUntilResponse(s, (_name, i) => {
        if (i === 2) s.close();
      }).catch(() => undefined);
      await waitFor(() => runsOf(d) === 0, 2_000, 'the interrupted run to end');
    };
    const runOnce = async (d: VirtualDevice): Promise<{ code: unknown; description: unknown; requests: number }> => {
      const s = await open(d);
      await s.request(backup(d));
      const out = await serveUntilResponse(s);
      s.close();
      return {
        code: out.response.ErrorCode,
        description: out.response.ErrorDescription,
        requests: out.requests.length,
      };
    };
    const d = await phone('15.2');
    await interrupt(d);
    const failed = await runOnce(d);
    assert.deepEqual(failed, {
      code: 3,
      description: 'Failed to create snapshot: File exists (17) at path "/private/var" (MBErrorDomain/3)',
      requests: 0,
    });
    assert.equal((await runOnce(d)).code, 3, 'still, until a restart');
    await te.emu.control({ Action: 'restart', UDID: d.udid });
    const again = te.emu.find(d.udid);
    assert.notEqual(again, d, 'plugged in again');
    assert.equal((await runOnce(again)).code, 0, 'after the restart the backup completes');

    const later = await phone('17.5.1', { preparationSeconds: 0 });
    await interrupt(later);
    assert.equal((await runOnce(later)).code, 0, 'iOS 17 keeps no snapshot of an interrupted run');
  });

  test('iOS 18 (and, without evidence of otherwise, 17): the backup goes on after the phone locks', async () => {
    for (const v of ['18.0', '17.5.1']) {
      const d = await phone(v, { preparationSeconds: 0 });
      const s = await open(d);
      await s.request(backup(d));
      let locked = false;
      const out = await serveUntilResponse(s, async (_name, i) => {
        if (i === 1) {
          await te.emu.control({ Action: 'lock', UDID: d.udid });
          locked = d.locked;
        }
      });
      assert.ok(locked, v);
      assert.equal(out.response.ErrorCode, 0, `${v}: ${String(out.response.ErrorDescription)}`);
      await te.emu.control({ Action: 'unlock', UDID: d.udid });
      assert.equal(d.locked, false);
    }
  });
});
