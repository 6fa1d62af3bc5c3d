import { createPublicClient, fallback, http, webSocket, numberToHex, HttpRequestError, ResponseBodyTooLargeError, RpcRequestError, TimeoutError, type Hex, type PublicClient, type Transport } from 'viem';
import { z } from 'zod';
import { RetryableError, FatalError, IndexerError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { withRetry } from '../common/retry.ts';
import { nodeFetch } from './http-fetch.ts';
import { redactUrl } from '../store/db.ts';

export type BlockHeader = { number: number; hash: Hex; parentHash: Hex; timestamp: number };

/** The node refused a log range as too large (too many results, range limit, timeout): split it. */
export class RangeTooLargeError extends IndexerError {
  override name = 'RangeTooLargeError';
}

/**
 * The node does not have a block of the log range: its head moved back (a reorg onto a shorter
 * fork) or another node behind a load balancer answered. Not retried here: the block source
 * re-reads the head, which tells a reorg from lag.
 */
export class BlockBeyondHeadError extends IndexerError {
  override name = 'BlockBeyondHeadError';
}

export type LogFilter = { addresses: readonly Hex[]; topics: readonly Hex[]; topic1?: Hex; from: number; to: number };
/**
 * An eth_getLogs answer that has arrived: `count` logs, parsed and checked by `take`. A backfill
 * fetches a few ranges ahead, and an answer parsed when it arrived lived on until its range was
 * handed out: long enough to be copied by two scavenges and promoted, 280 MB of a 1M backfill.
 * Read as one string it sits in large-object space, never copied; parsed when taken, its logs
 * die young (promoted: 71-81 MB, `--trace-gc-nvp`). `take` checks the logs then; an answer found
 * malformed there is fetched again, with the retries of any call.
 */
export type PendingLogs = { count: number; take(): Promise<RpcLog[]> };
export type RpcStats = { requests: number; errors: number; byMethod: Map<string, { count: number; errors: number; totalMs: number }> };
/** One JSON-RPC attempt as it finished (each retry is an attempt), for metrics. */
export type RpcRequestInfo = { method: string; durationMs: number; ok: boolean };

export type Rpc = {
  /** The viem client, for contract reads (verification, demo). */
  client: PublicClient;
  chainId(): Promise<number>;
  /** eth_blockNumber */
  headNumber(): Promise<number>;
  /** eth_getBlockByNumber('finalized'); undefined where the node has no such tag. */
  finalizedNumber(): Promise<number | undefined>;
  /** eth_getBlockByNumber; undefined when the node does not have the block (yet). */
  header(number: number): Promise<BlockHeader | undefined>;
  /** eth_getLogs for the addresses and topics over [from, to]; RangeTooLargeError when refused, BlockBeyondHeadError past the node's head. */
  logs(args: LogFilter): Promise<RpcLog[]>;
  /** The same answer, read but parsed only when taken (see `PendingLogs`). */
  pendingLogs(args: LogFilter): Promise<PendingLogs>;
  /** eth_call at a block; a revert is a FatalError (retrying cannot help), a transient failure is retried. */
  call(args: { to: Hex; data: Hex; blockNumber: number }): Promise<Hex>;
  /** eth_getBalance at a block. */
  balance(address: Hex, blockNumber: number): Promise<bigint>;
  stats: RpcStats;
  /** Calls `listener` after every attempt; returns the function that stops it. */
  onRequest(listener: (request: RpcRequestInfo) => void): () => void;
};

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const quantity = z.string().regex(/^0x[0-9a-fA-F]+$/);
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const headerSchema = z.object({ number: quantity, hash, parentHash: hash, timestamp: quantity });
/**
 * One log of eth_getLogs, checked (`isRpcLog`) and handed on as the node sent it: quantities stay
 * hex strings, read where they are used. A copy of each as viem's `Log` (a new object and a
 * bigint block number) cost 0.35 µs a log on the backfill path (measured), for nothing.
 */
export type RpcLog = { address: Hex; topics: Hex[]; data: Hex; blockNumber: Hex; blockHash: Hex; transactionHash: Hex; transactionIndex: Hex; logIndex: Hex; removed?: boolean };
const hexChars = /^0x[0-9a-fA-F]*$/;
const isHex = (v: unknown, length?: number): v is string => typeof v === 'string' && (length === undefined ? v.length > 2 : v.length === length) && hexChars.test(v);
/** The hex values of the log checked just before, which the next log often repeats. */
type Checked = { address?: string; topic0?: string; topic1?: string; blockHash?: string; blockNumber?: string; transactionHash?: string; transactionIndex?: string; data?: string };
/**
 * `v` when it is a hex string (of that length), or the log before's very string when equal to
 * it (checked then, so only compared now); undefined when neither.
 */
const hexOrSame = (v: unknown, before: string | undefined, length?: number): string | undefined => (v === before ? before : isHex(v, length) ? v : undefined);
/**
 * One log of eth_getLogs. A hand-written predicate inside zod rather than a zod object: on the
 * backfill path it runs a million times, and the object schema cost 3 µs a log (measured). The
 * logs of a block share its hash and number, those of a transaction its hash and index, and a
 * contract's logs its address, a few topic0s and often a topic1, and the transfers of a round
 * their data (amount, round, timestamp): a value equal to the last log's is compared, not
 * scanned again (0.61 -> 0.46 µs a log over the bench chain, `bench/micro.ts`), and becomes that
 * very string, its own copy garbage at once (the decoder then knows repeated data by that one
 * string: decode/decoder.ts). The logs of a range live until they are folded, and what of them
 * is alive when the young generation fills is copied, then promoted: a 1M backfill promoted
 * 390-453 MB against 737 without the sharing (`--trace-gc-nvp`).
 */
function isRpcLog(v: unknown, before: Checked): v is RpcLog {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as RpcLog;
  const topics = l.topics as unknown[];
  if (!Array.isArray(topics) || topics.length > 4) return false;
  if (topics.length > 0) {
    const topic0 = hexOrSame(topics[0], before.topic0, 66);
    if (topic0 === undefined) return false;
    topics[0] = before.topic0 = topic0;
  }
  if (topics.length > 1) {
    const topic1 = hexOrSame(topics[1], before.topic1, 66);
    if (topic1 === undefined) return false;
    topics[1] = before.topic1 = topic1;
  }
  for (let i = 2; i < topics.length; i++) if (!isHex(topics[i], 66)) return false;
  const address = hexOrSame(l.address, before.address, 42);
  const blockHash = hexOrSame(l.blockHash, before.blockHash, 66);
  const blockNumber = hexOrSame(l.blockNumber, before.blockNumber);
  const transactionHash = hexOrSame(l.transactionHash, before.transactionHash, 66);
  const transactionIndex = hexOrSame(l.transactionIndex, before.transactionIndex);
  if (address === undefined || blockHash === undefined || blockNumber === undefined || transactionHash === undefined || transactionIndex === undefined) return false;
  l.address = before.address = address as Hex;
  l.blockHash = before.blockHash = blockHash as Hex;
  l.blockNumber = before.blockNumber = blockNumber as Hex;
  l.transactionHash = before.transactionHash = transactionHash as Hex;
  l.transactionIndex = before.transactionIndex = transactionIndex as Hex;
  const data = l.data === before.data ? before.data : typeof l.data === 'string' && l.data.length % 2 === 0 && hexChars.test(l.data) ? l.data : undefined;
  if (data === undefined) return false;
  l.data = before.data = data as Hex;
  return isHex(l.logIndex) && (l.removed === undefined || typeof l.removed === 'boolean');
}
/**
 * The answer of eth_getLogs, checked in one pass; a failure names the first bad log. Around the
 * same predicate, `z.array` of a custom schema spent more per log than the predicate itself.
 */
export const logsSchema = z.custom<RpcLog[]>().superRefine((v, ctx) => {
  if (!Array.isArray(v)) return void ctx.addIssue({ code: 'custom', message: 'not a list of logs' });
  const before: Checked = {};
  const bad = v.findIndex((l) => !isRpcLog(l, before));
  if (bad !== -1) ctx.addIssue({ code: 'custom', message: 'a log without the fields and hex formats of eth_getLogs', path: [bad] });
});

const rangeRefusal = /(exceeded the size limit|more than \d+ results|too many (results|logs)|range (is )?too (large|wide|big)|block range|exceed(s|ed)? (the )?(maximum|max|limit)|response size|query timeout|timed? ?out|limit exceeded|-32005)/i;
// Checked before `rangeRefusal`, which would read "block range extends beyond current head" as "too large".
const beyondHead = /(block height is \d+ but requested was \d+|BlockOutOfRange|beyond (the )?(current )?head|(greater|later|higher) than (the )?(current |latest )?head|header not found|unknown block|block not found)/i;
// An answer cut short, or a proxy's error page sent as 200, is not JSON: another attempt may be whole.
const transient =
  /(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up|fetch failed|HTTP (429|5\d\d)|too many requests|rate limit|service unavailable|bad gateway|temporar|connection closed|timeout|timed out|took too long|header not found|unknown block|is not valid JSON|Unexpected end of JSON)/i;

/**
 * JSON-RPC over viem with the URLs tried in order (fallback), every answer checked with zod
 * before it is trusted, and every call retried with backoff when the failure is transient.
 * Retries happen here and nowhere else on the RPC path; viem's own retries are off.
 */
export function createRpc(args: { urls: readonly string[]; logger: Logger; timeoutMs?: number; retries?: number; maxResponseBytes?: number }): Rpc {
  const { urls, logger, timeoutMs = 30_000, retries = 6, maxResponseBytes = 64 * 1024 * 1024 } = args;
  const fetchFn = nodeFetch(maxResponseBytes);
  const transports: Transport[] = urls.map((url) => (url.startsWith('ws') ? webSocket(url, { retryCount: 0, timeout: timeoutMs }) : http(url, { retryCount: 0, timeout: timeoutMs, fetchFn, maxResponseBodySize: false })));
  const client = createPublicClient({ transport: transports.length === 1 ? transports[0]! : fallback(transports, { retryCount: 0 }), cacheTime: 0, pollingInterval: 1000 }) as PublicClient;
  const stats: RpcStats = { requests: 0, errors: 0, byMethod: new Map() };
  const where = urls.map(redactUrl).join(', ');
  const listeners = new Set<(request: RpcRequestInfo) => void>();

  /** One call, retried while it fails transiently; every attempt counted and reported. */
  function attempt<T>(method: string, run: () => Promise<T>, isRangeQuery = false): Promise<T> {
    return withRetry(
      async () => {
        const started = performance.now();
        let ok = false;
        const entry = stats.byMethod.get(method) ?? { count: 0, errors: 0, totalMs: 0 };
        stats.byMethod.set(method, entry);
        stats.requests++;
        entry.count++;
        try {
          const result = await run();
          ok = true;
          return result;
        } catch (error) {
          stats.errors++;
          entry.errors++;
          throw classify(error, method, where, isRangeQuery);
        } finally {
          const durationMs = performance.now() - started;
          entry.totalMs += durationMs;
          for (const listener of listeners) {
            try {
              listener({ method, durationMs, ok });
            } catch {
              // an observer never changes the outcome of a call
            }
          }
        }
      },
      { what: method, logger, retries },
    );
  }

  const request = <T>(method: string, params: unknown[], schema: z.ZodType<T>): Promise<T> =>
    attempt(method, async () => checked(method, schema, await client.request({ method: method as never, params: params as never }), where));

  /**
   * POSTs eth_getLogs to the one HTTP(S) node itself and parses the answer when taken; with
   * several URLs or a WebSocket, viem's transport answers, parsed at once.
   */
  const direct = urls.length === 1 && /^https?:/i.test(urls[0]!) ? urls[0]! : undefined;
  let lastId = 0;
  async function readLogs(filter: LogFilter): Promise<{ count: number; parse(): RpcLog[] }> {
    const params = [{ address: filter.addresses, topics: filter.topic1 ? [filter.topics, filter.topic1] : [filter.topics], fromBlock: numberToHex(filter.from), toBlock: numberToHex(filter.to) }];
    if (!direct) {
      return parsedNow(checked('eth_getLogs', logsSchema, await client.request({ method: 'eth_getLogs', params: params as never }), where));
    }
    const body = { jsonrpc: '2.0', id: ++lastId, method: 'eth_getLogs', params };
    const text = await post(fetchFn, direct, body, timeoutMs);
    const parse = () => logsAnswer(text, body, direct, where);
    // An answer without logs (an error, or none) is parsed now.
    const count = countLogs(text);
    return count === 0 ? parsedNow(parse()) : { count, parse };
  }
  const logs = (filter: LogFilter) => attempt('eth_getLogs', async () => (await readLogs(filter)).parse(), true);

  return {
    client,
    stats,
    async call({ to, data, blockNumber }) {
      return (await request('eth_call', [{ to, data }, numberToHex(blockNumber)], hex)) as Hex;
    },
    async balance(address, blockNumber) {
      return BigInt(await request('eth_getBalance', [address, numberToHex(blockNumber)], quantity));
    },
    onRequest(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async chainId() {
      return Number(await request('eth_chainId', [], quantity));
    },
    async headNumber() {
      return Number(await request('eth_blockNumber', [], quantity));
    },
    async finalizedNumber() {
      try {
        const block = await request('eth_getBlockByNumber', ['finalized', false], headerSchema.nullable());
        return block ? Number(block.number) : undefined;
      } catch (error) {
        if (error instanceof RetryableError) throw error;
        return undefined;
      }
    },
    async header(number) {
      const block = await request('eth_getBlockByNumber', [numberToHex(number), false], headerSchema.nullable());
      if (!block) return undefined;
      if (Number(block.number) !== number) {
        throw new RetryableError(`the RPC node answered block ${Number(block.number)} when asked for ${number}`, { block_number: number, rpc: where });
      }
      return { number, hash: block.hash as Hex, parentHash: block.parentHash as Hex, timestamp: Number(block.timestamp) };
    },
    logs,
    async pendingLogs(filter) {
      const read = await attempt('eth_getLogs', () => readLogs(filter), true);
      return {
        count: read.count,
        take: async () => {
          try {
            return read.parse();
          } catch (error) {
            if (!(error instanceof RetryableError)) throw error;
            logger.warn({ err: error.message, from_block: filter.from, to_block: filter.to }, 'an eth_getLogs answer failed its checks when taken; fetching it again');
            return logs(filter);
          }
        },
      };
    },
  };
}

/** Logs already parsed, in the shape of an answer parsed when taken. */
const parsedNow = (logs: RpcLog[]) => ({ count: logs.length, parse: () => logs });

/** `raw` when `schema` accepts it; a malformed answer is retryable: another attempt may be whole. */
function checked<T>(method: string, schema: z.ZodType<T>, raw: unknown, where: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new RetryableError(`the RPC node's answer to ${method} is malformed: ${parsed.error.issues[0]?.message} at ${parsed.error.issues[0]?.path.join('.')}`, { method, rpc: where });
}

/**
 * POSTs one JSON-RPC call and returns the text of a 2xx answer. Its failures are viem's errors,
 * as viem's transport would throw them (so `classify` reads them the same): a timeout, an HTTP
 * status with the node's JSON-RPC error where it sent one, an answer over the size cap.
 */
async function post(fetchFn: ReturnType<typeof nodeFetch>, url: string, body: { id: number; method: string; params: unknown[] }, timeoutMs: number): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let response: Response;
  try {
    response = await fetchFn(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    text = await response.text();
  } catch (error) {
    if (signal.aborted) throw new TimeoutError({ body, url });
    if (error instanceof ResponseBodyTooLargeError) throw error;
    throw new HttpRequestError({ body, cause: error as Error, url });
  }
  if (response.ok) return text;
  const answer = parseJson(text);
  if (isRpcError(answer)) throw new RpcRequestError({ body, error: answer.error, url });
  throw new HttpRequestError({ body, details: text.slice(0, 500) || response.statusText, status: response.status, url });
}

/** The logs of an eth_getLogs answer's text; the node's JSON-RPC error, classified, when it sent one. */
function logsAnswer(text: string, body: { [key: string]: unknown }, url: string, where: string): RpcLog[] {
  const answer = parseJson(text);
  if (answer === undefined) throw new RetryableError(`the RPC node's answer to eth_getLogs is not JSON: ${JSON.stringify(text.slice(0, 80))}`, { method: 'eth_getLogs', rpc: where });
  if (isRpcError(answer)) throw classify(new RpcRequestError({ body, error: answer.error, url }), 'eth_getLogs', where, true);
  return checked('eth_getLogs', logsSchema, (answer as { result?: unknown }).result, where);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isRpcError = (v: unknown): v is { error: { code: number; message: string; data?: unknown } } => {
  const error = (v as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'number' && typeof error.message === 'string';
};

/**
 * The logs of an answer's text, by their "logIndex" keys, for the range sizer (`take` parses
 * them exactly). Between two such keys lies at least one whole log's other fields, two hashes
 * and an address among them: the search for the next starts that far on, past a third of the
 * text (a whole scan was 0.33 µs an event of the bench chain, its logs 753 characters each).
 */
function countLogs(text: string): number {
  const key = '"logIndex"';
  const gap = 200;
  let count = 0;
  for (let at = text.indexOf(key); at !== -1; at = text.indexOf(key, at + gap)) count++;
  return count;
}

/** Sorts an RPC failure into: split the range, retry, or give up. Messages carry no credentials. */
function classify(error: unknown, method: string, where: string, isRangeQuery: boolean): Error {
  if (error instanceof IndexerError) return error;
  const text = describe(error);
  const context = { method, rpc: where };
  if (isRangeQuery && beyondHead.test(text)) return new BlockBeyondHeadError(`the RPC node lacks a block of the log range: ${text}`, context, { cause: error });
  if (isRangeQuery && rangeRefusal.test(text)) return new RangeTooLargeError(`the RPC node refused the log range: ${text}`, context, { cause: error });
  if (transient.test(text)) return new RetryableError(`RPC ${method} failed transiently: ${text}`, context, { cause: error });
  return new FatalError(`RPC ${method} failed: ${text}`, context, { cause: error });
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e && parts.length < 6; e = (e as { cause?: unknown }).cause) {
    const x = e as { shortMessage?: string; message?: string; details?: string; status?: number; code?: number | string };
    const text = [x.shortMessage ?? x.message?.split('\n')[0], x.details, x.status && `HTTP ${x.status}`, x.code !== undefined && `code ${x.code}`].filter(Boolean).join('; ');
    if (text) parts.push(text);
  }
  return parts.join(' <- ').replace(/\b(https?|wss?):\/\/[^\s"'<>]+/g, (u) => redactUrl(u));
}
