/** The backup browser's parts: where you are, a domain list, an entry row, a preview, and fetching a file. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ErrorView } from '../api.js';
import type { BrowseEntryView, BrowseFileRequest, BrowseListResponse } from '../api-browse.js';
import { formatBytes, formatDate } from './format.js';
import { ApiFailure } from './http.js';

export interface Place {
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

/** Fetches a file (a preview or a download) as a Blob. */
export async function fetchFile(req: BrowseFileRequest): Promise<Blob> {
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

export function Crumbs({ place, onGo }: { place: Place; onGo: (p: Place) => void }) {
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

export interface Preview {
  name: string;
  image?: string;
  text?: string;
}

export const IMAGE = /\.(jpe?g|png|gif|webp)$/i;
export const TEXT = /\.(plist|txt|log|json|xml|csv|strings)$/i;

export function EntryRow(props: {
  e: BrowseEntryView;
  search: boolean;
  onOpen: () => void;
  onFile: (as: 'preview' | 'download') => void;
  onExtract: () => void;
  /** An image's bytes, fetched once its row is on screen (a thumbnail). */
  thumb?: () => Promise<Blob>;
}) {
  const { e } = props;
  return (
    <tr data-testid="browse-entry" data-type={e.type} data-name={e.name}>
      <td class="file-path">
        {props.thumb && e.type === 'file' && IMAGE.test(e.name) && e.size <= THUMB_MAX ? (
          <Thumb load={props.thumb} />
        ) : null}
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
        {e.type !== 'symlink' ? (
          <button type="button" onClick={props.onExtract} data-testid="browse-extract-button">
            Extract…
          </button>
        ) : null}
      </td>
    </tr>
  );
}

/** Images up to this size get a thumbnail in the list (bigger ones: Preview). */
const THUMB_MAX = 8_000_000;

/** A small image, loaded only once it scrolls into view. */
function Thumb({ load }: { load: () => Promise<Blob> }) {
  const ref = useRef<HTMLSpanElement>(null);
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const seen = new IntersectionObserver((items) => {
      if (!items.some((i) => i.isIntersecting)) return;
      seen.disconnect();
      load()
        .then((blob) => {
          const r = new FileReader();
          r.onload = () => setSrc(String(r.result));
          r.readAsDataURL(blob);
        })
        .catch(() => undefined);
    });
    seen.observe(el);
    return () => seen.disconnect();
  }, []);
  return (
    <span ref={ref} class="thumb">
      {src ? <img src={src} alt="" class="browse-thumb" data-testid="browse-thumb" /> : null}
    </span>
  );
}

export function Domains({
  list,
  onGo,
}: {
  list: NonNullable<BrowseListResponse['domains']>;
  onGo: (d: string) => void;
}) {
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

export function PreviewBox({ preview, onClose }: { preview: Preview; onClose: () => void }) {
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

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function showBlob(blob: Blob, name: string, set: (p: Preview) => void): void {
  if (IMAGE.test(name)) {
    const r = new FileReader();
    r.onload = () => set({ name, image: String(r.result) });
    r.readAsDataURL(blob);
  } else void blob.text().then((text) => set({ name, text: text.slice(0, 200_000) }));
}
