import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Address } from 'viem';
import { errorFields } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { Mutex } from '../common/mutex.ts';
import { sleep } from '../common/retry.ts';
import { rebuildProjections } from '../projections/engine.ts';
import { repair } from '../operator/repair.ts';
import { resync } from '../operator/resync.ts';
import { verifyChain } from '../operator/verify.ts';
import type { Rpc } from '../rpc/client.ts';
import { rows, type Db } from '../store/db.ts';

export type JobType = 'rebuild' | 'resync' | 'verify';
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export type JobParams = { chamaId?: string; repair?: boolean; from?: number; to?: number };
export type Job = {
  id: string;
  chainId: number;
  type: JobType;
  status: JobStatus;
  params: JobParams;
  progress: number;
  message: string | null;
  result: unknown;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

export type JobRunner = {
  submit(type: JobType, params: JobParams): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  list(args: { status?: JobStatus | undefined; limit: number; after?: { createdAt: string; id: string } | undefined }): Promise<Job[]>;
  /** Cancels a pending or running job; deletes a finished one. */
  cancel(id: string): Promise<'cancelled' | 'deleted' | undefined>;
  /** Hears of every job that finished (completed, failed or cancelled); returns the unsubscribe. */
  onFinished(listener: (job: Pick<Job, 'id' | 'type' | 'status'>) => void): () => void;
  /** Runs queued jobs one at a time until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
};

export type JobRunnerOptions = {
  db: Db;
  chainId: number;
  rpc: Rpc | undefined;
  addresses: readonly Address[];
  startBlock: number;
  maxBlockRange: number;
  /** The in-process writer lock shared with the indexer. */
  writer: Mutex;
  logger: Logger;
  retentionMs: number;
  /** 0: no periodic verification. */
  verifyIntervalMs: number;
  pollMs?: number;
};

type JobRow = { id: string; chain_id: number; type: JobType; status: JobStatus; params: JobParams; progress: number; message: string | null; result: unknown; created_at: Date | string; started_at: Date | string | null; finished_at: Date | string | null };

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const toJob = (r: JobRow): Job => ({
  id: r.id,
  chainId: Number(r.chain_id),
  type: r.type,
  status: r.status,
  params: r.params,
  progress: Number(r.progress),
  message: r.message,
  result: r.result,
  createdAt: iso(r.created_at)!,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
});

/**
 * Operator jobs kept in the database, run one at a time in the indexing process (they share
 * its writer lock, so a rebuild or resync never interleaves with a batch). A job that was
 * running when the process died is marked failed at the next start; finished jobs older than
 * the retention are removed; a periodic verify is queued every VERIFY_INTERVAL_MS.
 */
export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { db, chainId, logger, writer, pollMs = 250 } = options;
  const log = logger.child({ module: 'jobs', chain_id: chainId });
  const running = new Map<string, AbortController>();
  const finished = new Set<(job: Pick<Job, 'id' | 'type' | 'status'>) => void>();
  const announce = (job: Pick<Job, 'id' | 'type' | 'status'>) => {
    for (const listener of finished) listener(job);
  };
  let wake = new AbortController();

  async function update(id: string, fields: { status?: JobStatus; progress?: number; message?: string | null; result?: unknown; started?: boolean; finished?: boolean }) {
    await db.orm.execute(sql`UPDATE jobs SET
        status = COALESCE(${fields.status ?? null}, status),
        progress = COALESCE(${fields.progress ?? null}::int, progress),
        message = CASE WHEN ${fields.message !== undefined} THEN ${fields.message ?? null} ELSE message END,
        result = CASE WHEN ${fields.result !== undefined} THEN ${JSON.stringify(fields.result ?? null)}::jsonb ELSE result END,
        started_at = CASE WHEN ${fields.started === true} THEN now() ELSE started_at END,
        finished_at = CASE WHEN ${fields.finished === true} THEN now() ELSE finished_at END
      WHERE id = ${id}`);
  }

  function progressReporter(id: string) {
    let last = 0;
    return (fraction: number, message: string) => {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      void update(id, { progress: Math.min(99, Math.floor(fraction * 100)), message }).catch(() => {});
    };
  }

  async function execute(job: Job, signal: AbortSignal): Promise<unknown> {
    const report = progressReporter(job.id);
    const needRpc = () => {
      if (!options.rpc) throw new Error(`a ${job.type} job reads the chain: this process has no RPC_URL`);
      return options.rpc;
    };
    switch (job.type) {
      case 'rebuild':
        return writer.run(() => rebuildProjections(db, chainId, ({ done, total }) => report(total ? done / total : 0, `${done}/${total} events folded`), signal));
      case 'resync':
        return writer.run(() =>
          resync({ db, rpc: needRpc(), chainId, addresses: options.addresses, from: job.params.from ?? options.startBlock, to: job.params.to, maxBlockRange: options.maxBlockRange, logger: log, signal, onProgress: (d, t) => report(d / t, `${d}/${t} blocks`) }),
        );
      case 'verify': {
        const scope = job.params.chamaId === undefined ? {} : { chamaId: BigInt(job.params.chamaId) };
        const args = { db, rpc: needRpc(), chainId, addresses: options.addresses, logger: log, signal, ...scope };
        const verified = await verifyChain({ ...args, onProgress: (d, t) => report(d / t / (job.params.repair ? 2 : 1), `${d}/${t} chamas checked`) });
        const summarize = (r: typeof verified) => ({ blockNumber: r.blockNumber, chamas: r.chamas, members: r.members, mismatches: r.mismatches.length, critical: r.mismatches.filter((m) => m.priority === 'CRITICAL').length, errors: r.errors.length });
        if (!job.params.repair || (verified.mismatches.length === 0 && verified.errors.length === 0)) return summarize(verified);
        const repaired = await writer.run(() => repair({ ...args, startBlock: options.startBlock, maxBlockRange: options.maxBlockRange, report: verified }));
        return { before: summarize(verified), refolded: repaired.refolded.length, resynced: repaired.resynced.length, after: summarize(repaired.after) };
      }
    }
  }

  async function runNext(signal: AbortSignal): Promise<boolean> {
    const [next] = await rows<JobRow>(db.orm, sql`UPDATE jobs SET status = 'running', started_at = now(), message = 'started'
        WHERE id = (SELECT id FROM jobs WHERE chain_id = ${chainId} AND status = 'pending' ORDER BY created_at, id LIMIT 1) AND status = 'pending' RETURNING *`);
    if (!next) return false;
    const job = toJob(next);
    const controller = new AbortController();
    running.set(job.id, controller);
    const started = performance.now();
    log.info({ job_id: job.id, type: job.type, params: job.params }, 'job started');
    try {
      const result = await execute(job, AbortSignal.any([signal, controller.signal]));
      if (controller.signal.aborted) throw controller.signal.reason;
      await update(job.id, { status: 'completed', progress: 100, message: 'completed', result, finished: true });
      log.info({ job_id: job.id, type: job.type, duration_ms: Math.round(performance.now() - started) }, 'job completed');
      announce({ id: job.id, type: job.type, status: 'completed' });
    } catch (error) {
      const cancelled = controller.signal.aborted;
      await update(job.id, { status: cancelled ? 'cancelled' : 'failed', message: cancelled ? 'cancelled by an operator' : (error as Error).message, finished: true });
      log[cancelled ? 'info' : 'error']({ job_id: job.id, type: job.type, ...(cancelled ? {} : errorFields(error)) }, cancelled ? 'job cancelled' : 'job failed');
      announce({ id: job.id, type: job.type, status: cancelled ? 'cancelled' : 'failed' });
    } finally {
      running.delete(job.id);
    }
    return true;
  }

  async function housekeeping() {
    await db.orm.execute(sql`DELETE FROM jobs WHERE chain_id = ${chainId} AND status IN ('completed', 'failed', 'cancelled') AND finished_at < now() - make_interval(secs => ${options.retentionMs / 1000})`);
  }

  return {
    async submit(type, params) {
      const [row] = await rows<JobRow>(db.orm, sql`INSERT INTO jobs (id, chain_id, type, status, params, message) VALUES (${randomUUID()}, ${chainId}, ${type}, 'pending', ${JSON.stringify(params)}::jsonb, 'queued') RETURNING *`);
      wake.abort();
      return toJob(row!);
    },
    onFinished(listener) {
      finished.add(listener);
      return () => finished.delete(listener);
    },
    async get(id) {
      const [row] = await rows<JobRow>(db.orm, sql`SELECT * FROM jobs WHERE id = ${id} AND chain_id = ${chainId}`);
      return row && toJob(row);
    },
    async list({ status, limit, after }) {
      const byStatus = status ? sql`AND status = ${status}` : sql``;
      const page = after ? sql`AND (created_at, id) < (${after.createdAt}::timestamptz, ${after.id})` : sql``;
      return (await rows<JobRow>(db.orm, sql`SELECT * FROM jobs WHERE chain_id = ${chainId} ${byStatus} ${page} ORDER BY created_at DESC, id DESC LIMIT ${limit}`)).map(toJob);
    },
    async cancel(id) {
      const job = await this.get(id);
      if (!job) return undefined;
      if (job.status === 'running') {
        running.get(id)?.abort(new Error('cancelled'));
        return 'cancelled';
      }
      if (job.status === 'pending') {
        await update(id, { status: 'cancelled', message: 'cancelled before it started', finished: true });
        return 'cancelled';
      }
      await db.orm.execute(sql`DELETE FROM jobs WHERE id = ${id}`);
      return 'deleted';
    },
    async run(signal) {
      const orphaned = await rows<{ id: string }>(
        db.orm,
        sql`UPDATE jobs SET status = 'failed', finished_at = now(), message = 'the process running this job stopped before it finished (crash or restart); submit it again'
            WHERE chain_id = ${chainId} AND status = 'running' RETURNING id`,
      );
      if (orphaned.length > 0) log.warn({ jobs: orphaned.map((j) => j.id) }, 'jobs left running by a previous process marked failed');
      let lastVerify = Date.now();
      let lastHousekeeping = 0;
      while (!signal.aborted) {
        try {
          if (options.verifyIntervalMs > 0 && Date.now() - lastVerify >= options.verifyIntervalMs) {
            lastVerify = Date.now();
            const [queued] = await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM jobs WHERE chain_id = ${chainId} AND type = 'verify' AND status IN ('pending', 'running')`);
            if (Number(queued?.n ?? 0) === 0 && options.rpc) await this.submit('verify', {});
          }
          if (Date.now() - lastHousekeeping > Math.min(60_000, Math.max(1000, options.retentionMs))) {
            lastHousekeeping = Date.now();
            await housekeeping();
          }
          if (await runNext(signal)) continue;
        } catch (error) {
          log.error(errorFields(error), 'job runner step failed');
        }
        await sleep(pollMs * 20, AbortSignal.any([signal, wake.signal]));
        if (wake.signal.aborted) wake = new AbortController();
      }
      for (const controller of running.values()) controller.abort(new Error('shutting down'));
    },
  };
}
