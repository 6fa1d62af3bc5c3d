import type { SQL } from 'drizzle-orm';
import type { PgDialect } from 'drizzle-orm/pg-core';
import type { ReservedSql, Sql } from 'postgres';

export type Verify = (results: readonly unknown[][]) => void;
export type Transact = (statements: readonly SQL[], verify?: Verify) => Promise<unknown[][]>;

/** One reserved connection, held while the writer's transactions are outstanding on it. */
type Run = { connection: Promise<ReservedSql>; outstanding: number; died: Promise<never>; kill(error: unknown): void };

/**
 * The writer's transactions on PostgreSQL, pipelined on one connection. BEGIN and the
 * statements go out together, COMMIT once every result is in and `verify` passed (so nothing
 * commits past a failure), and a transaction that arrives while another is outstanding goes
 * out right behind that one's COMMIT: the server moves from one to the next without waiting for
 * this process. Through drizzle's `transaction`, BEGIN, each statement and COMMIT waited in turn
 * for this process's event loop, busy preparing the next batch, and the server sat idle for a
 * third of a backfill (measured from its statement log).
 *
 * The connection is reserved only while transactions are outstanding and goes back to the pool
 * in between, where the driver replaces it if it dies. If it dies while reserved, every
 * transaction on it fails (the server rolls them back) and nothing more is sent on it: the
 * driver cannot send on a closed reserved connection, and queries queued behind would never
 * settle.
 */
export function createPipeline(client: Sql, dialect: PgDialect, isServerError: (error: unknown) => boolean): Transact {
  let run: Run | undefined;
  /** Settles once the last transaction's COMMIT or ROLLBACK has been handed to the driver. */
  let handedOver: Promise<void> = Promise.resolve();

  const open = (): Run => {
    let reject!: (error: unknown) => void;
    const died = new Promise<never>((_, fail) => (reject = fail));
    died.catch(() => {});
    const opened: Run = {
      connection: client.reserve(),
      outstanding: 0,
      died,
      kill(error) {
        if (run === opened) run = undefined;
        reject(error);
      },
    };
    opened.connection.catch((error: unknown) => opened.kill(error));
    return opened;
  };

  return async function transaction(statements, verify) {
    const turn = handedOver;
    let handOver!: () => void;
    handedOver = new Promise((resolve) => (handOver = resolve));
    await turn;
    const current = (run ??= open());
    current.outstanding++;
    try {
      // Rendered before anything is sent: a failure here leaves no transaction open.
      const bodies = statements.map((statement) => dialect.sqlToQuery(statement));
      const connection = await Promise.race([current.connection, current.died]);
      const send = (text: string, params: unknown[] = []) => {
        const query = connection.unsafe(text, params as never[], { prepare: params.length > 0 }).execute();
        // Any failure but the server's answer means the connection is not to be trusted, even a
        // query's nobody awaits (after an earlier statement failed): the driver settles only the
        // queries it has sent, so those queued behind must be given up here.
        query.catch((error: unknown) => {
          if (!isServerError(error)) current.kill(error);
        });
        return query;
      };
      const until = <T>(query: Promise<T>) => Promise.race([query, current.died]);
      const end = (command: 'COMMIT' | 'ROLLBACK') => {
        const query = send(command);
        handOver();
        return until(query);
      };
      const queries = [send('BEGIN'), ...bodies.map(({ sql: text, params }) => send(text, params))];
      let results: unknown[][];
      try {
        results = (await until(Promise.all(queries))).slice(1) as unknown as unknown[][];
        verify?.(results);
      } catch (error) {
        if (run === current) await end('ROLLBACK').catch(() => {});
        throw error;
      }
      await end('COMMIT');
      return results;
    } finally {
      handOver();
      if (--current.outstanding === 0 && run === current) {
        run = undefined;
        (await current.connection).release();
      }
    }
  };
}
