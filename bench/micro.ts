/**
 * Per-event cost of each CPU stage of the backfill, on real logs of a cached bench chain, to
 * size the optimisations the profile points at. Single-threaded, best of 3.
 *
 * @example npx tsx bench/micro.ts [--events 20000]   (the chain must be built: npm run bench -- --events N)
 */
import { parseArgs } from 'node:util';
import { decodeEventLog, type Hex } from 'viem';
import { pino } from 'pino';
import { chamaEventsAbi, chamaTopics } from '../src/decode/abi.ts';
import { createDecoder } from '../src/decode/decoder.ts';
import { createRpc, logsSchema, type RpcLog } from '../src/rpc/client.ts';
import { eventCopy, eventRows, toRecord } from '../src/store/events.ts';
import { createWorkingSet, foldEvents, touchedKeys } from '../src/projections/fold.ts';
import { projectionWrites } from '../src/projections/persist.ts';
import { startBenchAnvil } from './anvil.ts';
import { anvilChainArgs, chainDir, readChainInfo } from './chain.ts';
import { compileBenchContract } from './contract.ts';
import { createJsonRpc, hexNumber } from './jsonrpc.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' } } });
const events = Number(values.events);
const spec = { events, blocks: Math.max(Math.ceil(events * 0.12), 100), seed: 1 };
const dataDir = new URL('../.data/bench', import.meta.url).pathname;
const info = readChainInfo(chainDir(dataDir, spec, compileBenchContract(dataDir)));
if (!info) throw new Error(`no cached chain for ${events} events: run npm run bench -- --events ${events} first`);

const anvil = await startBenchAnvil([...anvilChainArgs, '--load-state', info.stateFile]);
const rpc = createJsonRpc(anvil.rpcUrl);
const bodies: string[] = [];
for (let from = 0; from <= info.head; from += 500) {
  bodies.push(await rpc.callRaw('eth_getLogs', [{ address: info.address, topics: [chamaTopics], fromBlock: hexNumber(from), toBlock: hexNumber(Math.min(info.head, from + 499)) }]));
}
// The whole eth_getLogs path of src/rpc/client.ts (fetch, read, parse, checks) in
// this process's CPU time (anvil's is its own): best of 5 passes after one to warm up.
const client = createRpc({ urls: [anvil.rpcUrl], logger: pino({ level: 'warn' }) });
let rpcPath = Infinity;
for (let pass = 0; pass < 6; pass++) {
  const before = process.cpuUsage();
  for (let from = 0; from <= info.head; from += 500) await client.logs({ addresses: [info.address], topics: chamaTopics, from, to: Math.min(info.head, from + 499) });
  const used = process.cpuUsage(before);
  if (pass > 0) rpcPath = Math.min(rpcPath, (used.user + used.system) / info.events);
}
await anvil.stop();
process.stdout.write(`${'createRpc().logs: fetch, read, parse, checks (CPU time)'.padEnd(58)} ${rpcPath.toFixed(2).padStart(7)} µs/event\n`);

function time(label: string, fn: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  const perEvent = (best * 1000) / info!.events;
  process.stdout.write(`${label.padEnd(58)} ${perEvent.toFixed(2).padStart(7)} µs/event  ${Math.round(info!.events / (best / 1000)).toLocaleString('en-US').padStart(11)} events/s\n`);
  return perEvent;
}

const raws = bodies.map((b) => (JSON.parse(b) as { result: RpcLog[] }).result);
const logs = raws;

time('JSON.parse of the eth_getLogs answers', () => bodies.map((b) => JSON.parse(b)));
time('logsSchema: the checks of eth_getLogs (rpc/client.ts)', () => raws.map((r) => logsSchema.parse(r)));
const plain = (l: RpcLog) => typeof l.address === 'string' && l.address.length === 42 && Array.isArray(l.topics) && typeof l.data === 'string' && typeof l.blockHash === 'string' && l.blockHash.length === 66 && typeof l.transactionHash === 'string' && l.transactionHash.length === 66;
time('hand-written shape check (lengths, typeof)', () => raws.forEach((r) => r.forEach((l) => { if (!plain(l)) throw new Error('bad'); })));
const decoder = createDecoder(31337);
time('createDecoder().decode (decodeEventLog per log + args)', () => logs.map((l) => decoder.decode(l)));
const byTopic = new Map(chamaTopics.map((t, i) => [t, chamaEventsAbi[i]!]));
time('decodeEventLog alone (abi: [item], strict)', () => logs.forEach((ls) => ls.forEach((l) => decodeEventLog({ abi: [byTopic.get(l.topics[0]!)!], data: l.data, topics: l.topics as [Hex, ...Hex[]], strict: true }))));
const word = (data: string, i: number) => BigInt(`0x${data.slice(2 + 64 * i, 66 + 64 * i)}`);
const addr = (topic: string) => `0x${topic.slice(26)}`;
time('hand decoder per topic0 (slice words, BigInt)', () =>
  logs.forEach((ls) =>
    ls.forEach((l) => {
      const [t0, t1, t2] = l.topics;
      const args: Record<string, unknown> = { chamaId: BigInt(t1!) };
      if (t0 === chamaTopics[1]) args.member = addr(t2!);
      else if (t0 === chamaTopics[0]) Object.assign(args, { creator: addr(t2!), contributionAmount: word(l.data, 1), maxMembers: word(l.data, 2) });
      else Object.assign(args, { who: addr(t2!), amount: word(l.data, 0), round: word(l.data, 1), timestamp: word(l.data, 2) });
    }),
  ),
);
const decoded = logs.map((l) => decoder.decode(l));
time('toRecord (store/events.ts)', () => decoded.map((d) => d.map(toRecord)));
const records = decoded.map((d) => d.map(toRecord));
time('JSON.stringify records with the bigint replacer (bulk.ts)', () => records.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))));
time('JSON.stringify records, no replacer', () => records.map((r) => JSON.stringify(r)));
time('COPY text lines for the same records', () =>
  records.map((rs) => rs.map((r) => `${r.chain_id}\t${r.block_number}\t${r.block_hash}\t${r.log_index}\t${r.tx_hash}\t${r.tx_index}\t${r.address}\t${r.event}\t${r.chama_id}\t${r.account}\t{${(r.topics ?? []).join(',')}}\t${r.data}\n`).join('')),
);

// The indexer's own stages, on the same events, as the backfill runs them per batch.
time('eventRows: the events INSERT (store/events.ts)', () => decoded.map((d) => eventRows(d)));
time('eventCopy: the events COPY data (store/events.ts)', () => decoded.map((d) => eventCopy(d)));
time('touchedKeys (projections/fold.ts)', () => decoded.map((d) => touchedKeys(d)));
const foldAll = () => {
  const ws = createWorkingSet();
  return decoded.map((d) => {
    ws.changed = { chamas: new Set(), members: new Set() };
    foldEvents(ws, d);
    return { ...ws };
  });
};
time('foldEvents per batch (projections/fold.ts)', foldAll);
const folded = foldAll();
time('projectionWrites per batch (projections/persist.ts)', () => folded.map((ws) => projectionWrites(ws, { chamas: true, members: true })));
// As the backfill runs them: each pass decodes anew (new strings, whose hashes the fold's keys
// compute again unless the decoder hands back values it has seen), then keys and folds.
const pipelineDecoder = createDecoder(31337);
time('decode + touchedKeys + foldEvents, decoded anew each pass', () => {
  const ws = createWorkingSet();
  for (const l of logs) {
    const events = pipelineDecoder.decode(l);
    ws.changed = { chamas: new Set(), members: new Set() };
    foldEvents(ws, events, touchedKeys(events).rows);
  }
});
