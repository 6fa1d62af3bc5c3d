/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --cpu-prof`): self time by function
 * and by package/module, so hotspots come with numbers.
 *
 * @example npx tsx bench/profile-summary.ts .data/bench/prof [top]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const [target = '.data/bench/prof', topArg = '30'] = process.argv.slice(2);
const files = statSync(target).isDirectory() ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f)) : [target];

const byFunction = new Map<string, number>();
const byModule = new Map<string, number>();
let total = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = nodes.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    total += dt;
    const where = moduleOf(url);
    byFunction.set(`${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`, (byFunction.get(`${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`) ?? 0) + dt);
    byModule.set(where || functionName, (byModule.get(where || functionName) ?? 0) + dt);
  });
}

function moduleOf(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

const top = Number(topArg);
const show = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title} (self time, ${(total / 1e6).toFixed(1)} s sampled)\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${name}\n`);
  }
};
show('by module', byModule);
show('by function', byFunction);
