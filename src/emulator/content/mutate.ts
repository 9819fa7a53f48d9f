/**
 * Changes between backups, as a phone's owner would make them: new files, edited files, deleted
 * files, new photos, received messages. Every choice comes from the seed and the mutation's
 * position in the journal, so replaying the journal rebuilds the same content.
 */
import { addRecord } from './camera.js';
import { FILES_GROUP, PHOTOS_DB, PHOTOS_WAL, SMS_DB } from './domains.js';
import { makeDirectory, makeFile, parentsOf, withChanges, type ContentState } from './entries.js';
import { entryKey, type DeviceEntry, type EntryRef, type MutationAction, type MutationSummary } from './model.js';
import { takenRecord } from './photo-library.js';
import { photoPlan } from './photos.js';
import { rngFor, type Rng } from './random.js';
import { newPersonalFiles } from './personal-files.js';

/** Seconds the device's clock advances before each mutation. */
export const MUTATION_STEP = 3600;

const ref = (e: EntryRef): EntryRef => ({ domain: e.domain, relativePath: e.relativePath });

/** Creates the missing parent directories of a path; returns the ones created. */
export function ensureParents(st: ContentState, domain: string, relativePath: string): DeviceEntry[] {
  const made: DeviceEntry[] = [];
  for (const p of parentsOf(relativePath)) {
    if (st.catalogue.get(domain, p) !== undefined) continue;
    const dir = makeDirectory(st, domain, p, { birth: st.clock, mtime: st.clock });
    st.catalogue.put(dir);
    made.push(dir);
  }
  return made;
}

/** Drops everything kept for an entry besides the catalogue row. */
export function forget(st: ContentState, domain: string, relativePath: string): void {
  const key = entryKey(domain, relativePath);
  st.blobs.delete(key);
  st.builders.delete(key);
  st.overrideIds.delete(key);
}

/** Builds a blob file's next version; returns its entry, or undefined when it is gone. */
function rebuildBlob(st: ContentState, target: EntryRef): DeviceEntry | undefined {
  const e = st.catalogue.get(target.domain, target.relativePath);
  const builder = st.builders.get(entryKey(target.domain, target.relativePath));
  if (e === undefined || builder === undefined || e.source !== 'blob') return undefined;
  const version = e.version + 1;
  const bytes = builder.build(version);
  st.blobs.set(entryKey(e.domain, e.relativePath), bytes);
  const next = withChanges(e, { version, size: bytes.length, mtime: st.clock, ctime: st.clock });
  st.catalogue.put(next);
  return next;
}

function isChangeable(st: ContentState, e: DeviceEntry, forDelete: boolean): boolean {
  if (e.kind !== 'file' || e.encryptedOnly) return false;
  if (e.source === 'noise' || e.source === 'photo') return true;
  if (e.source === 'blob') return st.builders.get(entryKey(e.domain, e.relativePath))?.modifiable === true;
  return e.source === 'override' && forDelete;
}

/** Up to `n` distinct changeable files, picked at random. */
function pickFiles(st: ContentState, rng: Rng, n: number, forDelete: boolean): DeviceEntry[] {
  const chosen = new Map<string, DeviceEntry>();
  const total = st.catalogue.size;
  for (let tries = 0; chosen.size < n && tries < n * 50 + 1000 && total > 0; tries++) {
    const e = st.catalogue.at(rng.int(0, total - 1));
    if (e !== undefined && isChangeable(st, e, forDelete)) chosen.set(entryKey(e.domain, e.relativePath), e);
  }
  if (chosen.size < n) {
    for (const e of st.catalogue) {
      if (chosen.size >= n) break;
      if (isChangeable(st, e, forDelete)) chosen.set(entryKey(e.domain, e.relativePath), e);
    }
  }
  return [...chosen.values()];
}

const PLACES: readonly [string, string, (k: number) => string][] = [
  [FILES_GROUP, 'File Provider Storage', (k) => `Scan ${k}.pdf`],
  ['AppDomain-com.apple.mobilesafari', 'Documents', (k) => `Download ${k}.pdf`],
  ['MediaDomain', 'Media/Recordings', (k) => `New Recording ${k}.m4a`],
  ['AppDomain-net.whatsapp.WhatsApp', 'Documents', (k) => `Export ${k}.dat`],
];

function addFiles(st: ContentState, rng: Rng, n: number, out: MutationSummary): void {
  for (let i = 0; i < n; i++) {
    const k = ++st.addedFiles;
    const [domain, dir, name] = rng.pick(PLACES);
    const relativePath = `${dir}/${name(k)}`;
    ensureParents(st, domain, relativePath);
    const size = Math.min(20 << 20, Math.round(200_000 * Math.exp(1.2 * rng.normal())));
    st.catalogue.put(makeFile(st, domain, relativePath, { size, source: 'noise', birth: st.clock, mtime: st.clock }));
    out.added.push({ domain, relativePath });
  }
}

function modifyFiles(st: ContentState, rng: Rng, n: number, out: MutationSummary): boolean {
  let photosChanged = false;
  for (const e of pickFiles(st, rng, n, false)) {
    if (e.source === 'blob') {
      if (rebuildBlob(st, e) !== undefined) out.modified.push(ref(e));
      continue;
    }
    const version = e.version + 1;
    let size = e.size;
    if (e.source === 'photo') {
      size = photoPlan(st.seed, e.domain, e.relativePath, version, st.maxSide).size;
      photosChanged = true;
    } else if (e.size < 1 << 30 && rng.chance(0.5)) {
      size = Math.round(e.size * (0.8 + 0.5 * rng.float()));
    }
    st.catalogue.put(withChanges(e, { version, size, mtime: st.clock, ctime: st.clock }));
    out.modified.push(ref(e));
  }
  return photosChanged;
}

function deleteFiles(st: ContentState, rng: Rng, n: number, out: MutationSummary): boolean {
  let photosChanged = false;
  for (const e of pickFiles(st, rng, n, true)) {
    st.catalogue.remove(e.domain, e.relativePath);
    forget(st, e.domain, e.relativePath);
    if (e.domain === 'CameraRollDomain' && e.relativePath.startsWith('Media/DCIM/')) photosChanged = true;
    out.deleted.push(ref(e));
  }
  return photosChanged;
}

/**
 * Renames files the owner made (Files, downloads, recordings): same size and modification time
 * under a new name in the same folder. A backup sees a removal and an addition (the Manifest
 * keys a file by its domain and path).
 */
function renameFiles(st: ContentState, rng: Rng, n: number, out: MutationSummary): void {
  // Not the camera roll: its files are renamed only by the Photos app, with its library.
  const owned = pickFiles(st, rng, n * 4, true).filter((e) => e.source === 'noise' && e.domain !== 'CameraRollDomain');
  for (const e of owned.slice(0, n)) {
    const slash = e.relativePath.lastIndexOf('/');
    const relativePath = `${e.relativePath.slice(0, slash + 1)}Renamed ${++st.addedFiles} ${e.relativePath.slice(slash + 1)}`;
    st.catalogue.remove(e.domain, e.relativePath);
    forget(st, e.domain, e.relativePath);
    st.catalogue.put(withChanges(e, { relativePath, ctime: st.clock }));
    out.deleted.push(ref(e));
    out.added.push({ domain: e.domain, relativePath });
  }
}

function takePhotos(st: ContentState, n: number, out: MutationSummary): void {
  for (let i = 0; i < n; i++) {
    for (const file of addRecord(st, takenRecord(st.nextPhoto++, st.clock - (n - i) * 60))) {
      ensureParents(st, file.domain, file.relativePath);
      st.catalogue.put(file);
      out.added.push(ref(file));
    }
  }
}

/** Applies one mutation; `index` is its position in the journal. */
export function mutate(st: ContentState, action: MutationAction, n: number, index: number): MutationSummary {
  const out: MutationSummary = { added: [], modified: [], deleted: [] };
  st.clock += MUTATION_STEP;
  const rng = rngFor(st.seed, 'mutation', index, action, n);
  let photosChanged = false;
  switch (action) {
    case 'add':
      addFiles(st, rng, n, out);
      break;
    case 'modify':
      photosChanged = modifyFiles(st, rng, n, out);
      break;
    case 'delete':
      photosChanged = deleteFiles(st, rng, n, out);
      break;
    case 'rename':
      renameFiles(st, rng, n, out);
      break;
    case 'photos':
      takePhotos(st, n, out);
      photosChanged = n > 0;
      break;
    case 'messages':
      if (n > 0) {
        st.sizes.messages += n;
        if (rebuildBlob(st, SMS_DB) !== undefined) out.modified.push(ref(SMS_DB));
        for (const e of newPersonalFiles(st)) {
          out.added.push(...ensureParents(st, e.domain, e.relativePath).map(ref), ref(e));
          st.catalogue.put(e);
        }
      }
      break;
  }
  if (photosChanged) {
    for (const db of [PHOTOS_DB, PHOTOS_WAL]) if (rebuildBlob(st, db) !== undefined) out.modified.push(ref(db));
  }
  return out;
}
