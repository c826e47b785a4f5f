// Builds the dashboard with esbuild (deterministic output):
//   node build.mjs               ../internal/ui/dist/app.js and app.css (committed, embedded in the Go binary)
//   node build.mjs --outdir DIR  the same under DIR (what the Go staleness test compares)
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const i = args.indexOf('--outdir');
const out = i < 0 ? join(root, '../internal/ui/dist') : resolve(args[i + 1]);

await build({
  entryPoints: { app: join(root, 'src/main.tsx') },
  outdir: out,
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  absWorkingDir: root,
});
