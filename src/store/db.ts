import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations, SQL } from 'drizzle-orm';
import * as schema from '../../schema/index.ts';
import { lockDataDir } from './lock.ts';
import { createPipeline, type Begin, type OpenTransaction } from './pipeline.ts';

export type Schema = typeof schema;
export type Orm = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Something queries can run on: the database or an open transaction. */
export type Executor = Orm | Tx;

/**
 * The database handle. The same code runs on PostgreSQL (postgres.js) and on embedded PGlite;
 * the differences (result shape, int8 parsing, connection model) stop here.
 */
export type Db = {
  kind: 'postgres' | 'pglite';
  orm: Orm;
  /** A human-readable name of where the data lives, with no credentials. */
  location: string;
  /** A dedicated session, for session-level advisory locks (postgres: a reserved connection). */
  session(): Promise<{ rows: <T>(query: string, params?: unknown[]) => Promise<T[]>; release: () => Promise<void> }>;
  /**
   * The writer's transactions, kept open over several sends (a backfill batch of many log
   * ranges) and committed once every result is in. On PostgreSQL they run in the order begun on
   * one connection of their own, each sent right behind the previous one's COMMIT, so the server
   * goes from one to the next without waiting for this process (see `createPipeline`). On PGlite
   * the statements run at `commit`: it has one connection, which an open transaction would keep
   * from every other query.
   */
  begin: Begin;
  close(): Promise<void>;
};

/** schema/migrations of this package, from src/store/ (sources) or dist/ (the built bundle). */
export const migrationsFolder = ['../../schema/migrations', '../schema/migrations']
  .map((relative) => path.resolve(path.dirname(fileURLToPath(import.meta.url)), relative))
  .find((dir) => existsSync(dir)) ?? path.resolve('schema/migrations');

export type OpenDbOptions = { databaseUrl?: string | undefined; dataDir?: string; memory?: boolean; maxConnections?: number };

/** Each driver loads only when used: a PostgreSQL deployment never loads PGlite, and the reverse. */
export async function openDb(options: OpenDbOptions): Promise<Db> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.maxConnections ?? 10);
  return openPglite(options.memory ? undefined : path.resolve(options.dataDir ?? '.data', 'pglite'));
}

async function openPostgres(url: string, max: number): Promise<Db> {
  const [{ default: postgres }, { drizzle: drizzlePostgres }, { PgDialect }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js'), import('drizzle-orm/pg-core')]);
  const client = postgres(url, {
    max,
    onnotice: () => {},
    // Block numbers, log indexes and counts are int8; they stay far below 2^53.
    types: { int8: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => Number(v) } },
    // JIT compiles plans the planner thinks are big; an indexer's queries are small and often
    // misjudged (a lookup per chama was costed as 89k rows): 10-40 ms of compiling for 2 ms of work.
    connection: { application_name: 'chama-indexer', jit: 'off' },
  });
  const orm = drizzlePostgres({ client: prepared(client), schema }) as unknown as Orm;
  // A statement's error leaves the connection usable, unless the server ended the session.
  const begin = createPipeline(client, new PgDialect(), (error) => error instanceof postgres.PostgresError && !['FATAL', 'PANIC'].includes(error.severity));
  return {
    kind: 'postgres',
    orm,
    location: redactUrl(url),
    begin,
    async session() {
      const reserved = await client.reserve();
      return {
        rows: async <T>(query: string, params: unknown[] = []) => (await reserved.unsafe(query, params as never[])) as unknown as T[],
        release: async () => reserved.release(),
      };
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * The postgres.js client as drizzle sees it, with every query that has parameters run as a
 * prepared statement (named, cached per connection). drizzle asks for unprepared ones, and
 * postgres.js then sends each in two steps, waiting in between for the parameter types (a round
 * trip per statement that must wait for this process's event loop): a batch's nine statements
 * could not be pipelined, and the database sat idle while the next batch was being folded.
 */
function prepared<T extends object>(sql: T): T {
  const wrapCallback = (args: unknown[]) => {
    const fn = args[args.length - 1];
    if (typeof fn === 'function') args[args.length - 1] = (inner: object) => fn(prepared(inner));
    return args;
  };
  return new Proxy(sql, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      const own = value as (...args: unknown[]) => unknown;
      if (prop === 'unsafe') return (query: string, params: unknown[] = [], options: object = {}) => own.call(target, query, params, { ...options, prepare: true });
      if (prop === 'begin' || prop === 'savepoint') return (...args: unknown[]) => own.apply(target, wrapCallback(args));
      return own.bind(target);
    },
  });
}

async function openPglite(dir: string | undefined): Promise<Db> {
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  if (dir) mkdirSync(dir, { recursive: true });
  const unlock = dir ? lockDataDir(dir) : () => {};
  // PGlite's shared buffers live in this process's memory: 32 MB instead of its default 128 MB
  // left a 200k-event backfill as fast (7.0-7.3k against 6.8-7.2k events/s) and its peak RSS
  // 755-761 MB instead of 822-934 (measured).
  const options = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'] };
  const client = await (dir ? PGlite.create(dir, options) : PGlite.create(options)).catch((error: unknown) => {
    unlock();
    throw error;
  });
  const orm = drizzlePglite({ client, schema }) as unknown as Orm;
  return {
    kind: 'pglite',
    orm,
    location: dir ?? 'memory',
    // PGlite has one connection; the process-level lock file (store/lock.ts) keeps other processes out.
    async session() {
      return {
        rows: async <T>(query: string, params: unknown[] = []) => (await client.query<T>(query, params)).rows,
        release: async () => {},
      };
    },
    begin: () => bufferedTransaction(orm),
    close: async () => {
      await client.close();
      unlock();
    },
  };
}

/**
 * PGlite's writer transactions: the statements are kept until `commit` and then run in one
 * transaction (one connection, which PGlite runs one statement at a time: nothing to pipeline).
 */
function bufferedTransaction(orm: Orm): OpenTransaction {
  const sends: { statements: readonly SQL[]; settle: (results: Promise<unknown[][]>) => void }[] = [];
  let ended = false;
  const end = () => {
    if (ended) throw new Error('the transaction has ended');
    ended = true;
  };
  const send = (statements: readonly SQL[]): Promise<unknown[][]> => {
    if (ended) throw new Error('the transaction has ended');
    const results = new Promise<unknown[][]>((resolve, reject) => sends.push({ statements, settle: (r) => r.then(resolve, reject) }));
    results.catch(() => {});
    return results;
  };
  return {
    send,
    copy() {
      // PGlite reads COPY data from a file it is handed, not from the session: its writes are INSERTs.
      throw new Error('PGlite runs no COPY FROM STDIN: write these rows with an INSERT');
    },
    async commit(statements, verify) {
      const last = send(statements);
      end();
      const ran = orm.transaction(async (tx) => {
        const all: unknown[][][] = [];
        for (const { statements } of sends) all.push(await Promise.all(statements.map((statement) => rows<unknown>(tx, statement))));
        verify?.(all[all.length - 1]!);
        return all;
      });
      sends.forEach(({ settle }, i) => settle(ran.then((all) => all[i]!)));
      await ran;
      return last;
    },
    async rollback() {
      if (ended) return;
      end();
      const given = Promise.reject(new Error('the transaction was rolled back'));
      given.catch(() => {});
      for (const { settle } of sends) settle(given);
    },
  };
}

export async function migrate(db: Db): Promise<void> {
  if (db.kind === 'postgres') await (await import('drizzle-orm/postgres-js/migrator')).migrate(db.orm as never, { migrationsFolder });
  else await (await import('drizzle-orm/pglite/migrator')).migrate(db.orm as never, { migrationsFolder });
}

/** Rows of a raw query, whichever driver ran it. */
export async function rows<T>(ex: Executor, query: SQL): Promise<T[]> {
  const result = (await ex.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username) u.username = u.username ? '***' : '';
    u.search = '';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
