import { sql } from 'drizzle-orm';
import { errorFields } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { Db } from './db.ts';

const targets = ['events', 'chamas', 'members'];
/**
 * Statistics from a sample of 3,000 rows instead of PostgreSQL's default of 30,000: at 1M events
 * the ANALYZE of `events` took 85 ms instead of 650 (and 15 ms instead of 150 for 35k members),
 * and the same plans for the API's queries (EXPLAIN ANALYZE on that database). An operator's own
 * ANALYZE uses the server's default. The whole of `events` is analyzed: only then does
 * PostgreSQL also gather statistics for the expressions of its hash indexes (at this sample
 * size, 70-130 ms at 200k events against 45-60 for the filtered columns alone).
 */
const statisticsTarget = 10;

/**
 * Keeps the planner's statistics in step with a backfill. Autovacuum may be off (it is on the
 * machine this was measured on) or may not have run yet right after a bulk load, and a plan made
 * for what the planner thinks is an empty table can be ruinous: a keyset page of `events` sorted
 * the rest of the table on disk, 0.5 s instead of 0.04 s. So the writer analyzes its tables each
 * time the events it committed double (from `firstAfter`): about fifteen times over a billion
 * events, in the background, one at a time; ANALYZE blocks no reader and no writer.
 */
export function createStatistics(db: Db, logger: Logger, { firstAfter = 50_000 }: { firstAfter?: number } = {}) {
  let written = 0;
  let next = firstAfter;
  let running: Promise<void> | undefined;
  return {
    committed(events: number) {
      written += events;
      if (written < next || running) return;
      next = written * 2;
      const started = performance.now();
      running = analyze(db, targets)
        .then(
          () => logger.info({ events_written: written, duration_ms: Math.round(performance.now() - started) }, 'planner statistics updated'),
          (error: unknown) => logger.warn({ ...errorFields(error), events_written: written }, 'ANALYZE failed; the planner keeps its old statistics'),
        )
        .finally(() => {
          running = undefined;
        });
    },
    /** Resolves when no ANALYZE is running. */
    settled: (): Promise<void> => running ?? Promise.resolve(),
  };
}

/** ANALYZE of these tables with the writer's small sample. */
export function analyze(db: Db, tables: readonly string[]): Promise<void> {
  return db.orm.transaction(async (tx) => {
    await tx.execute(sql.raw(`SET LOCAL default_statistics_target = ${statisticsTarget}`));
    await tx.execute(sql.raw(`ANALYZE ${tables.join(', ')}`));
  });
}
