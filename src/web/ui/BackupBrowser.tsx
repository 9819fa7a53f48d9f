/**
 * Browse… on a backup in Manage Backups, or on one version of a phone's backup: its files by domain (apps grouped by name) and folder,
 * a page at a time, a search by name, sizes and dates; a preview of images, text and plists, and
 * Download of a file (decrypted). An encrypted backup's password is asked once and kept in this
 * page's memory for that backup until the page is closed.
 */
import { useEffect, useState } from 'preact/hooks';
import type { BackupView, ErrorView, VersionView } from '../api.js';
import type { BrowseEntryView, BrowseFileRequest, BrowseListResponse, BrowseTarget } from '../api-browse.js';
import { ExtractBox, type ExtractTarget } from './BrowseExtract.js';
import {
  Crumbs,
  Domains,
  EntryRow,
  fetchFile,
  PreviewBox,
  saveBlob,
  showBlob,
  type Place,
  type Preview,
} from './BrowseParts.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { versionDate } from './history-text.js';
import { api, errorView } from './http.js';

/** Passwords given in this page, by backup or version (never stored anywhere else). */
const passwords = new Map<string, string>();

/** What every request names: the backup, and the version when one is browsed. */
type Target = Pick<BrowseTarget, 'path' | 'version'>;

function useListing(target: Target, place: Place, password: string | undefined) {
  const [data, setData] = useState<BrowseListResponse | null>(null);
  const [more, setMore] = useState<BrowseEntryView[]>([]);
  const [error, setError] = useState<ErrorView | null>(null);
  const body = {
    ...target,
    ...(password === undefined ? {} : { password }),
    ...(place.search !== ''
      ? { search: place.search }
      : place.domain === undefined
        ? {}
        : { domain: place.domain, folder: place.folder }),
  };
  const key = JSON.stringify(body);
  useEffect(() => {
    let live = true;
    setError(null);
    setMore([]);
    const t = setTimeout(() => {
      api<BrowseListResponse>('/api/browse/list', body)
        .then((r) => live && setData(r))
        .catch((e: unknown) => live && setError(errorView(e)));
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [key]);
  const loadMore = (): void => {
    const offset = (data?.entries?.length ?? 0) + more.length;
    api<BrowseListResponse>('/api/browse/list', { ...body, offset })
      .then((r) => setMore([...more, ...(r.entries ?? [])]))
      .catch((e: unknown) => setError(errorView(e)));
  };
  return { data, more, error, loadMore };
}

function PasswordAsk({ onPassword }: { onPassword: (p: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="form"
      onSubmit={(ev) => {
        ev.preventDefault();
        if (value !== '') onPassword(value);
      }}
    >
      <label>
        Backup password
        <input
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          data-testid="browse-password"
          autofocus
        />
      </label>
      <div class="buttons">
        <button type="submit" class="primary" disabled={value === ''} data-testid="browse-password-submit">
          Open
        </button>
      </div>
    </form>
  );
}

/** Preview and Download of a file: what is shown, and what went wrong. */
function useFileActions(target: Target, password: string | undefined) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [fileError, setFileError] = useState<ErrorView | null>(null);
  const onFile = (e: BrowseEntryView, as: 'preview' | 'download'): void => {
    setFileError(null);
    const req: BrowseFileRequest = {
      ...target,
      domain: e.domain,
      relativePath: e.relativePath,
      as,
      ...(password === undefined ? {} : { password }),
    };
    void fetchFile(req)
      .then((blob) => (as === 'download' ? saveBlob(blob, e.name) : showBlob(blob, e.name, setPreview)))
      .catch((err: unknown) => setFileError(errorView(err)));
  };
  const thumb = (e: BrowseEntryView): Promise<Blob> =>
    fetchFile({
      ...target,
      domain: e.domain,
      relativePath: e.relativePath,
      as: 'preview',
      ...(password === undefined ? {} : { password }),
    });
  return { preview, setPreview, fileError, onFile, thumb };
}

const ENCRYPTED = 'This backup is encrypted: enter its password to see its files.';

function titleOf(backup: BackupView, version: VersionView | undefined): string {
  const name = backup.deviceName ?? backup.udid;
  return version ? `Files in the version of ${versionDate(version)} of ${name}` : `Files in the backup of ${name}`;
}

export interface BackupBrowserProps {
  backup: BackupView;
  /** One version of the backup's history (else the backup itself). */
  version?: VersionView;
  /** The password the history's panel has for that version. */
  password?: string | undefined;
  /** That password was refused (the panel forgets it). */
  onWrongPassword?: () => void;
  onClose: () => void;
}

export function BackupBrowser({ backup, version, onWrongPassword, onClose, ...given }: BackupBrowserProps) {
  const target: Target = version ? { path: backup.path, version: version.id } : { path: backup.path };
  const key = version ? `${backup.path}\n${version.id}` : backup.path;
  const [password, setPassword] = useState<string | undefined>(given.password ?? passwords.get(key));
  const [place, setPlace] = useState<Place>({ folder: '', search: '' });
  const [extracting, setExtracting] = useState<ExtractTarget | null>(null);
  const needsPassword = (version ?? backup).encrypted && password === undefined;
  const listing = useListing(target, place, needsPassword ? '' : password);
  const entries = [...(listing.data?.entries ?? []), ...listing.more];
  const { preview, setPreview, fileError, onFile, thumb } = useFileActions(target, password);
  const wrong = listing.error?.code === 'WRONG_PASSWORD';
  useEffect(() => {
    if (wrong && password !== undefined) onWrongPassword?.();
  }, [wrong]);
  return (
    <Dialog title={titleOf(backup, version)} testid="browser-dialog" onClose={onClose} wide>
      {needsPassword || wrong ? (
        <>
          {wrong ? <ErrorBox error={listing.error!} testid="browse-error" /> : <p>{ENCRYPTED}</p>}
          <PasswordAsk
            onPassword={(p) => {
              passwords.set(key, p);
              setPassword(p);
            }}
          />
        </>
      ) : (
        <BrowserBody
          place={place}
          setPlace={setPlace}
          listing={listing}
          entries={entries}
          onFile={onFile}
          onExtract={setExtracting}
          thumb={thumb}
        />
      )}
      {fileError ? <ErrorBox error={fileError} testid="browse-file-error" /> : null}
      {preview ? <PreviewBox preview={preview} onClose={() => setPreview(null)} /> : null}
      {extracting ? (
        <ExtractBox
          target={extracting}
          request={(t, out) => ({ ...target, ...t, out, ...(password === undefined ? {} : { password }) })}
          onClose={() => setExtracting(null)}
        />
      ) : null}
      <div class="buttons">
        <button type="button" class="primary" onClick={onClose} data-testid="browser-close">
          Done
        </button>
      </div>
    </Dialog>
  );
}

interface BodyProps {
  place: Place;
  setPlace: (p: Place) => void;
  listing: ReturnType<typeof useListing>;
  entries: BrowseEntryView[];
  onFile: (e: BrowseEntryView, as: 'preview' | 'download') => void;
  onExtract: (t: ExtractTarget) => void;
  thumb: (e: BrowseEntryView) => Promise<Blob>;
}

function BrowserBody({ place, setPlace, listing, entries, onFile, onExtract, thumb }: BodyProps) {
  const { data, error } = listing;
  return (
    <>
      <div class="browse-filter">
        <input
          type="search"
          placeholder="Search by name"
          aria-label="Search the backup's files by name"
          value={place.search}
          onInput={(e) => setPlace({ ...place, search: e.currentTarget.value })}
          data-testid="browse-search"
        />
      </div>
      {place.search === '' ? <Crumbs place={place} onGo={setPlace} /> : null}
      {error && error.code !== 'WRONG_PASSWORD' ? <ErrorBox error={error} testid="browse-error" /> : null}
      {data === null ? <p>Opening the backup…</p> : null}
      {data?.domains ? (
        <Domains list={data.domains} onGo={(d) => setPlace({ domain: d, folder: '', search: '' })} />
      ) : null}
      {data?.entries ? (
        <EntryTable
          entries={entries}
          search={place.search !== ''}
          setPlace={setPlace}
          onFile={onFile}
          onExtract={onExtract}
          thumb={thumb}
        />
      ) : null}
      {data?.entries ? (
        <p class="muted small" data-testid="browse-count">
          {entries.length.toLocaleString()} of {data.total.toLocaleString()} shown{' '}
          {entries.length < data.total ? (
            <button type="button" onClick={listing.loadMore} data-testid="browse-more">
              Show more
            </button>
          ) : null}
        </p>
      ) : null}
    </>
  );
}

function EntryTable(props: {
  entries: BrowseEntryView[];
  search: boolean;
  setPlace: (p: Place) => void;
  onFile: (e: BrowseEntryView, as: 'preview' | 'download') => void;
  onExtract: (t: ExtractTarget) => void;
  thumb: (e: BrowseEntryView) => Promise<Blob>;
}) {
  const { entries, setPlace, onFile, onExtract } = props;
  return (
    <div class="table-wrap">
      <table class="files" data-testid="browse-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Size</th>
            <th scope="col">Modified</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <EntryRow
              key={`${e.domain}/${e.relativePath}`}
              e={e}
              search={props.search}
              onOpen={() => setPlace({ domain: e.domain, folder: e.relativePath, search: '' })}
              onFile={(as) => onFile(e, as)}
              onExtract={() => onExtract({ domain: e.domain, relativePath: e.relativePath })}
              thumb={() => props.thumb(e)}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
