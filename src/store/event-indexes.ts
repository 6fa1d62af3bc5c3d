import { sql } from 'drizzle-orm';
import type { Logger } from '../common/logger.ts';
import { rows, type Db } from './db.ts';
import { analyze } from './statistics.ts';

/**
 * The secondary indexes of `events` (by account, by chama), built in one pass after a long
 * backfill instead of entry by entry during it. Each row of a backfill lands at a random place
 * in both, which was about half of PostgreSQL's CPU per event (21-22 µs per event with them
 * against 12-13 without, 1M-event bench chain), while building both over 1M rows took 2-3 s of
 * the backfill, and the chama index comes out at 47 MB instead of 78.
 *
 * They are dropped only while `events` is empty, so only a backfill from scratch defers them.
 * The drop and a record of each definition, as PostgreSQL prints it, commit together
 * (`deferred_indexes`): whatever stops the process, the next writer to catch up builds the same
 * indexes the migrations made. Nothing depends on them for correctness: until they are back, the
 * reads that use them (a chama's or an account's events) scan the table.
 *
 * A migration that changes one of these indexes must build the deferred ones first.
 */
const deferrable = ['events_account_hash_idx', 'events_chama_hash_idx'];

/**
 * Drops the indexes if `events` holds no row (of any chain). True when they are deferred now,
 * by this call or an earlier one.
 */
export async function deferEventIndexes(db: Db, logger: Logger): Promise<boolean> {
  return db.orm.transaction(async (tx) => {
    // Two writers (of two chains) deciding at once: the second sees the first one's outcome.
    // And no other writer's first batch may commit between the check that `events` is empty
    // and the drop (SHARE waits for open writes and holds off new ones).
    await tx.execute(sql`LOCK TABLE deferred_indexes IN EXCLUSIVE MODE`);
    await tx.execute(sql`LOCK TABLE events IN SHARE MODE`);
    const [state] = await rows<{ deferred: boolean; empty: boolean }>(
      tx,
      sql`SELECT EXISTS (SELECT 1 FROM deferred_indexes) AS deferred, NOT EXISTS (SELECT 1 FROM events) AS empty`,
    );
    if (state!.deferred) return true;
    if (!state!.empty) return false;
    const found = await rows<{ name: string; definition: string }>(
      tx,
      sql`SELECT indexname AS name, indexdef AS definition FROM pg_indexes
          WHERE schemaname = current_schema() AND tablename = 'events' AND indexname IN (${sql.join(deferrable.map((n) => sql`${n}`), sql`, `)})`,
    );
    if (found.length === 0) return false;
    for (const { name, definition } of found) {
      await tx.execute(sql`INSERT INTO deferred_indexes (name, definition) VALUES (${name}, ${definition})`);
      await tx.execute(sql.raw(`DROP INDEX "${name}"`));
    }
    logger.info({ indexes: found.map((f) => f.name) }, 'event indexes deferred until the backfill catches up');
    return true;
  });
}

/**
 * Builds the deferred indexes, if any; resolves to how many it built. Each is built in its own
 * transaction with the removal of its record, all at once on PostgreSQL (1.8-1.9 s for the two
 * over 1M events against 2.5 s one after the other, each with its parallel workers). Then
 * `events` is analyzed: only an existing index gets statistics for its expression (the
 * leading hash), and the writer's own ANALYZEs ran while it was gone.
 */
export async function buildDeferredIndexes(db: Db, logger: Logger): Promise<number> {
  const started = performance.now();
  const names = (await rows<{ name: string }>(db.orm, sql`SELECT name FROM deferred_indexes ORDER BY name`)).map((r) => r.name);
  if (names.length === 0) return 0;
  const build = (name: string) =>
    db.orm.transaction(async (tx) => {
      // Another writer may have built it since: the record is gone then.
      const [index] = await rows<{ definition: string; present: boolean }>(
        tx,
        sql`SELECT definition, to_regclass(quote_ident(name)) IS NOT NULL AS present FROM deferred_indexes WHERE name = ${name} FOR UPDATE`,
      );
      if (!index) return false;
      if (db.kind === 'postgres') {
        // Room to sort in memory (never less than the server's own setting), parallel workers
        // where the server allows them, and no role-level timeout cutting a long build short.
        await tx.execute(sql`SELECT set_config('maintenance_work_mem', '131072', true) FROM pg_settings WHERE name = 'maintenance_work_mem' AND setting::int8 < 131072`);
        await tx.execute(sql`SELECT set_config('statement_timeout', '0', true)`);
      }
      if (!index.present) await tx.execute(sql.raw(index.definition));
      await tx.execute(sql`DELETE FROM deferred_indexes WHERE name = ${name}`);
      return true;
    });
  // Every build settles before this returns (or throws), so none outlives the writer's step.
  const settled = await Promise.allSettled(names.map(build));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const built = names.filter((_, i) => (settled[i] as PromiseFulfilledResult<boolean>).value);
  if (built.length > 0) await analyze(db, ['events']);
  logger.info({ indexes: built, duration_ms: Math.round(performance.now() - started) }, 'event indexes built');
  return built.length;
}
