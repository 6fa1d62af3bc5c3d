import autocannon from 'autocannon';
import type { Hex } from 'viem';
import type { Artifact } from './contract.ts';
import { memberOf, op, runCalldata } from './chain.ts';
import type { IndexerChild } from './child.ts';
import { hexNumber, type JsonRpc } from './jsonrpc.ts';

/** Measurements against a running `chama-indexer start` (indexer + API) on the full database. */

const from = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Percentiles = { p50: number; p99: number; samples: number };

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

export async function indexedBlock(api: string): Promise<number> {
  const { body } = await getJson(`${api}/status`);
  return Number((body as { indexedBlock: number | null }).indexedBlock ?? -1);
}

export async function waitForIndexed(api: string, block: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await indexedBlock(api).catch(() => -1)) < block) {
    if (Date.now() > deadline) throw new Error(`the indexer did not reach block ${block} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export type ApiResult = { route: string; available: boolean; p50Ms?: number; p99Ms?: number; requestsPerSecond?: number; non2xx?: number; errors?: number };

/**
 * autocannon with 64 connections on one route, each request for a random id out of `paths`,
 * after a 2-second warm-up at the same load that is not counted (steady state: the server's
 * response cache is filled, as it is on any server that has been up for more than a moment).
 */
export async function measureApi(api: string, route: string, paths: string[], seconds: number): Promise<ApiResult> {
  const probe = await getJson(`${api}${paths[0]}`);
  if (probe.status === 404 && JSON.stringify(probe.body).includes('no route')) return { route, available: false };
  const result = await autocannon({
    url: api,
    connections: 64,
    duration: seconds,
    warmup: { connections: 64, duration: 2 },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[Math.floor(Math.random() * paths.length)]! }) }],
  });
  return { route, available: true, p50Ms: result.latency.p50, p99Ms: result.latency.p99, requestsPerSecond: result.requests.average, non2xx: result.non2xx, errors: result.errors };
}

/** Sends one ChamaBench transaction (one block, automine); resolves once the block is sealed. */
async function mineEvents(rpc: JsonRpc, artifact: Artifact, address: Hex, ops: bigint[]): Promise<number> {
  const hash = await rpc.call<Hex>('eth_sendTransaction', [{ from, to: address, data: runCalldata(artifact, ops), gas: hexNumber(1_000_000) }]);
  for (;;) {
    const receipt = await rpc.call<{ blockNumber: Hex; status: Hex } | null>('eth_getTransactionReceipt', [hash]);
    if (receipt) {
      if (receipt.status !== '0x1') throw new Error(`bench transaction ${hash} reverted`);
      return Number(receipt.blockNumber);
    }
    await sleep(1);
  }
}

export type LiveResult = Percentiles & { via: 'events' | 'status' };

/**
 * From a block mined to its event visible over HTTP: GET /events?fromBlock=N when the API has
 * it, else GET /status indexedBlock >= N. Each block creates a new chama (ChamaCreated and the
 * creator's MemberJoined: valid history), at a random phase of the poll interval.
 */
export async function measureLive(args: { api: string; rpc: JsonRpc; artifact: Artifact; address: Hex; firstChamaId: number; blocks: number; pollIntervalMs: number }): Promise<LiveResult> {
  const { api, rpc, artifact, address, blocks, pollIntervalMs } = args;
  const probe = await getJson(`${api}/events?fromBlock=0&limit=1`);
  const via = probe.status === 200 ? 'events' : 'status';
  const latencies: number[] = [];
  for (let i = 0; i < blocks; i++) {
    await sleep(Math.random() * pollIntervalMs);
    const id = args.firstChamaId + i;
    const block = await mineEvents(rpc, artifact, address, [op(0, id, 5, 0, 1, 1)]);
    const mined = performance.now();
    for (;;) {
      if (via === 'events') {
        const { body } = await getJson(`${api}/events?fromBlock=${block}&toBlock=${block}&limit=10`);
        if (((body as { data?: unknown[] }).data ?? []).length > 0) break;
      } else if ((await indexedBlock(api)) >= block) break;
      if (performance.now() - mined > 30_000) throw new Error(`block ${block} not visible after 30 s`);
      await sleep(2);
    }
    latencies.push(performance.now() - mined);
  }
  return { ...percentiles(latencies), via };
}

export type ReorgResult = { depth: number; durationMs: number; detectedAfterMs: number; orphanedEvents: number; storedEvents?: number };

/**
 * A depth-10 reorg at the head: snapshot, mine 10 blocks with events and let the indexer take
 * them, revert, mine 11 other blocks. The indexer's own 'reorg: rewound to the common ancestor'
 * line gives the handling time (duration_ms); detectedAfterMs adds the wait for its next poll.
 */
export async function measureReorg(args: { api: string; rpc: JsonRpc; child: IndexerChild; artifact: Artifact; address: Hex; firstChamaId: number }): Promise<ReorgResult> {
  const { api, rpc, child, artifact, address } = args;
  const snapshot = await rpc.call<Hex>('evm_snapshot');
  let tip = 0;
  for (let i = 0; i < 10; i++) tip = await mineEvents(rpc, artifact, address, [op(0, args.firstChamaId + i, 5, 0, 1, 3)]);
  await waitForIndexed(api, tip);
  const rewound = child.waitFor((l) => l.msg === 'reorg: rewound to the common ancestor', 60_000);
  if (!(await rpc.call<boolean>('evm_revert', [snapshot]))) throw new Error('evm_revert failed');
  await rpc.call('anvil_mine', [hexNumber(11)]);
  const reorgAt = performance.now();
  const line = await rewound;
  return { depth: Number(line.depth), durationMs: Number(line.duration_ms), detectedAfterMs: line.at - reorgAt, orphanedEvents: Number(line.orphaned_events) };
}

/** Paths for the API load: chama ids that exist, and accounts of the member pool. */
export function apiPaths(ids: number[]): { chamas: string[]; accounts: string[] } {
  return { chamas: ids.map((id) => `/chamas/${id}`), accounts: ids.slice(0, 500).map((id) => `/accounts/${memberOf(id, 1)}`) };
}
