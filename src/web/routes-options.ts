/**
 * The Options of the device page, like Finder's General tab: "Back up automatically when this
 * iPhone is connected" (the setting `watch` uses) and "Show this iPhone when on Wi-Fi" (asked of
 * the phone), with when the next automatic backup happens and what a running watch is doing.
 */
import type { Hono } from 'hono';
import { autoStatus, openAutoPolicy, setAuto } from '../app/auto.js';
import { watchStatus } from '../app/watch-service.js';
import { setWifi, wifiStatus } from '../app/wifi.js';
import type { OptionsView, WatchQueueView } from './api-options.js';
import { onlyFields, optionalBoolean, readJson } from './body.js';
import type { Deps } from './deps.js';
import { badField } from './http-errors.js';
import { ready } from './routes-devices.js';

const UDID = /^[A-Za-z0-9-]{1,100}$/;

function udidParam(raw: string): string {
  if (!UDID.test(raw)) throw badField('udid', 'is not a device identifier');
  return raw;
}

/** The phone's Wi-Fi setting, or null when it cannot be asked now (untrusted, busy, gone). */
async function wifiOf(deps: Deps, udid: string): Promise<boolean | null> {
  try {
    ready(deps, udid);
    return (await wifiStatus(deps.monitor.device(udid))).wifi;
  } catch {
    return null;
  }
}

async function optionsOf(deps: Deps, udid: string, wifi?: boolean | null): Promise<OptionsView> {
  const s = await autoStatus(openAutoPolicy(), deps.roots, deps.monitor.entry(udid).udid);
  return {
    udid: s.udid,
    auto: s.auto,
    every: s.every,
    lastBackup: s.lastBackup,
    nextBackupAfter: s.nextBackupAfter,
    wifi: wifi === undefined ? await wifiOf(deps, udid) : wifi,
    watching: (await watchStatus()) !== null,
  };
}

export function registerOptionRoutes(app: Hono, deps: Deps): void {
  app.get('/api/devices/:udid/options', async (c) => c.json(await optionsOf(deps, udidParam(c.req.param('udid')))));

  app.post('/api/devices/:udid/options', async (c) => {
    const udid = udidParam(c.req.param('udid'));
    const body = await readJson(c.req.raw);
    onlyFields(body, ['auto', 'wifi']);
    const auto = optionalBoolean(body, 'auto');
    const wifi = optionalBoolean(body, 'wifi');
    const entry = deps.monitor.entry(udid);
    if (auto !== undefined) await setAuto(openAutoPolicy(), deps.roots, entry.udid, auto);
    let wifiNow: boolean | undefined;
    if (wifi !== undefined) {
      ready(deps, udid);
      wifiNow = (await setWifi(deps.monitor.device(udid), wifi)).wifi;
    }
    return c.json(await optionsOf(deps, udid, wifiNow));
  });

  app.get('/api/watch', async (c) => {
    const s = await watchStatus();
    const view: WatchQueueView = {
      watching: s !== null,
      parallel: s?.parallel ?? 0,
      running: s?.running ?? [],
      queued: s?.queued ?? [],
    };
    return c.json(view);
  });
}
