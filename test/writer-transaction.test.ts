import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FatalError } from '../src/common/errors.ts';
import { commitBatch, prepareBatch } from '../src/indexer/commit.ts';
import { createLiveProjections } from '../src/projections/live.ts';
import { readCursor } from '../src/store/chain-state.ts';
import { rows } from '../src/store/db.ts';
import { countEvents } from '../src/store/events.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { blockHash, synthesize } from './helpers/synthetic.ts';

/**
 * The writer's transactions (`Db.begin`): on PostgreSQL they are pipelined on a connection
 * of their own, the next one queued behind the previous one's COMMIT, so these check that
 * pipelining never commits past a failure and keeps call order.
 */
describe.each(['postgres', 'pglite'] as const)('writer transactions on %s', (kind) => {
  let db: TestDb;
  const count = async (table: string) => Number((await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM ${sql.raw(table)}`))[0]!.n);
  /** One transaction, all its statements sent at once. */
  const transaction = (statements: SQL[], verify?: (results: readonly unknown[][]) => void) => db.begin().commit(statements, verify);
  beforeAll(async () => {
    db = await createTestDb(kind);
    await db.orm.execute(sql`CREATE TABLE t (k int PRIMARY KEY, v text)`);
  });
  afterAll(() => db?.drop());

  it('returns each statement’s rows in order; calls made back to back run in call order', async () => {
    const first = transaction([sql`INSERT INTO t VALUES (1, 'a'), (2, 'b')`, sql`SELECT k FROM t ORDER BY k`]);
    const second = transaction([sql`UPDATE t SET v = v || '!' WHERE k = ${1} RETURNING v`, sql`SELECT count(*)::int AS n FROM t`]);
    const [a, b] = await Promise.all([first, second]);
    expect(a[1]).toEqual([{ k: 1 }, { k: 2 }]);
    expect(b).toEqual([[{ v: 'a!' }], [{ n: 2 }]]);
  });

  it('a failing statement commits nothing of its transaction, and the one queued behind it commits on its own', async () => {
    const failing = transaction([sql`INSERT INTO t VALUES (10, 'kept?')`, sql`INSERT INTO t VALUES (1, 'duplicate key')`, sql`INSERT INTO t VALUES (11, 'after')`]);
    const behind = transaction([sql`INSERT INTO t VALUES (20, 'behind')`]);
    await expect(failing).rejects.toThrow(/duplicate key/);
    await behind;
    expect(await rows(db.orm, sql`SELECT k FROM t WHERE k BETWEEN 10 AND 29 ORDER BY k`)).toEqual([{ k: 20 }]);
  });

  it('a verify that throws rolls back: it sees the results before COMMIT', async () => {
    const seen: unknown[] = [];
    const refused = transaction([sql`INSERT INTO t VALUES (30, 'x') RETURNING k`], (results) => {
      seen.push(...results);
      throw new Error('refused');
    });
    await expect(refused).rejects.toThrow('refused');
    expect(seen).toEqual([[{ k: 30 }]]);
    expect(await rows(db.orm, sql`SELECT k FROM t WHERE k = 30`)).toEqual([]);
  });

  it('an open transaction: its sends run in order, and none of it is seen before the commit', async () => {
    const tx = db.begin();
    const first = tx.send([sql`INSERT INTO t VALUES (70, 'a') RETURNING k`]);
    const second = tx.send([sql`INSERT INTO t VALUES (71, 'b')`, sql`SELECT count(*)::int AS n FROM t WHERE k BETWEEN 70 AND 79`]);
    // On PostgreSQL a send runs at once (PGlite keeps it until the commit); another connection sees none of it.
    if (kind === 'postgres') expect(await first).toEqual([[{ k: 70 }]]);
    expect(await rows(db.orm, sql`SELECT k FROM t WHERE k BETWEEN 70 AND 79`)).toEqual([]);
    const last = await tx.commit([sql`SELECT 1 AS one`]);
    expect(last).toEqual([[{ one: 1 }]]);
    expect(await first).toEqual([[{ k: 70 }]]);
    expect(await second).toEqual([[], [{ n: 2 }]]);
    expect(await rows(db.orm, sql`SELECT k FROM t WHERE k BETWEEN 70 AND 79 ORDER BY k`)).toEqual([{ k: 70 }, { k: 71 }]);
    expect(() => tx.send([sql`SELECT 1`])).toThrow(/ended/);
  });

  it('an open transaction whose earlier send failed commits nothing; a rollback commits nothing; what was begun behind them runs', async () => {
    const tx = db.begin();
    void tx.send([sql`INSERT INTO t VALUES (80, 'x')`]);
    const failed = tx.send([sql`INSERT INTO t VALUES (1, 'duplicate key')`]);
    const behind = transaction([sql`INSERT INTO t VALUES (82, 'behind')`]);
    await expect(tx.commit([sql`INSERT INTO t VALUES (81, 'y')`])).rejects.toThrow(/duplicate key/);
    await expect(failed).rejects.toThrow(/duplicate key/);
    await behind;
    const givenUp = db.begin();
    void givenUp.send([sql`INSERT INTO t VALUES (83, 'z')`]);
    await givenUp.rollback();
    await transaction([sql`INSERT INTO t VALUES (84, 'after')`]);
    expect(await rows(db.orm, sql`SELECT k FROM t WHERE k BETWEEN 80 AND 89 ORDER BY k`)).toEqual([{ k: 82 }, { k: 84 }]);
  });

  it('a batch whose cursor another writer moved commits nothing, nor does the batch queued behind it', async () => {
    const chainId = 4242;
    const { events } = synthesize([{ kind: 'create', pick: 0, size: 0 }, { kind: 'mine', pick: 0, size: 0 }, { kind: 'join', pick: 0, size: 1 }, { kind: 'join', pick: 0, size: 2 }], { chainId, firstBlock: 1, fork: 'a' });
    const header = (n: number) => ({ number: n, hash: blockHash('a', n), parentHash: blockHash('a', n - 1), timestamp: n });
    const live = createLiveProjections();
    const last = events[events.length - 1]!.blockNumber;
    const first = events.filter((e) => e.blockNumber === 1);
    const start = await commitBatch(db, { chainId, eventCount: first.length, writes: await prepareBatch(db, live, chainId, first), headers: [header(1)], from: undefined, finalized: 0 });
    const rest = events.filter((e) => e.blockNumber > 1);
    const headers = Array.from({ length: last - 1 }, (_, i) => header(i + 2));
    const eventsBefore = await count('events');
    // This writer believes the cursor is at block 0: another writer has moved it since.
    const stale = commitBatch(db, { chainId, eventCount: rest.length, writes: await prepareBatch(db, live, chainId, rest), headers, from: { blockNumber: 0, blockHash: blockHash('a', 0) }, finalized: 0 });
    const tip = headers[headers.length - 1]!;
    const behind = commitBatch(db, { chainId, eventCount: 0, writes: [], headers: [header(last + 1)], from: { blockNumber: tip.number, blockHash: tip.hash }, finalized: 0, relaxed: true });
    const failures = await Promise.allSettled([stale, behind]);
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    const reason = (failures[0] as PromiseRejectedResult).reason as FatalError;
    expect(reason).toBeInstanceOf(FatalError);
    expect(reason.message).toMatch(/cursor was moved by another writer/);
    expect(await count('events')).toBe(eventsBefore);
    expect(await readCursor(db.orm, chainId)).toEqual(start.cursor);
    expect(await countEvents(db.orm, chainId)).toBe(first.length);
  });

  describe.runIf(kind === 'postgres')('COPY on an open transaction', () => {
    const copyT = 'COPY t (k, v) FROM STDIN';
    const lines = (from: number, to: number) => Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\tcopied\n`).join(''));
    const keys = async (from: number, to: number) => (await rows<{ k: number }>(db.orm, sql`SELECT k FROM t WHERE k BETWEEN ${from} AND ${to} ORDER BY k`)).map((r) => r.k);

    it('rows written over several writes commit with the statements sent before and after it, in order', async () => {
      const tx = db.begin();
      void tx.send([sql`INSERT INTO t VALUES (100, 'before')`]);
      const copy = tx.copy(copyT);
      await copy.write(lines(101, 150));
      await copy.write(lines(151, 199));
      expect(() => tx.send([sql`SELECT 1`])).toThrow(/COPY is open/);
      void copy.end();
      const [[counted]] = (await tx.commit([sql`SELECT count(*)::int AS n FROM t WHERE k BETWEEN 100 AND 199`])) as [[{ n: number }]];
      expect(counted).toEqual({ n: 100 });
      expect(await keys(100, 199)).toHaveLength(100);
    });

    it('a row the server refuses fails the COPY and commits nothing; the next transaction runs', async () => {
      const tx = db.begin();
      void tx.send([sql`INSERT INTO t VALUES (200, 'lost')`]);
      const copy = tx.copy(copyT);
      // 1 is already in t: the server stops the COPY there and ignores the rest of its data.
      const writes = [copy.write(lines(201, 210)), copy.write(Buffer.from('1\tduplicate\n')), copy.write(lines(211, 220))];
      const ended = copy.end();
      await expect(tx.commit([sql`INSERT INTO t VALUES (221, 'lost')`])).rejects.toThrow(/duplicate key/);
      await expect(ended).rejects.toThrow(/duplicate key/);
      await Promise.allSettled(writes);
      await transaction([sql`INSERT INTO t VALUES (222, 'next')`]);
      expect(await keys(200, 229)).toEqual([222]);
    });

    it('a transaction given up while its COPY is open commits nothing, and the connection goes on', async () => {
      const tx = db.begin();
      const copy = tx.copy(copyT);
      await copy.write(lines(300, 310));
      const behind = transaction([sql`INSERT INTO t VALUES (320, 'behind')`]);
      await tx.rollback();
      await behind;
      expect(await keys(300, 329)).toEqual([320]);
      // Given up before the server even asked for the data.
      const early = db.begin();
      void early.copy(copyT).write(lines(330, 335)).catch(() => {});
      await early.rollback();
      await transaction([sql`INSERT INTO t VALUES (340, 'after')`]);
      expect(await keys(330, 349)).toEqual([340]);
    });

    it('a connection killed during a COPY fails that transaction only', async () => {
      const tx = db.begin();
      const copy = tx.copy(copyT);
      await copy.write(lines(400, 410));
      const after = transaction([sql`INSERT INTO t VALUES (420, 'after')`]);
      const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
      try {
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'COPY t %'`;
      } finally {
        await admin.end();
      }
      await expect(copy.write(lines(411, 412)).then(() => copy.end())).rejects.toThrow();
      await expect(tx.commit([])).rejects.toThrow();
      await after;
      expect(await keys(400, 429)).toEqual([420]);
    });
  });

  it.runIf(kind === 'postgres')('a connection killed after a failed statement, with more queued behind in the driver, settles everything', async () => {
    // The failed statement ends the wait for results at once; the statements after it (first
    // use of each: the driver sends them one per round trip), the ROLLBACK and the next
    // transaction wait in the driver's queue for the reserved connection when it dies.
    const failing = transaction([sql`SELECT 1/0`, ...Array.from({ length: 2000 }, (_, i) => sql`SELECT ${i}::int AS ${sql.raw(`n${i}`)}`)]);
    const queued = transaction([sql`INSERT INTO t VALUES (60, 'queued')`]);
    const settled = Promise.allSettled([failing, queued]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const killed = (await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'SELECT $1::int AS n%' AND pg_terminate_backend(pid)`).map((r) => r.pid);
      // The kill takes effect asynchronously: if the transactions were already through, the
      // killed session may be back in the pool, and the next transaction must not be handed it
      // before the driver has seen it close.
      for (let i = 0; i < 100; i++) {
        const [still] = await admin<{ left: number }[]>`SELECT count(*)::int AS left FROM pg_stat_activity WHERE pid = ANY(${killed})`;
        if (still!.left === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await admin.end();
    }
    const outcomes = await settled;
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/division by zero/);
    await transaction([sql`INSERT INTO t VALUES (61, 'next')`]);
    expect((await rows<{ k: number }>(db.orm, sql`SELECT k FROM t WHERE k >= 60 ORDER BY k`)).map((r) => r.k)).toContain(61);
  });

  it.runIf(kind === 'postgres')('a connection killed under a transaction fails that one only; the next ones run on another connection', async () => {
    const before = transaction([sql`INSERT INTO t VALUES (40, 'before')`]);
    const killed = transaction([sql`INSERT INTO t VALUES (41, 'killed')`, sql`SELECT pg_sleep(30)`]);
    const after = transaction([sql`INSERT INTO t VALUES (42, 'after')`]);
    const settled = Promise.allSettled([before, killed, after]);
    const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      let pid: number | undefined;
      for (let i = 0; i < 100 && pid === undefined; i++) {
        [{ pid } = { pid: undefined }] = await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND datname = current_database()`;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(pid).toBeDefined();
      await admin`SELECT pg_terminate_backend(${pid!})`;
    } finally {
      await admin.end();
    }
    const outcomes = await settled;
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/terminat|CONNECTION/i);
    await transaction([sql`INSERT INTO t VALUES (43, 'later')`]);
    expect(await rows(db.orm, sql`SELECT k FROM t WHERE k BETWEEN 40 AND 49 ORDER BY k`)).toEqual([{ k: 40 }, { k: 42 }, { k: 43 }]);
  });
});
