// Builds the web app's page (src/web/ui, preact) into dist/web/ui, which `ibackup ui` serves.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./src/web/ui'),
  base: './',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: here('./dist/web/ui'),
    emptyOutDir: true,
    // Nothing inlined as data: URLs (the server's CSP allows same-origin files only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
});
