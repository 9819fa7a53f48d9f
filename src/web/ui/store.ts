/**
 * What the page knows, kept current by the server's events: the devices, the jobs (backup,
 * restore, trust) and the backups. One reducer; `useServerState` opens the event stream.
 */
import { useEffect, useReducer } from 'preact/hooks';
import type {
  BackupView,
  BackupsResponse,
  DeviceView,
  DevicesResponse,
  ErrorView,
  JobView,
  ServerEvent,
} from '../api.js';
import { api, errorView } from './http.js';

/** The event stream: open, reconnecting after a drop, or given up (the server refused it). */
export type Connection = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface UiState {
  loaded: boolean;
  devices: DeviceView[];
  problem: ErrorView | null;
  backupDir: string | null;
  backups: BackupView[] | null;
  /** Every job seen, by id. */
  jobs: Record<string, JobView>;
  connection: Connection;
  /** Why the first load failed (no token, server gone). */
  loadError: ErrorView | null;
}

export type Action =
  | { type: 'devices'; devices: DeviceView[]; problem: ErrorView | null; backupDir?: string }
  | { type: 'job'; job: JobView }
  | { type: 'backups'; backups: BackupView[]; backupDir?: string }
  | { type: 'encryption'; udid: string; encryption: boolean }
  | { type: 'connection'; connection: Connection }
  | { type: 'loadError'; error: ErrorView };

export const initialState: UiState = {
  loaded: false,
  devices: [],
  problem: null,
  backupDir: null,
  backups: null,
  jobs: {},
  connection: 'connecting',
  loadError: null,
};

/** A job's newer view; a finished job never goes back to running. */
function mergeJob(jobs: Record<string, JobView>, job: JobView): Record<string, JobView> {
  const old = jobs[job.id];
  if (old && old.state !== 'running' && job.state === 'running') return jobs;
  return { ...jobs, [job.id]: job };
}

export function reduce(state: UiState, action: Action): UiState {
  switch (action.type) {
    case 'devices': {
      let jobs = state.jobs;
      for (const d of action.devices) if (d.job) jobs = mergeJob(jobs, d.job);
      return {
        ...state,
        loaded: true,
        loadError: null,
        devices: action.devices,
        problem: action.problem,
        backupDir: action.backupDir ?? state.backupDir,
        jobs,
      };
    }
    case 'job':
      return { ...state, jobs: mergeJob(state.jobs, action.job) };
    case 'backups':
      return { ...state, backups: action.backups, backupDir: action.backupDir ?? state.backupDir };
    case 'encryption':
      return {
        ...state,
        devices: state.devices.map((d) => (d.udid === action.udid ? { ...d, encryption: action.encryption } : d)),
      };
    case 'connection':
      return { ...state, connection: action.connection };
    case 'loadError':
      return { ...state, loadError: action.error };
  }
}

/** The newest job of one of `kinds` on a device. */
export function latestJob(state: UiState, udid: string, kinds: readonly JobView['kind'][]): JobView | null {
  let best: JobView | null = null;
  for (const j of Object.values(state.jobs)) {
    if (j.udid !== udid || !kinds.includes(j.kind)) continue;
    if (!best || j.startedAt > best.startedAt || (j.startedAt === best.startedAt && j.state === 'running')) best = j;
  }
  return best;
}

function parseEvent(data: string): ServerEvent | null {
  try {
    const v = JSON.parse(data) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string')
      return v as ServerEvent;
  } catch {
    // a malformed event is ignored; the next snapshot corrects the page
  }
  return null;
}

function toAction(e: ServerEvent): Action | null {
  switch (e.type) {
    case 'devices':
      return Array.isArray(e.devices) ? { type: 'devices', devices: e.devices, problem: e.problem ?? null } : null;
    case 'job':
      return e.job ? { type: 'job', job: e.job } : null;
    case 'backups':
      return Array.isArray(e.backups) ? { type: 'backups', backups: e.backups } : null;
    default:
      return null;
  }
}

/** Loads the devices and backups, then follows the server's events. */
export function useServerState(): [UiState, (a: Action) => void] {
  const [state, dispatch] = useReducer(reduce, initialState);
  useEffect(() => {
    let stopped = false;
    api<DevicesResponse>('/api/devices')
      .then(
        (r) =>
          !stopped && dispatch({ type: 'devices', devices: r.devices, problem: r.problem, backupDir: r.backupDir }),
      )
      .catch((e: unknown) => !stopped && dispatch({ type: 'loadError', error: errorView(e) }));
    api<BackupsResponse>('/api/backups')
      .then((r) => !stopped && dispatch({ type: 'backups', backups: r.backups, backupDir: r.backupDir }))
      .catch(() => undefined);
    const es = new EventSource('/api/events');
    const onEvent = (m: MessageEvent<string>): void => {
      const e = parseEvent(m.data);
      const a = e && toAction(e);
      if (a) dispatch(a);
    };
    for (const name of ['devices', 'job', 'backups']) es.addEventListener(name, onEvent as EventListener);
    es.onmessage = onEvent;
    es.onopen = () => dispatch({ type: 'connection', connection: 'open' });
    es.onerror = () =>
      dispatch({ type: 'connection', connection: es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting' });
    return () => {
      stopped = true;
      es.close();
    };
  }, []);
  return [state, dispatch];
}
