#!/usr/bin/env node
// Runs the bundle in dist/ (`npm run build`, also run by `npm ci`) when it is at least as new as
// every source file, and the TypeScript sources through tsx otherwise: an edit is never shadowed
// by a stale bundle. The bundle starts faster and uses ~70 MB less memory (no loader thread).
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);
const bundle = new URL('dist/cli.js', root);
const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= Math.max(newest(new URL('src/', root)), newest(new URL('schema/', root)));

let main;
if (fresh) {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli.ts'));
}
const code = await main(process.argv.slice(2));
// Let pino flush, then exit with the command's code (open handles must not keep us alive).
setImmediate(() => process.exit(code));
