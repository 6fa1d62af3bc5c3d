import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real JSON-RPC hop between the indexer and anvil that can misbehave on demand, for the
 * faults a healthy anvil cannot produce: a node lagging behind (it answers an older head and
 * does not have the newer blocks) and transient HTTP failures.
 */
export type RpcProxy = {
  url: string;
  /** Pretend to be `blocks` behind the real head; 0 to stop. */
  lagBy(blocks: number): void;
  /** Answer the next `count` requests with this HTTP status. */
  failNext(count: number, status?: number): void;
  /** Refuse eth_getLogs over more than `blocks` blocks, as providers do (0 to stop); counts refusals. */
  maxLogRange(blocks: number): void;
  refusedRanges: number;
  /** Delay every answer by this many milliseconds (0 to stop). */
  slow(ms: number): void;
  /** Answer matching JSON-RPC calls with a JSON-RPC error (e.g. one contract view), until cleared with undefined. */
  failCalls(match: ((call: { method: string; params?: unknown[] }) => boolean) | undefined): void;
  /** Runs before each call is handled (e.g. to change the chain at an exact moment), until cleared with undefined. */
  beforeCall(hook: ((call: { method: string; params?: unknown[] }) => Promise<void>) | undefined): void;
  requests: number;
  close(): Promise<void>;
};

type Call = { jsonrpc: string; id: unknown; method: string; params?: unknown[] };

export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
  let lag = 0;
  let failures = 0;
  let failStatus = 503;
  let failing: ((call: Call) => boolean) | undefined;
  let before: ((call: Call) => Promise<void>) | undefined;
  let delayMs = 0;
  let logRange = 0;
  let refused = 0;
  const state = { requests: 0 };

  async function forward(call: Call): Promise<unknown> {
    const response = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(call) });
    return response.json();
  }

  async function handle(call: Call): Promise<unknown> {
    await before?.(call);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (logRange > 0 && call.method === 'eth_getLogs') {
      const f = (call.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string };
      if (Number(f.toBlock) - Number(f.fromBlock) + 1 > logRange) {
        refused++;
        return { jsonrpc: '2.0', id: call.id, error: { code: -32005, message: `query returned more than 10000 results; try a range of at most ${logRange} blocks` } };
      }
    }
    if (failing?.(call)) return { jsonrpc: '2.0', id: call.id, error: { code: -32603, message: 'injected failure for this call' } };
    if (lag === 0) return forward(call);
    const head = Number(((await forward({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber' })) as { result: string }).result);
    const visible = head - lag;
    if (call.method === 'eth_blockNumber') return { jsonrpc: '2.0', id: call.id, result: `0x${visible.toString(16)}` };
    if (call.method === 'eth_getBlockByNumber') {
      const tag = call.params?.[0];
      if (typeof tag === 'string' && tag.startsWith('0x') && Number(tag) > visible) return { jsonrpc: '2.0', id: call.id, result: null };
      if (tag === 'latest') return forward({ ...call, params: [`0x${visible.toString(16)}`, ...(call.params ?? []).slice(1)] });
    }
    if (call.method === 'eth_getLogs') {
      const filter = (call.params?.[0] ?? {}) as { toBlock?: string };
      if (filter.toBlock && Number(filter.toBlock) > visible) return { jsonrpc: '2.0', id: call.id, error: { code: -32000, message: 'header not found' } };
    }
    return forward(call);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      state.requests++;
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus, { 'content-type': 'text/plain' }).end('injected failure');
        return;
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Call | Call[];
        const answer = Array.isArray(body) ? await Promise.all(body.map(handle)) : await handle(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      } catch (error) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lagBy: (blocks) => {
      lag = blocks;
    },
    failNext: (count, status = 503) => {
      failures = count;
      failStatus = status;
    },
    maxLogRange: (blocks) => {
      logRange = blocks;
    },
    get refusedRanges() {
      return refused;
    },
    slow: (ms) => {
      delayMs = ms;
    },
    failCalls: (match) => {
      failing = match;
    },
    beforeCall: (hook) => {
      before = hook;
    },
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
