/**
 * Browse… on a backup in Manage Backups: its files by domain (apps grouped by name) and folder,
 * a page at a time, a search by name, sizes and dates; a preview of images, text and plists, and
 * Download of a file (decrypted). An encrypted backup's password is asked once and kept in this
 * page's memory for that backup until the page is closed.
 */
import { useEffect, useState } from 'preact/hooks';
import type { BackupView, ErrorView } from '../api.js';
import type { BrowseEntryView, BrowseFileRequest, BrowseListResponse } from '../api-browse.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes, formatDate } from './format.js';
import { ApiFailure, api, errorView } from './http.js';

/** Passwords given in this page, by backup (never stored anywhere else). */
const passwords = new Map<string, string>();

interface Place {
  domain?: string;
  folder: string;
  search: string;
}

/** "App com.example.notes" for an app's domain, the domain itself otherwise. */
export function domainLabel(domain: string): string {
  const m = /^AppDomain(Group|Plugin)?-(.+)$/.exec(domain);
  if (!m) return domain;
  return `${m[1] === 'Group' ? 'App group' : m[1] === 'Plugin' ? 'App extension' : 'App'} ${m[2]}`;
}

function useListing(backup: BackupView, place: Place, password: string | undefined) {
  const [data, setData] = useState<BrowseListResponse | null>(null);
  const [more, setMore] = useState<BrowseEntryView[]>([]);
  const [error, setError] = useState<ErrorView | null>(null);
  const body = {
    path: backup.path,
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

/** Fetches a file (a preview or a download) as a Blob. */
async function fetchFile(req: BrowseFileRequest): Promise<Blob> {
  const r = await fetch('/api/browse/file', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req),
  });
  if (!r.ok) {
    const j = (await r.json().catch(() => null)) as { error?: ErrorView } | null;
    throw new ApiFailure(
      r.status,
      j?.error ?? { code: 'INTERNAL', message: 'The file could not be read.', remedy: 'Try again.' },
    );
  }
  return r.blob();
}

function Crumbs({ place, onGo }: { place: Place; onGo: (p: Place) => void }) {
  const parts = place.folder === '' ? [] : place.folder.split('/');
  return (
    <nav class="crumbs" aria-label="Folder">
      <button type="button" class="link" onClick={() => onGo({ folder: '', search: '' })} data-testid="browse-home">
        Domains
      </button>
      {place.domain !== undefined ? (
        <>
          {' › '}
          <button type="button" class="link" onClick={() => onGo({ domain: place.domain!, folder: '', search: '' })}>
            {domainLabel(place.domain)}
          </button>
        </>
      ) : null}
      {parts.map((p, i) => (
        <span key={i}>
          {' › '}
          <button
            type="button"
            class="link"
            onClick={() => onGo({ domain: place.domain!, folder: parts.slice(0, i + 1).join('/'), search: '' })}
          >
            {p}
          </button>
        </span>
      ))}
    </nav>
  );
}

interface Preview {
  name: string;
  image?: string;
  text?: string;
}

const IMAGE = /\.(jpe?g|png|gif|webp)$/i;
const TEXT = /\.(plist|txt|log|json|xml|csv|strings)$/i;

function EntryRow(props: {
  e: BrowseEntryView;
  search: boolean;
  onOpen: () => void;
  onFile: (as: 'preview' | 'download') => void;
}) {
  const { e } = props;
  return (
    <tr data-testid="browse-entry" data-type={e.type} data-name={e.name}>
      <td class="file-path">
        {e.type === 'directory' ? (
          <button type="button" class="link" onClick={props.onOpen}>
            {props.search ? `${domainLabel(e.domain)}/${e.relativePath}` : e.name}/
          </button>
        ) : (
          <span>{props.search ? `${domainLabel(e.domain)}/${e.relativePath}` : e.name}</span>
        )}
      </td>
      <td>{e.type === 'file' ? formatBytes(e.size) : ''}</td>
      <td>{formatDate(e.modified) ?? ''}</td>
      <td>
        {e.type === 'file' && (IMAGE.test(e.name) || TEXT.test(e.name)) ? (
          <button type="button" onClick={() => props.onFile('preview')} data-testid="browse-preview">
            Preview
          </button>
        ) : null}
        {e.type === 'file' ? (
          <button type="button" onClick={() => props.onFile('download')} data-testid="browse-download">
            Download
          </button>
        ) : null}
      </td>
    </tr>
  );
}

function Domains({ list, onGo }: { list: NonNullable<BrowseListResponse['domains']>; onGo: (d: string) => void }) {
  const sorted = [...list].sort(
    (a, b) =>
      Number(a.domain.startsWith('AppDomain')) - Number(b.domain.startsWith('AppDomain')) ||
      a.domain.localeCompare(b.domain),
  );
  return (
    <ul class="domain-list" data-testid="browse-domains">
      {sorted.map((d) => (
        <li key={d.domain}>
          <button
            type="button"
            class="link"
            onClick={() => onGo(d.domain)}
            data-testid="browse-domain"
            data-domain={d.domain}
          >
            {domainLabel(d.domain)}
          </button>{' '}
          <span class="muted small">
            {d.files.toLocaleString()} files · {formatBytes(d.bytes)}
          </span>
        </li>
      ))}
    </ul>
  );
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

export function BackupBrowser({ backup, onClose }: { backup: BackupView; onClose: () => void }) {
  const [password, setPassword] = useState<string | undefined>(passwords.get(backup.path));
  const [place, setPlace] = useState<Place>({ folder: '', search: '' });
  const [preview, setPreview] = useState<Preview | null>(null);
  const [fileError, setFileError] = useState<ErrorView | null>(null);
  const needsPassword = backup.encrypted && password === undefined;
  const listing = useListing(backup, place, needsPassword ? '' : password);
  const entries = [...(listing.data?.entries ?? []), ...listing.more];
  const onFile = (e: BrowseEntryView, as: 'preview' | 'download'): void => {
    setFileError(null);
    const req: BrowseFileRequest = {
      path: backup.path,
      domain: e.domain,
      relativePath: e.relativePath,
      as,
      ...(password === undefined ? {} : { password }),
    };
    void fetchFile(req)
      .then((blob) => (as === 'download' ? saveBlob(blob, e.name) : showBlob(blob, e.name, setPreview)))
      .catch((err: unknown) => setFileError(errorView(err)));
  };
  const wrong = listing.error?.code === 'WRONG_PASSWORD';
  return (
    <Dialog
      title={`Files in the backup of ${backup.deviceName ?? backup.udid}`}
      testid="browser-dialog"
      onClose={onClose}
      wide
    >
      {needsPassword || wrong ? (
        <>
          {wrong ? (
            <ErrorBox error={listing.error!} testid="browse-error" />
          ) : (
            <p>This backup is encrypted: enter its password to see its files.</p>
          )}
          <PasswordAsk
            onPassword={(p) => {
              passwords.set(backup.path, p);
              setPassword(p);
            }}
          />
        </>
      ) : (
        <BrowserBody place={place} setPlace={setPlace} listing={listing} entries={entries} onFile={onFile} />
      )}
      {fileError ? <ErrorBox error={fileError} testid="browse-file-error" /> : null}
      {preview ? <PreviewBox preview={preview} onClose={() => setPreview(null)} /> : null}
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
}

function BrowserBody({ place, setPlace, listing, entries, onFile }: BodyProps) {
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
                  search={place.search !== ''}
                  onOpen={() => setPlace({ domain: e.domain, folder: e.relativePath, search: '' })}
                  onFile={(as) => onFile(e, as)}
                />
              ))}
            </tbody>
          </table>
        </div>
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

function PreviewBox({ preview, onClose }: { preview: Preview; onClose: () => void }) {
  return (
    <section class="panel preview" aria-label={`Preview of ${preview.name}`} data-testid="browse-preview-box">
      <h3>{preview.name}</h3>
      {preview.image ? <img src={preview.image} alt={preview.name} loading="lazy" class="preview-image" /> : null}
      {preview.text !== undefined ? <pre class="preview-text">{preview.text}</pre> : null}
      <button type="button" onClick={onClose}>
        Close Preview
      </button>
    </section>
  );
}

function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function showBlob(blob: Blob, name: string, set: (p: Preview) => void): void {
  if (IMAGE.test(name)) {
    const r = new FileReader();
    r.onload = () => set({ name, image: String(r.result) });
    r.readAsDataURL(blob);
  } else void blob.text().then((text) => set({ name, text: text.slice(0, 200_000) }));
}
