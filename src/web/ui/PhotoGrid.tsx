/**
 * A backup's photos as a grid: the first page at once, the next ones as the last tile scrolls
 * into view; each image loads lazily from the server. JPEG and PNG originals are shown, HEIC and
 * videos through the phone's own JPEG thumbnail when the backup has it, else an icon (a browser
 * cannot decode HEVC). An encrypted backup asks for its password once.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ErrorView, PhotoPageResponse, PhotoTileView } from '../api.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView } from './http.js';

const PAGE = 60;

function imageUrl(path: string, id: number): string {
  return `/api/backups/photos/image?path=${encodeURIComponent(path)}&id=${id}`;
}

function Tile({ path, tile }: { path: string; tile: PhotoTileView }) {
  const label = `${tile.name}${tile.created ? `, ${new Date(tile.created).toLocaleDateString()}` : ''}`;
  return (
    <li class="photo-tile" data-testid="photo-tile" data-show={tile.show} title={label}>
      {tile.show === 'icon' ? (
        <span class="photo-icon" role="img" aria-label={label} data-testid="photo-icon">
          {tile.kind === 'video' ? '▶' : tile.name.split('.').pop()}
        </span>
      ) : (
        <img src={imageUrl(path, tile.id)} alt={label} loading="lazy" decoding="async" width={96} height={96} />
      )}
      {tile.kind === 'video' ? <span class="photo-badge">video</span> : null}
    </li>
  );
}

interface GridState {
  tiles: PhotoTileView[];
  total: number | null;
  error: ErrorView | null;
  loading: boolean;
}

function useGrid(path: string) {
  const [state, setState] = useState<GridState>({ tiles: [], total: null, error: null, loading: false });
  const load = async (offset: number, password?: string): Promise<void> => {
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const body = { path, offset, limit: PAGE, ...(password === undefined ? {} : { password }) };
      const r = await api<PhotoPageResponse>('/api/backups/photos', body);
      setState((s) => ({
        tiles: offset === 0 ? r.items : [...s.tiles, ...r.items],
        total: r.total,
        error: null,
        loading: false,
      }));
    } catch (e) {
      setState((s) => ({ ...s, error: errorView(e), loading: false }));
    }
  };
  return { state, load };
}

function PasswordAsk({ onPassword }: { onPassword: (password: string) => void }) {
  const [password, setPassword] = useState('');
  return (
    <form
      class="photos-password"
      onSubmit={(e) => {
        e.preventDefault();
        onPassword(password);
      }}
    >
      <label>
        Backup password
        <input
          type="password"
          autocomplete="off"
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          data-testid="photos-grid-password"
        />
      </label>
      <button type="submit" disabled={password === ''}>
        Show Photos
      </button>
    </form>
  );
}

export function PhotoGrid({ path, encrypted }: { path: string; encrypted: boolean }) {
  const { state, load } = useGrid(path);
  const sentinel = useRef<HTMLLIElement>(null);
  const needsPassword = state.error?.code === 'PASSWORD_REQUIRED' || state.error?.code === 'WRONG_PASSWORD';
  useEffect(() => {
    void load(0);
  }, [path]);
  const more = state.total !== null && state.tiles.length < state.total;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !more) return;
    const observer = new IntersectionObserver((seen) => {
      if (seen.some((e) => e.isIntersecting) && !state.loading) void load(state.tiles.length);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [more, state.tiles.length, state.loading]);
  return (
    <div class="photo-grid-wrap" data-testid="photo-grid" data-total={state.total ?? ''} data-encrypted={encrypted}>
      {needsPassword ? <PasswordAsk onPassword={(p) => void load(0, p)} /> : null}
      {state.error && !needsPassword ? <ErrorBox error={state.error} testid="photo-grid-error" /> : null}
      {state.total !== null ? (
        <p class="muted small" data-testid="photo-grid-count">
          {state.total.toLocaleString()} photos and videos in this backup’s library
        </p>
      ) : null}
      <ul class="photo-grid">
        {state.tiles.map((t) => (
          <Tile key={t.id} path={path} tile={t} />
        ))}
        {more ? <li ref={sentinel} class="photo-more" data-testid="photo-grid-more" aria-hidden="true" /> : null}
      </ul>
    </div>
  );
}
