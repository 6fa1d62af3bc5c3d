import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IndexerNotice } from '../indexer/index.ts';
import type { RpcRequestInfo } from '../rpc/client.ts';
import { never } from '../decode/event.ts';

/**
 * The app's Prometheus metrics, in a registry of its own (never prom-client's global one), so
 * two apps in one process (tests, several chains) do not mix their numbers. Counters are fed by
 * indexer notices, RPC calls and HTTP requests as they happen; gauges are set at scrape time.
 */
export type Metrics = {
  registry: Registry;
  onNotice(notice: IndexerNotice): void;
  onRpcRequest(request: RpcRequestInfo): void;
  onHttpRequest(request: { method: string; route: string; status: number; durationMs: number }): void;
  setChain(state: { indexedBlock: number | null; headBlock: number | null; finalizedBlock: number | null; eventsStored: number; openMismatches?: { CRITICAL: number; NORMAL: number } }): void;
};

export function createMetrics({ chainId, defaultMetrics = true }: { chainId: number; defaultMetrics?: boolean }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ chain_id: String(chainId) });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const indexedBlock = new Gauge({ name: 'chama_indexed_block', help: 'Last block whose events are committed', registers });
  const headBlock = new Gauge({ name: 'chama_head_block', help: "The RPC node's head block, as last seen", registers });
  const lagBlocks = new Gauge({ name: 'chama_lag_blocks', help: 'Head block minus indexed block', registers });
  const finalizedBlock = new Gauge({ name: 'chama_finalized_block', help: 'Finalized block, as the writer last saw it', registers });
  const mismatches = new Gauge({ name: 'chama_mismatches_open', help: 'Open mismatches between the index and the chain found by verification, by priority', labelNames: ['priority'] as const, registers });
  const eventsStored = new Gauge({ name: 'chama_events_stored', help: 'Canonical events in the database for this chain', registers });
  const eventsIndexed = new Counter({ name: 'chama_events_indexed_total', help: 'Events committed by this process, by event type', labelNames: ['event'] as const, registers });
  const batches = new Histogram({
    name: 'chama_batch_duration_seconds',
    help: 'Time to fetch, fold and commit one batch',
    labelNames: ['mode'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const reorgs = new Counter({ name: 'chama_reorgs_total', help: 'Reorgs handled by this process', registers });
  const reorgDepth = new Histogram({ name: 'chama_reorg_depth_blocks', help: 'Depth of handled reorgs, in blocks', buckets: [1, 2, 3, 5, 8, 13, 21, 34, 64, 128], registers });
  const rpcRequests = new Counter({ name: 'chama_rpc_requests_total', help: 'JSON-RPC attempts, by method', labelNames: ['method'] as const, registers });
  const rpcErrors = new Counter({ name: 'chama_rpc_errors_total', help: 'Failed JSON-RPC attempts, by method', labelNames: ['method'] as const, registers });
  const rpcDuration = new Histogram({
    name: 'chama_rpc_request_duration_seconds',
    help: 'JSON-RPC attempt latency, by method',
    labelNames: ['method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests, by route and status', labelNames: ['method', 'route', 'status'] as const, registers });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency (to the first byte of a streamed body), by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });

  const httpChildren = new Map<string, { count: { inc(): void }; duration: { observe(value: number): void } }>();

  return {
    registry,
    onNotice(notice) {
      switch (notice.kind) {
        case 'batch': {
          batches.observe({ mode: notice.mode }, notice.durationMs / 1000);
          for (const [event, n] of notice.eventTypes) eventsIndexed.inc({ event }, n);
          indexedBlock.set(notice.cursor.blockNumber);
          return;
        }
        case 'reorg':
          reorgs.inc();
          reorgDepth.observe(notice.depth);
          return;
        default:
          never(notice);
      }
    },
    onRpcRequest({ method, durationMs, ok }) {
      rpcRequests.inc({ method });
      if (!ok) rpcErrors.inc({ method });
      rpcDuration.observe({ method }, durationMs / 1000);
    },
    onHttpRequest({ method, route, status, durationMs }) {
      // The label children are kept: resolving labels costs more than counting, on every request.
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) {
        const labels = { method, route, status: String(status) };
        child = { count: httpRequests.labels(labels), duration: httpDuration.labels(labels) };
        httpChildren.set(key, child);
      }
      child.count.inc();
      child.duration.observe(durationMs / 1000);
    },
    setChain(state) {
      if (state.indexedBlock !== null) indexedBlock.set(state.indexedBlock);
      if (state.headBlock !== null) headBlock.set(state.headBlock);
      if (state.finalizedBlock !== null) finalizedBlock.set(state.finalizedBlock);
      if (state.indexedBlock !== null && state.headBlock !== null) lagBlocks.set(Math.max(0, state.headBlock - state.indexedBlock));
      eventsStored.set(state.eventsStored);
      if (state.openMismatches) for (const [priority, n] of Object.entries(state.openMismatches)) mismatches.set({ priority }, n);
    },
  };
}
