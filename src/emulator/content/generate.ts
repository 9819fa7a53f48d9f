/**
 * Builds a device's content from its ContentSpec: the notable files of every domain, real
 * databases and plists, the camera roll, then bulk files spread over apps and media until the
 * spec's file count and byte total are reached. Same spec, same content.
 */
import type { ContentSpec } from '../profile-types.js';
import { addRecord, photoAssets } from './camera.js';
import { Catalogue } from './catalogue.js';
import {
  APPS,
  BLOB_FILES,
  EMPTY_FILES,
  EXTRA_DIRECTORIES,
  FILLER_SLOTS,
  NAMED_FILES,
  SYMLINKS,
  databaseSizes,
  photoShape,
  type BlobContext,
  type BlobFile,
} from './domains.js';
import { makeDirectory, makeFile, makeSymlink, parentsOf, type ContentState } from './entries.js';
import { CONTENT_NOW, entryKey, type DeviceEntry } from './model.js';
import { PLIST_FILES, appPreferences, renderPlist, type PlistFile } from './plists.js';
import { generatedRecord } from './photo-library.js';
import { photosDbFiles, type PhotosDbFiles } from './photos-db.js';
import { rngFor } from './random.js';
import { newPersonalFiles } from './personal-files.js';

/** Registers the builder of a blob file and returns its entry (bytes built now). */
function blobEntry(st: ContentState, ctx: BlobContext, f: BlobFile): DeviceEntry {
  const key = entryKey(f.domain, f.relativePath);
  st.builders.set(key, { modifiable: f.modifiable, build: (v) => f.build(ctx, v) });
  const bytes = f.build(ctx, 0);
  st.blobs.set(key, bytes);
  return makeFile(st, f.domain, f.relativePath, {
    size: bytes.length,
    source: 'blob',
    mode: f.mode,
    encryptedOnly: f.encryptedOnly,
    xattrs: f.xattrs,
  });
}

function plistEntry(st: ContentState, f: PlistFile): DeviceEntry {
  const key = entryKey(f.domain, f.relativePath);
  st.builders.set(key, { modifiable: !f.encryptedOnly, build: (v) => renderPlist(st.seed, f, v) });
  const bytes = renderPlist(st.seed, f, 0);
  st.blobs.set(key, bytes);
  return makeFile(st, f.domain, f.relativePath, {
    size: bytes.length,
    source: 'blob',
    mode: f.mode,
    uid: f.uid,
    encryptedOnly: f.encryptedOnly,
    protectionClass: f.protectionClass,
  });
}

/** Adds the bulk files: `count` files holding `bytes` bytes, log-normally sized. */
function addFiller(st: ContentState, out: DeviceEntry[], count: number, bytes: number): void {
  let left = count;
  for (const [s, slot] of FILLER_SLOTS.entries()) {
    const n = s === FILLER_SLOTS.length - 1 ? left : Math.min(left, Math.round(count * slot.countShare));
    left -= n;
    if (n <= 0) continue;
    const rng = rngFor(st.seed, 'filler', s);
    const weights = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i] = Math.exp(1.3 * rng.normal());
    const slotBytes = bytes * slot.byteShare;
    for (let i = 0; i < n; i++) {
      const size = Math.round(((weights[i] ?? 0) / sum) * slotBytes);
      out.push(makeFile(st, slot.domain, slot.path(i, rng), { size, source: 'noise' }));
    }
  }
}

/** Adds every missing parent directory (domain roots included) and returns the catalogue. */
function withDirectories(st: ContentState, out: DeviceEntry[]): Catalogue {
  const seen = new Set<string>();
  for (const e of out) if (e.kind === 'directory') seen.add(entryKey(e.domain, e.relativePath));
  const dirs: DeviceEntry[] = [];
  for (const e of out) {
    for (const p of parentsOf(e.relativePath)) {
      const key = entryKey(e.domain, p);
      if (seen.has(key)) continue;
      seen.add(key);
      dirs.push(makeDirectory(st, e.domain, p, p === 'Library/Accounts' ? { flags: 128 } : {}));
    }
  }
  return Catalogue.from(out.concat(dirs));
}

/** Photos.sqlite and its -wal, built once per version of the library. */
function photosDbOf(st: ContentState): (version: number) => PhotosDbFiles {
  let cached: { version: number; files: PhotosDbFiles } | undefined;
  return (version) => {
    if (cached?.version !== version) {
      const o = { seed: st.seed, icloud: st.icloud, iosMajor: st.major };
      const albumUuid = (k: number): string =>
        rngFor(st.seed, 'album', k + 1)
          .uuid()
          .toUpperCase();
      cached = { version, files: photosDbFiles(photoAssets(st), o, albumUuid) };
    }
    return cached.files;
  };
}

/** The camera roll: one asset every ~9 hours up to "now", then the profile's huge videos. */
function addLibrary(st: ContentState, out: DeviceEntry[], count: number): void {
  for (let n = 1; n <= count; n++) {
    const taken = CONTENT_NOW - (count - n + 1) * 32_400;
    out.push(...addRecord(st, generatedRecord(n, taken, st.icloud, n > count - 2)));
  }
  st.nextPhoto = count + 1;
  for (const size of st.spec.hugeFiles) {
    const base = { ...generatedRecord(st.nextPhoto++, CONTENT_NOW - 3600, st.icloud, true), format: 'MOV' as const };
    out.push(...addRecord(st, { ...base, live: false, edited: false, hidden: false, trashed: false }, size));
  }
}

/** Default iOS major version of the personal databases (the built-in profiles' iOS 17.x). */
const DEFAULT_MAJOR = 17;

export function generateContent(spec: ContentSpec, major = DEFAULT_MAJOR): ContentState {
  const shape = photoShape(spec.files);
  const st: ContentState = {
    seed: spec.seed,
    spec,
    maxSide: shape.maxSide,
    sizes: databaseSizes(spec.files),
    major,
    catalogue: new Catalogue(),
    blobs: new Map(),
    builders: new Map(),
    overrideIds: new Map(),
    nextInode: 100_000 + (spec.seed % 1000) * 1000,
    nextPhoto: 1,
    clock: CONTENT_NOW,
    addedFiles: 0,
    library: new Map(),
    icloud: spec.icloudPhotos ?? 'off',
  };
  const out: DeviceEntry[] = [];
  const ctx: BlobContext = {
    seed: st.seed,
    sizes: st.sizes,
    major,
    photosDb: photosDbOf(st),
  };

  for (const f of PLIST_FILES) out.push(plistEntry(st, f));
  for (const app of APPS) {
    out.push(plistEntry(st, appPreferences(app.bundleId)));
    if (app.plugin !== undefined)
      out.push(plistEntry(st, { ...appPreferences(app.plugin), domain: `AppDomainPlugin-${app.plugin}` }));
  }
  for (const f of EMPTY_FILES) out.push(makeFile(st, f.domain, f.relativePath, { size: 0, source: 'noise' }));
  for (const f of NAMED_FILES) {
    const size = rngFor(st.seed, 'named', f.relativePath).int(4096, Math.max(8192, spec.bytes / 400));
    out.push(makeFile(st, f.domain, f.relativePath, { size, source: 'noise', xattrs: f.xattrs }));
  }
  const containerId = rngFor(st.seed, 'container').uuid();
  for (const [domain, path, target] of SYMLINKS)
    out.push(makeSymlink(st, domain, path, target.replace('<UUID>', containerId)));
  for (const [domain, path] of EXTRA_DIRECTORIES) out.push(makeDirectory(st, domain, path));

  const photos: DeviceEntry[] = [];
  addLibrary(st, photos, shape.count);
  out.push(...photos);
  // Photos.sqlite is built before the whole catalogue exists: it looks its originals up in this one.
  st.catalogue = Catalogue.from([...photos]);
  for (const f of BLOB_FILES) out.push(blobEntry(st, ctx, f));
  out.push(...newPersonalFiles(st));

  const hugeBytes = spec.hugeFiles.reduce((a, b) => a + b, 0);
  let files = 0;
  let bytes = -hugeBytes;
  for (const e of out) {
    if (e.kind !== 'file') continue;
    files++;
    bytes += e.size;
  }
  addFiller(st, out, Math.max(0, spec.files - files), Math.max(0, spec.bytes - bytes));
  st.catalogue = withDirectories(st, out);
  return st;
}
