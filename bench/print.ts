/** Prints the table of the last run again from bench/results.json: `npx tsx bench/print.ts`. */
import { readFileSync } from 'node:fs';
import { printTable, type Results } from './report.ts';

process.stdout.write(printTable(JSON.parse(readFileSync(new URL('./results.json', import.meta.url), 'utf8')) as Results));
