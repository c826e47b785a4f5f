// Builds the SDK with esbuild (deterministic output):
//   node build.mjs                  dist/alidade.min.js (committed, embedded in the Go binary),
//                                   dist/esm/*.js and dist/types/*.d.ts (for npm)
//   node build.mjs --outdir DIR     the same under DIR
//   node build.mjs --iife-only ...  only alidade.min.js (what the Go staleness test compares)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : resolve(args[i + 1]);
};
const out = value('--outdir', join(root, 'dist'));

/** The IIFE bundle of the script tag: web-vitals included, minified. */
export const iife = {
  entryPoints: [join(root, 'src/browser.ts')],
  outfile: join(out, 'alidade.min.js'),
  bundle: true,
  format: 'iife',
  minify: true,
  // Class fields as they are (web-vitals has them): 130 bytes less than es2020.
  target: ['es2022'],
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  absWorkingDir: root,
};

await build(iife);
if (!flag('--iife-only')) {
  rmSync(join(out, 'esm'), { recursive: true, force: true });
  await build({
    entryPoints: ['index', 'fetch', 'redux', 'websocket', 'workers'].map((n) => join(root, `src/${n}.ts`)),
    outdir: join(out, 'esm'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: ['es2020'],
    external: ['web-vitals'],
    logLevel: 'warning',
    absWorkingDir: root,
  });
  if (flag('--types')) {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', root, '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--outDir', join(out, 'types')], { stdio: 'inherit' });
  }
}
