import type { ChainInfo } from './chain.ts';
import type { ApiResult, LiveResult, ReorgResult } from './online.ts';

type Rate = { seconds: number; perSecond: number };

export type Results = {
  machine: { cpus: number; node: string; date: string };
  chain: ChainInfo & { cached: boolean; loadSeconds: number };
  settings: { pollIntervalMs: number; liveBlocks: number; apiSeconds: number; apiConnections: number; maxBlockRange: number };
  limits: { rpc: Rate & { events: number }; db: Rate; dbBare: Rate };
  backfill: Record<string, { events: number; seconds: number; perSecond: number; startupSeconds: number; indexBuildSeconds?: number; batches: number; peakRssMb: number; rssAt10PercentMb: number; cpuMicrosPerEvent?: { indexer: number; postgres: number; anvil: number } }>;
  rebuild: (Rate & { events: number; wallSeconds: number }) | undefined;
  reorg: ReorgResult | undefined;
  /** The same reorg with a tenth of the history stored (an indexer started near the head). */
  reorgSmall?: ReorgResult | undefined;
  live: LiveResult | undefined;
  api: ApiResult[];
};

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;

/** The table of issue 5: each figure beside its target; `ok` is yes, NO, or - (no target). */
export function printTable(r: Results): string {
  const rows: [string, string, string, string][] = [];
  const check = (ok: boolean | undefined) => (ok === undefined ? '-' : ok ? 'yes' : 'NO');
  // limit_db is COPY into an empty table of the events table's shape (no indexes); the same
  // COPY into the real table with its four indexes is shown beside it, as what indexes cost.
  // Stages left out with --only have NaN figures: their rows (and the target made of them) are left out too.
  const limit = Math.min(r.limits.rpc.perSecond, r.limits.dbBare.perSecond);
  if (!Number.isNaN(r.limits.rpc.perSecond)) rows.push(['limit_rpc (eth_getLogs x4, no decode)', `${n(r.limits.rpc.perSecond)} events/s`, '', '-']);
  if (!Number.isNaN(r.limits.dbBare.perSecond)) {
    rows.push(['limit_db (COPY, events shape, no indexes)', `${n(r.limits.dbBare.perSecond)} rows/s`, '', '-']);
    rows.push(['  same COPY into events with its 3 indexes', `${n(r.limits.db.perSecond)} rows/s`, '', '-']);
  }
  const pg = r.backfill.postgres;
  const backfillTarget = Number.isNaN(limit) ? ['(run the limits stage)', '-'] : [`>= ${n(limit / 2)} events/s`, check(pg ? pg.perSecond >= limit / 2 : undefined)];
  const built = (b: NonNullable<typeof pg>) => (b.indexBuildSeconds === undefined ? '' : ` (${b.indexBuildSeconds.toFixed(1)} s of it building indexes)`);
  if (pg) rows.push([`backfill postgres (MAX_BLOCK_RANGE=${r.settings.maxBlockRange})`, `${n(pg.perSecond)} events/s, ${pg.seconds.toFixed(1)} s${built(pg)}`, backfillTarget[0]!, backfillTarget[1]!]);
  if (pg?.cpuMicrosPerEvent) {
    const c = pg.cpuMicrosPerEvent;
    rows.push(['  CPU per event (user+sys, no steal)', `indexer ${c.indexer} µs, postgres ${c.postgres} µs, anvil ${c.anvil} µs`, '', '-']);
  }
  const lite = r.backfill.pglite;
  if (lite) rows.push(['backfill pglite', `${n(lite.perSecond)} events/s, ${lite.seconds.toFixed(1)} s${built(lite)}`, '', '-']);
  if (r.rebuild && pg) rows.push(['rebuild (postgres)', `${n(r.rebuild.perSecond)} events/s, ${r.rebuild.seconds.toFixed(1)} s`, `>= ${n(2 * pg.perSecond)} events/s`, check(r.rebuild.perSecond >= 2 * pg.perSecond)]);
  for (const reorg of [r.reorgSmall, r.reorg]) {
    if (reorg) rows.push([`reorg depth ${reorg.depth} (${n(reorg.storedEvents ?? r.chain.events)} events stored)`, `${ms(reorg.durationMs)} (seen ${ms(reorg.detectedAfterMs)} after)`, '<= 250 ms', check(reorg.durationMs <= 250)]);
  }
  if (r.live) {
    const target = r.settings.pollIntervalMs + 100;
    rows.push([`live (via /${r.live.via}, ${r.live.samples} blocks, poll ${r.settings.pollIntervalMs} ms)`, `p50 ${ms(r.live.p50)}, p99 ${ms(r.live.p99)}`, `p99 <= ${target} ms`, check(r.live.p99 <= target)]);
  }
  for (const a of r.api) {
    if (!a.available) rows.push([`api ${a.route}`, 'missing (route not implemented)', 'p99 <= 10 ms', 'NO']);
    else rows.push([`api ${a.route} (64 conns)`, `p50 ${ms(a.p50Ms!)}, p99 ${ms(a.p99Ms!)}, ${n(a.requestsPerSecond!)} req/s${a.non2xx ? `, ${a.non2xx} non-2xx` : ''}`, 'p99 <= 10 ms', check(a.p99Ms! <= 10 && !a.non2xx)]);
  }
  if (pg) rows.push(['rss peak, backfill postgres', `${n(pg.peakRssMb)} MB (${n(pg.rssAt10PercentMb)} MB at 10%)`, '<= 300 MB, flat', check(pg.peakRssMb <= 300)]);
  if (lite) rows.push(['rss peak, backfill pglite', `${n(lite.peakRssMb)} MB (${n(lite.rssAt10PercentMb)} MB at 10%)`, '', '-']);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['measure', 'result', 'target', 'ok'][i]!.length));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |\n`;
  const c = r.chain;
  return (
    `\nchain: ${n(c.events)} events, ${n(c.blocks)} blocks (${n(c.emptyBlocks)} empty, up to ${c.maxEventsPerBlock} events per block), ${n(c.chamas)} chamas; ` +
    `built in ${c.buildSeconds} s${c.cached ? ' (cached)' : ''}, loaded by anvil in ${c.loadSeconds.toFixed(1)} s; ${r.machine.cpus} CPUs, node ${r.machine.node}\n\n` +
    line(['measure', 'result', 'target', 'ok']) +
    line(widths.map((w) => '-'.repeat(w))) +
    rows.map((row) => line(row)).join('')
  );
}
