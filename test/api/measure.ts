/**
 * Latency and memory figures for the API on PostgreSQL with a large synthetic event log
 * (not a test; run by hand): `npx tsx test/api/measure.ts [events]`.
 * Spawns the server as a child process, loads it with autocannon, and samples the server's RSS
 * during a full NDJSON export.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/api/app.ts';
import { migrate, openDb } from '../../src/store/db.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../helpers/db.ts';

const chainId = 31337;

if (process.argv[2] === 'serve') {
  const db = await openDb({ databaseUrl: process.argv[3]! });
  const app = createApp({ db, chainId, logger: pino({ level: 'silent' }) });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.stdout.write(`${info.port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  const total = Number(process.argv[2] ?? 1_000_000);
  const url = await createPostgresDatabase();
  const db = await openDb({ databaseUrl: url });
  try {
    await migrate(db);
    let t = performance.now();
    const contract = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
    // 4 logs a block; chama i % 1000 + 1; a mix of the four events, args as the decoder stores them.
    await db.orm.execute(sql`INSERT INTO events (chain_id, block_number, block_hash, log_index, tx_hash, tx_index, address, event, chama_id, account, topics, data, args)
      SELECT ${chainId}, i / 4, '0x' || md5((i / 4)::text) || md5((i / 4)::text), i % 4, '0x' || md5(i::text) || md5(i::text), 0, ${contract},
             (ARRAY['ChamaCreated','MemberJoined','ContributionMade','PayoutProcessed'])[i % 4 + 1], (i % 1000 + 1)::numeric,
             '0x' || lpad(to_hex(i % 50), 40, '0'), ARRAY[]::text[], '0x',
             jsonb_build_object('chamaId', (i % 1000 + 1)::text, 'contributor', '0x' || lpad(to_hex(i % 50), 40, '0'), 'amount', '1000000000000000000', 'round', '1', 'timestamp', '1700000000')
      FROM generate_series(0, ${total - 1}) i`);
    await db.orm.execute(sql`INSERT INTO cursor (chain_id, block_number, block_hash, finalized_block, events_total) VALUES (${chainId}, ${Math.floor((total - 1) / 4)}, '0xabc', 0, ${total})`);
    await db.orm.execute(sql`INSERT INTO chamas (chain_id, address, chama_id, creator, name, contribution_amount, max_members, member_count, current_round, total_contributed, total_paid_out, created_at_block, updated_at_block)
      SELECT ${chainId}, ${contract}, i, '0x' || lpad(to_hex(i % 50), 40, '0'), 'chama ' || i, 1000000000000000000, 10, 5, 3, 10000000000000000000, 5000000000000000000, i, i + 10 FROM generate_series(1, 1000) i`);
    await db.orm.execute(sql`ANALYZE`);
    console.log(`seeded ${total} events in ${Math.round(performance.now() - t)} ms`);

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/api/measure.ts', 'serve', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
    const base = `http://127.0.0.1:${port}`;
    const rss = () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (k: string) => Number(/\d+/.exec(status.split('\n').find((l) => l.startsWith(k)) ?? '0')![0]);
      return { rssMb: Math.round(kb('VmRSS:') / 1024), hwmMb: Math.round(kb('VmHWM:') / 1024) };
    };

    const firstPage: any = await (await fetch(`${base}/events?limit=1000&fromBlock=100000`)).json();
    const cursorMid = firstPage.nextCursor;
    for (const [name, path] of [
      ['GET /chamas/:id', '/chamas/500'],
      ['GET /events (1000 rows)', `/events?limit=1000&cursor=${cursorMid}`],
    ] as const) {
      for (const connections of [1, 10]) {
        const out = execFileSync('npx', ['autocannon', '-c', String(connections), '-d', '8', '--json', `${base}${path}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        const r = JSON.parse(out);
        console.log(`${name}: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${Math.round(r.requests.average)} req/s, ${r.non2xx} non-2xx (${connections} connection(s), 8 s)`);
      }
    }

    const before = rss();
    let peak = before.rssMb;
    const sampler = setInterval(() => (peak = Math.max(peak, rss().rssMb)), 100);
    t = performance.now();
    const res = await fetch(`${base}/events?format=ndjson`);
    let bytes = 0;
    let lines = 0;
    const timeline: string[] = [];
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) {
        if (b === 10 && ++lines % 200_000 === 0) timeline.push(`${lines / 1000}k: ${rss().rssMb} MB`);
      }
    }
    console.log(`server RSS during the export: ${timeline.join(', ')}`);
    clearInterval(sampler);
    console.log(`NDJSON export: ${lines} lines, ${Math.round(bytes / 1e6)} MB in ${Math.round(performance.now() - t)} ms; server RSS before ${before.rssMb} MB, peak during ${peak} MB`);
    child.kill('SIGTERM');
  } finally {
    await db.close();
    await dropPostgresDatabase(url);
  }
}
