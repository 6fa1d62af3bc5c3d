import type { Writable } from 'node:stream';
import type { SQL } from 'drizzle-orm';
import type { PgDialect } from 'drizzle-orm/pg-core';
import type { ReservedSql, Sql } from 'postgres';

export type Verify = (results: readonly unknown[][]) => void;

/**
 * A writer's transaction left open while its statements are sent: each `send` goes out at once
 * (behind the ones before it) and its promise settles when the server has run them; `commit`
 * sends the last statements and commits once every result of the transaction is in and `verify`
 * passed, or rolls back and rejects with the first failure. A `send` that fails is not thrown
 * until `commit` (its own promise rejects too). Nothing commits without `commit`.
 */
export type OpenTransaction = {
  send(statements: readonly SQL[]): Promise<unknown[][]>;
  /**
   * Starts `COPY … FROM STDIN`: rows go to the server as they are written, and
   * nothing else may be sent until `end`. A failure of the COPY fails the commit.
   */
  copy(statement: string): CopySink;
  commit(statements: readonly SQL[], verify?: Verify): Promise<unknown[][]>;
  /** Gives the transaction up: nothing of it commits. */
  rollback(): Promise<void>;
};
export type Begin = () => OpenTransaction;
/** An open COPY: `write` settles once the rows are handed to the connection, `end` once the server has them all. */
export type CopySink = { write(data: Buffer): Promise<void>; end(): Promise<void> };

/** A query of the driver, as its settlement is reached (postgres.js 3.4 internals). */
type DriverQuery = { resolve(value: unknown): void; reject(error: unknown): void; writable(): Promise<Writable> };
/** The driver's connection as its `onexecute` query option hands it over (postgres.js 3.4 internals). */
type DriverConnection = { onclose?: ((error?: unknown) => void) | null };

/** One reserved connection, held while the writer's transactions are outstanding on it. */
type Run = { connection: Promise<ReservedSql>; outstanding: number; died: Promise<never>; kill(error: unknown): void };

/**
 * The writer's transactions on PostgreSQL, pipelined on one connection. BEGIN and each `send`'s
 * statements go out as soon as they are given, COMMIT once every result is in and `verify`
 * passed (so nothing commits past a failure), and a transaction begun while another is
 * outstanding goes out right behind that one's COMMIT: the server moves from one to the next without waiting for
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
export function createPipeline(client: Sql, dialect: PgDialect, isServerError: (error: unknown) => boolean): Begin {
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

  return function begin(): OpenTransaction {
    const turn = handedOver;
    let handOver!: () => void;
    handedOver = new Promise((resolve) => (handOver = resolve));
    let current: Run | undefined;
    let ended = false;
    /** The results of every `send`, in order. */
    const sent: Promise<unknown>[] = [];

    // Any failure but the server's answer means the connection is not to be trusted, even a
    // query's nobody awaits (after an earlier statement failed): the driver settles only the
    // queries it has sent, so those queued behind must be given up here.
    const watchFailure = <T>(query: Promise<T>) => {
      query.catch((error: unknown) => {
        if (!isServerError(error)) current!.kill(error);
      });
      return query;
    };
    const sendQuery = (on: ReservedSql, text: string, params: unknown[] = [], onexecute?: (connection: DriverConnection) => boolean) =>
      watchFailure(on.unsafe(text, params as never[], { prepare: params.length > 0, ...(onexecute && { onexecute }) } as { prepare: boolean }).execute());
    // This transaction's turn on the writer's connection, then BEGIN.
    const ready = (async () => {
      await turn;
      current = run ??= open();
      current.outstanding++;
      return Promise.race([current.connection, current.died]);
    })();
    ready.catch(() => {});
    // Between two sends of an open transaction the connection may close with nothing of ours
    // outstanding, and the driver says so to no query: it calls the connection's `onclose`
    // (what its own `begin` listens to). Sent on after that, a statement would be written to a
    // socket that is gone, or to a new session outside this transaction.
    const watch = (connection: DriverConnection) => {
      const watched = current!;
      connection.onclose = (error) => watched.kill(error ?? new Error('the writer connection closed'));
      return true;
    };
    sent.push(ready.then((on) => Promise.race([sendQuery(on, 'BEGIN', [], watch), current!.died])));
    sent[0]!.catch(() => {});

    /**
     * The connection once everything given so far has been handed to the driver: each send, COPY
     * and end is handed over behind the one before it, and nothing behind a COPY until it ended.
     */
    let queue: Promise<ReservedSql> = ready;
    /** The COPY open on this transaction, if any: its stream once the server has asked for data. */
    let copying: Promise<Writable> | undefined;
    /**
     * A COPY stays open over a batch's log ranges: each range's rows go out as soon as they are
     * rendered, and the server reads them while this process renders the next. A COPY per range
     * instead waited for the server's CopyInResponse and CommandComplete each time (nothing may
     * follow a COPY's statement but its data), which this busy event loop answered late: the
     * server sat idle and the backfill ran about 18% slower than with INSERTs (measured).
     *
     * The driver's stream says nothing of a COPY that fails after its end (the server refused a
     * row): its query's own settlement does, so that is what `end` reports. What is sent after the
     * COPY goes out right behind its CopyDone, which the stream writes when it finishes.
     */
    const copy = (statement: string): CopySink => {
      if (ended) throw new Error('the transaction has ended');
      if (copying) throw new Error('a COPY is already open on this transaction');
      let outcome!: { resolve(): void; reject(error: unknown): void };
      const completed = new Promise<void>((resolve, reject) => (outcome = { resolve, reject }));
      watchFailure(completed);
      let doneWritten!: () => void;
      const copyDone = new Promise<void>((resolve) => (doneWritten = resolve));
      let failure: unknown;
      const handed = queue.then((on) => {
        if (run !== current) return { on, stream: current!.died };
        const query = on.unsafe(statement) as unknown as DriverQuery;
        // Resolved first with the stream (CopyInResponse), then with the COPY's result.
        let asked = false;
        const { resolve, reject } = query;
        query.resolve = (value) => {
          if (asked) outcome.resolve();
          // The stream, which the driver may destroy (emitting 'error') before anyone awaits it.
          else (value as Writable).on('error', (error) => (failure ??= error));
          asked = true;
          resolve(value);
        };
        query.reject = (error) => {
          outcome.reject(error);
          reject(error);
        };
        const stream = query.writable().then((s) => {
          const final = s._final!;
          s._final = function (this: Writable, callback) {
            final.call(this, callback);
            doneWritten();
          };
          return s;
        });
        return { on, stream: Promise.race([stream, current!.died]) };
      });
      const opened = handed.then(({ stream }) => stream);
      opened.catch((error: unknown) => outcome.reject(error));
      copying = opened;
      sent.push(completed);
      let last: Promise<unknown> = opened;
      return {
        write(data) {
          const written = last.then(() => opened).then((s) => new Promise<void>((resolve, reject) => s.write(data, (error) => (error ? reject(failure ?? error) : resolve()))));
          written.catch(() => {});
          last = written.catch(() => {});
          return written;
        },
        end() {
          if (copying === opened) copying = undefined;
          void last
            .then(() => opened)
            .then((s) => {
              // A destroyed stream (the COPY failed, or the connection) sends no CopyDone.
              if (s.destroyed) doneWritten();
              else s.end();
            })
            .catch(() => doneWritten());
          queue = handed.then(({ on }) => Promise.race([copyDone, completed.catch(() => {})]).then(() => on));
          return completed;
        },
      };
    };

    const send = (statements: readonly SQL[]): Promise<unknown[][]> => {
      if (ended) throw new Error('the transaction has ended');
      if (copying) throw new Error('a COPY is open on this transaction: end it first');
      // Rendered before anything is sent: a failure here sends nothing of these statements, and
      // fails the commit like a failed statement would.
      let bodies: { sql: string; params: unknown[] }[];
      try {
        bodies = statements.map((statement) => dialect.sqlToQuery(statement));
      } catch (error) {
        const failed = Promise.reject(error as Error);
        failed.catch(() => {});
        sent.push(failed);
        return failed;
      }
      const handed = queue.then((on) => ({ on, results: (run === current ? Promise.race([Promise.all(bodies.map(({ sql: text, params }) => sendQuery(on, text, params))), current!.died]) : current!.died) as Promise<unknown[][]> }));
      queue = handed.then(({ on }) => on);
      const results = handed.then(({ results }) => results);
      results.catch(() => {});
      sent.push(results);
      return results;
    };
    /** Ends the transaction with COMMIT or ROLLBACK, and lets the next one go out right behind it. */
    const end = async (command: 'COMMIT' | 'ROLLBACK') => {
      if (ended) return;
      ended = true;
      try {
        if (copying) {
          // A server in COPY mode would read ROLLBACK as a protocol error: fail the COPY first.
          // The driver writes CopyFail as the stream is destroyed, ahead of the ROLLBACK.
          const open = copying;
          copying = undefined;
          await open.then((s) => s.destroy(new Error('the batch was rolled back'))).catch(() => {});
        }
        const on = await queue.catch(() => undefined);
        if (!on || !current || run !== current) {
          if (command === 'COMMIT') throw new Error('the writer connection is gone');
          return;
        }
        const query = sendQuery(on, command);
        handOver();
        await Promise.race([query, current.died]);
      } finally {
        handOver();
        if (current && --current.outstanding === 0 && run === current) {
          run = undefined;
          (await current.connection).release();
        }
      }
    };

    return {
      send,
      copy,
      async commit(statements, verify) {
        let results: unknown[][];
        try {
          if (copying) throw new Error('a COPY is open on this transaction: end it before the commit');
          const last = send(statements);
          await Promise.all(sent);
          results = await last;
          verify?.(results);
        } catch (error) {
          await end('ROLLBACK').catch(() => {});
          throw error;
        }
        await end('COMMIT');
        return results;
      },
      rollback: () => end('ROLLBACK').catch(() => {}),
    };
  };
}
