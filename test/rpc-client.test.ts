import { createServer, type Server } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryableError } from '../src/common/errors.ts';
import { createRpc, logsSchema, RangeTooLargeError } from '../src/rpc/client.ts';
import { silent } from './helpers/indexing.ts';

/**
 * The RPC client's reading of eth_getLogs answers (size cap, encodings, failures, checks),
 * against a real HTTP server that answers with a fixed list of logs, announcing its length or
 * streaming it in chunks as many providers do behind a proxy. The client POSTs eth_getLogs to a
 * single HTTP node itself and leaves several URLs to viem's transport: both are tested alike.
 */
const log = (i: number) => ({
  address: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  topics: [`0x${'1'.repeat(64)}`],
  data: '0x',
  blockNumber: '0x1',
  blockHash: `0x${'2'.repeat(64)}`,
  transactionHash: `0x${'3'.repeat(64)}`,
  transactionIndex: '0x0',
  logIndex: `0x${i.toString(16)}`,
  removed: false,
});

const refusalMessage = 'query returned more than 10000 results — límite de la consulta, 結果が多すぎます';

describe('rpc client', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    let answered = 0;
    server = createServer((req, res) => {
      answered++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const call = JSON.parse(body) as { id: number };
        if (req.url === '/refused') {
          // Not ASCII, and sent a few bytes at a time so characters straddle the chunks.
          const refusal = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: call.id, error: { code: -32005, message: refusalMessage } }));
          res.writeHead(200, { 'content-type': 'application/json' });
          for (let i = 0; i < refusal.length; i += 7) res.write(refusal.subarray(i, i + 7));
          return res.end();
        }
        if (req.url === '/refused-400') {
          // Some providers send their JSON-RPC error with an HTTP error status.
          res.writeHead(400, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, error: { code: -32602, message: 'block range is too wide' } }));
        }
        if (req.url === '/not-json') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html><body>502 Bad Gateway</body></html>');
        }
        const logs: unknown[] = Array.from({ length: 200 }, (_, i) => log(i));
        if (req.url === '/malformed' || (req.url === '/malformed-once' && answered % 2 === 1)) logs[137] = { ...log(137), blockHash: '0x2' };
        // Logs share these values with the log before, which is not scanned again: a bad one is still seen.
        if (req.url === '/malformed-shared') logs[150] = { ...log(150), topics: [`0x${'g'.repeat(64)}`], address: `0x${'G'.repeat(40)}` };
        if (req.url === '/not-a-list') return res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: { logs } }));
        const answer = JSON.stringify({ jsonrpc: '2.0', id: call.id, result: logs });
        const encode = { '/gzip': gzipSync, '/deflate': deflateSync, '/br': brotliCompressSync }[req.url ?? ''];
        if (encode) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': req.url!.slice(1) });
          return res.end(encode(answer));
        }
        if (req.url === '/unavailable') {
          res.writeHead(503, { 'content-type': 'text/plain' });
          return res.end('try again later');
        }
        if (req.url === '/stall') return; // never answers
        if (req.url === '/stall-body') {
          // Headers and a part of the body, then nothing.
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.write(answer.slice(0, 1000));
        }
        if (req.url === '/cut') {
          // Headers and half the body, then the connection is gone.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
          res.write(answer.slice(0, answer.length >> 1));
          return setTimeout(() => res.socket?.destroy(), 20);
        }
        if (req.url === '/chunked') {
          res.writeHead(200, { 'content-type': 'application/json' });
          for (let i = 0; i < answer.length; i += 4096) res.write(answer.slice(i, i + 4096));
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
          res.end(answer);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const filter = { addresses: ['0x5fbdb2315678afecb367f032d93f642f64180aa3' as const], topics: [`0x${'1'.repeat(64)}` as const], from: 1, to: 1 };
  const rpcFor = (path: string, { maxResponseBytes, timeoutMs, viaViem = false, retries = 0 }: { maxResponseBytes?: number; timeoutMs?: number; viaViem?: boolean; retries?: number } = {}) =>
    createRpc({ urls: viaViem ? [`${url}${path}`, `${url}${path}`] : [`${url}${path}`], logger: silent, retries, ...(maxResponseBytes ? { maxResponseBytes } : {}), ...(timeoutMs ? { timeoutMs } : {}) });

  describe.each([
    ['POSTed by the client', false],
    ["through viem's transport", true],
  ])('eth_getLogs %s', (_, viaViem) => {
    const logsFrom = (path: string, maxResponseBytes?: number, timeoutMs?: number) => rpcFor(path, { viaViem, ...(maxResponseBytes ? { maxResponseBytes } : {}), ...(timeoutMs ? { timeoutMs } : {}) }).logs(filter);

    it.each(['/', '/chunked'])('reads an answer within the cap whole (%s)', async (path) => {
      const logs = await logsFrom(path);
      expect(logs).toHaveLength(200);
      expect(logs[199]).toMatchObject({ logIndex: '0xc7', blockNumber: '0x1', transactionIndex: '0x0' });
    });

    it.each(['/gzip', '/deflate', '/br'])('reads a compressed answer (%s)', async (path) => {
      const logs = await logsFrom(path);
      expect(logs).toHaveLength(200);
      expect(logs[199]).toMatchObject({ logIndex: '0xc7' });
    });

    it('caps a compressed answer by its decompressed size', async () => {
      const error = await logsFrom('/gzip', 10_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeTooLargeError);
    });

    it.each([
      ['/unavailable', /HTTP 503/],
      ['/cut', /aborted|ECONNRESET|socket hang up/],
    ])('takes a failed answer for a transient failure to retry (%s)', async (path, message) => {
      const error = await logsFrom(path, undefined, 300).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableError);
      expect((error as Error).message).toMatch(message);
    });

    it.each(['/stall', '/stall-body'])('takes a log range that times out for one to split (%s)', async (path) => {
      const error = await logsFrom(path, undefined, 300).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeTooLargeError);
      expect((error as Error).message).toMatch(/took too long/);
    });

    it.each(['/', '/chunked'])('refuses an answer over the cap as a log range to split (%s)', async (path) => {
      const error = await logsFrom(path, 10_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeTooLargeError);
      expect((error as Error).message).toMatch(/exceeded the size limit/);
    });

    it('reads a JSON-RPC error sent with an HTTP error status', async () => {
      const error = await logsFrom('/refused-400').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeTooLargeError);
      expect((error as Error).message).toMatch(/block range is too wide/);
    });

    it.each([
      ['/malformed', /answer to eth_getLogs is malformed: a log without the fields and hex formats of eth_getLogs at 137/],
      ['/malformed-shared', /answer to eth_getLogs is malformed: a log without the fields and hex formats of eth_getLogs at 150/],
      ['/not-a-list', /answer to eth_getLogs is malformed: not a list of logs/],
    ])('refuses a malformed answer, naming the first bad log (%s)', async (path, message) => {
      const error = await logsFrom(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableError);
      expect((error as Error).message).toMatch(message);
    });

    it('reads an answer that is not ASCII as UTF-8, whatever its chunks', async () => {
      const error = await logsFrom('/refused').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeTooLargeError);
      expect((error as Error).message).toContain(refusalMessage);
    });

    it('retries an answer that is not JSON', async () => {
      const error = await logsFrom('/not-json').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableError);
    });
  });

  describe('an answer parsed when taken', () => {
    it('counts its logs on arrival and checks them when taken', async () => {
      const pending = await rpcFor('/chunked').pendingLogs(filter);
      expect(pending.count).toBe(200);
      const logs = await pending.take();
      expect(logs).toHaveLength(200);
      expect(logs[199]).toMatchObject({ logIndex: '0xc7' });
    });

    it('fails at once when the node refuses the range', async () => {
      const error = await rpcFor('/refused').pendingLogs(filter).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeTooLargeError);
    });

    it('fetches an answer found malformed when taken again, with the retries of any call', async () => {
      const rpc = rpcFor('/malformed-once', { retries: 2 });
      const pending = await rpc.pendingLogs(filter);
      expect(pending.count).toBe(200);
      const logs = await pending.take();
      expect(logs).toHaveLength(200);
      expect(logs[137]).toMatchObject({ blockHash: `0x${'2'.repeat(64)}` });
      // The first answer, then a malformed one retried, or the good one at once.
      expect(rpc.stats.requests).toBeGreaterThanOrEqual(2);
    });

    it('names the first bad log when every answer is malformed', async () => {
      const pending = await rpcFor('/malformed').pendingLogs(filter);
      const error = await pending.take().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableError);
      expect((error as Error).message).toMatch(/malformed: a log without the fields and hex formats of eth_getLogs at 137/);
    });
  });
});

describe('the checks of an eth_getLogs answer', () => {
  const word = (c: string) => `0x${c.repeat(64)}`;
  // Few values per field, so logs repeat the one before's (the checks' shortcut) or not; now
  // and then a value that is not hex, has the wrong length, or is missing.
  const field = <T,>(good: readonly T[], bad: readonly T[]) => fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 14 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });
  const topic = field([word('a'), word('b'), word('B')], [word('g'), '0x12', 7]);
  const rawLog = fc.record({
    address: field(['0x5fbdb2315678afecb367f032d93f642f64180aa3', '0x5FbDB2315678afecb367f032d93F642f64180aa3'], ['0x5fbdb2315678afecb367f032d93f642f64180aag', '0x1', undefined]),
    topics: fc.oneof({ arbitrary: fc.array(topic, { maxLength: 4 }), weight: 14 }, { arbitrary: fc.constantFrom([word('a'), word('a'), word('a'), word('a'), word('a')], '0x1'), weight: 1 }),
    data: field(['0x', `0x${'00'.repeat(32)}`, `0x${'Ab'.repeat(32)}`], ['0x0', '0xzz', 3]),
    blockNumber: field(['0x1', '0x2'], ['0x', '0xq', 1]),
    blockHash: field([word('2'), word('3')], [word('x'), '0x2']),
    transactionHash: field([word('4'), word('5')], [`${word('5')}0`]),
    transactionIndex: field(['0x0', '0x1'], ['0x', undefined]),
    logIndex: field(['0x0', '0x1f'], ['0x', 'zz']),
    removed: field<unknown>([false, true, undefined], ['no']),
  });
  /** The rule, written plainly: every field of every log checked on its own. */
  const hex = (v: unknown, length?: number) => typeof v === 'string' && /^0x[0-9a-fA-F]*$/.test(v) && (length === undefined ? v.length > 2 : v.length === length);
  const valid = (l: Record<string, unknown>) =>
    hex(l.address, 42) &&
    Array.isArray(l.topics) &&
    l.topics.length <= 4 &&
    l.topics.every((t) => hex(t, 66)) &&
    typeof l.data === 'string' &&
    /^0x([0-9a-fA-F]{2})*$/.test(l.data) &&
    hex(l.blockNumber) &&
    hex(l.blockHash, 66) &&
    hex(l.transactionHash, 66) &&
    hex(l.transactionIndex) &&
    hex(l.logIndex) &&
    (l.removed === undefined || typeof l.removed === 'boolean');

  it('accept exactly the answers whose every log is well-formed, and leave their values as they were', () => {
    fc.assert(
      fc.property(fc.array(rawLog, { maxLength: 8 }), (logs) => {
        // Parsed from text, as an answer is: equal values are distinct strings.
        const answer = JSON.parse(JSON.stringify(logs)) as Record<string, unknown>[];
        const expected = JSON.parse(JSON.stringify(logs)) as unknown;
        const firstBad = answer.findIndex((l) => !valid(l));
        const checked = logsSchema.safeParse(answer);
        expect(checked.success).toBe(firstBad === -1);
        if (checked.success) expect(checked.data).toEqual(expected);
        else expect(checked.error.issues[0]?.path).toEqual([firstBad]);
      }),
      { numRuns: 2000 },
    );
  });
});
