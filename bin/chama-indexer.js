#!/usr/bin/env node
// Runs the TypeScript sources through tsx: no build step, nothing compiled is committed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
// Let pino flush, then exit with the command's code (open handles must not keep us alive).
setImmediate(() => process.exit(code));
