// ESLint: typescript-eslint rules plus the layering rules of the architecture
// (imports only go downward: cli/web -> app -> host/backup -> transport -> protocol;
// the emulator imports only protocol/, transport/ and errors.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeIo = [
  'node:net',
  'node:tls',
  'node:fs',
  'node:fs/promises',
  'node:stream',
  'node:child_process',
  'node:http',
  'net',
  'tls',
  'fs',
  'stream',
];

/** What the faces reach only through app/. */
const belowApp = ['host', 'backup', 'export', 'transport', 'protocol'];

/** The commands that start the virtual iPhone in this process. */
const emulatorCommands = ['src/cli/emulator.ts', 'src/cli/demo.ts'];

/**
 * A no-restricted-imports rule forbidding the given source folders (by path fragment); `allow`
 * names single modules of those folders that stay importable (gitignore-style negations).
 */
function forbid(folders, extraPaths = [], message, allow = []) {
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: extraPaths.map((name) => ({ name, message: message ?? `${name} is not allowed in this layer` })),
        patterns: folders.map((f) => ({
          // (A bare `**/${f}` would exclude the folder itself, and nothing in it could be re-included.)
          group:
            allow.length === 0
              ? [`**/${f}/*`, `**/${f}`, `../${f}/*`, `../../${f}/*`]
              : [`**/${f}/*`, `../${f}/*`, `../../${f}/*`, ...allow.map((a) => `!${a}`)],
          message: `This layer must not import from src/${f} (imports go downward only).`,
        })),
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/web/ui/dist/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Functions of the product are small named steps: at most 60 lines (a longer one says why in an
  // eslint-disable comment beside it).
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  // protocol/: pure codecs, no I/O, nothing above it.
  {
    files: ['src/protocol/**/*.ts'],
    rules: forbid(
      ['transport', 'host', 'backup', 'export', 'app', 'cli', 'web', 'emulator'],
      nodeIo,
      'src/protocol is sans-I/O: no sockets, files or streams.',
    ),
  },
  // transport/: sockets only, above protocol.
  { files: ['src/transport/**/*.ts'], rules: forbid(['host', 'backup', 'export', 'app', 'cli', 'web', 'emulator']) },
  // host/: talks to devices; never to backup/app/cli/web/emulator.
  { files: ['src/host/**/*.ts'], rules: forbid(['backup', 'export', 'app', 'cli', 'web', 'emulator']) },
  // backup/: the backup on disk, usable without a device; never host/.
  { files: ['src/backup/**/*.ts'], rules: forbid(['host', 'transport', 'export', 'app', 'cli', 'web', 'emulator']) },
  // export/: readable exports out of a backup (contacts, messages…); reads through backup/, writes
  // files where the user asked; never the device, app/ or the faces.
  { files: ['src/export/**/*.ts'], rules: forbid(['host', 'transport', 'app', 'cli', 'web', 'emulator']) },
  // app/: use cases; never the faces or the emulator, and no file system calls of their own.
  {
    files: ['src/app/**/*.ts'],
    rules: forbid(
      ['cli', 'web', 'emulator'],
      ['node:fs', 'node:fs/promises', 'fs', 'fs/promises'],
      'app/ holds use cases and makes no file system calls: do the file work in src/backup or src/export (or, for the computer itself, src/host).',
    ),
  },
  // the emulator: only protocol/, transport/ and errors.ts.
  { files: ['src/emulator/**/*.ts'], rules: forbid(['host', 'backup', 'export', 'app', 'cli', 'web']) },
  // The faces (cli/, web/): they reach the layers below app/ only through app/, and do not import
  // each other; `ibackup ui` is the one command that starts the web face, and `ibackup emulator`
  // and `ibackup demo` the only ones that start the virtual iPhone.
  {
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/ui.ts', ...emulatorCommands],
    rules: forbid(['web', ...belowApp, 'emulator']),
  },
  { files: ['src/cli/ui.ts'], rules: forbid([...belowApp, 'emulator']) },
  { files: emulatorCommands, rules: forbid(['web', ...belowApp]) },
  { files: ['src/web/**/*.ts', 'src/web/**/*.tsx'], rules: forbid(['cli', ...belowApp, 'emulator']) },
  // the page (src/web/ui): browser code; it talks to the server only (types from ../api.js).
  {
    files: ['src/web/ui/**/*.ts', 'src/web/ui/**/*.tsx'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        location: 'readonly',
        history: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        EventSource: 'readonly',
        MessageEvent: 'readonly',
        EventListener: 'readonly',
        HTMLElement: 'readonly',
        HTMLDialogElement: 'readonly',
        HTMLInputElement: 'readonly',
        URLSearchParams: 'readonly',
      },
    },
    // app/format-bytes.ts is pure: the page scales sizes with the CLI's units.
    rules: forbid(
      ['cli', 'app', 'host', 'backup', 'export', 'transport', 'protocol', 'emulator'],
      nodeIo,
      'The page runs in the browser: no Node modules.',
      ['**/app/format-bytes.js'],
    ),
  },
);
