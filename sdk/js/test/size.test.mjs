// The script tag's budget: ≤ 6 KB gzipped (gzip -9), web-vitals included,
// and the committed bundle is the one the sources build.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

const BUDGET = 6 * 1024;
const built = readFileSync(new URL('../build/test/alidade.min.js', import.meta.url));

test(`the default bundle is at most ${BUDGET} bytes gzipped`, (t) => {
  const gz = gzipSync(built, { level: 9 }).length;
  t.diagnostic(`alidade.min.js: ${built.length} bytes, ${gz} bytes gzipped (budget ${BUDGET})`);
  assert.ok(gz <= BUDGET, `${gz} bytes gzipped is over the ${BUDGET}-byte budget`);
});

test('dist/alidade.min.js is up to date (else: npm run build, and commit it)', () => {
  const committed = readFileSync(new URL('../dist/alidade.min.js', import.meta.url));
  assert.ok(committed.equals(built), 'dist/alidade.min.js differs from what the sources build: run `npm run build` in sdk/js');
});

test('the bundle sets no cookie and uses no storage', () => {
  const src = built.toString();
  for (const word of ['cookie', 'localStorage', 'sessionStorage', 'indexedDB']) assert.ok(!src.includes(word), word);
});
