import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Db } from './db.ts';
import type { Logger } from '../common/logger.ts';
import { FatalError } from '../common/errors.ts';
import { sleep } from '../common/retry.ts';

export type WriterLock = { release(): Promise<void> };

/**
 * One writer per chain: a PostgreSQL session-level advisory lock held on a dedicated connection
 * for as long as the indexer writes. A standby waits here (saying so) and takes over when the
 * holder's session ends, whether it exited or died. PGlite is single-process (see `lockDataDir`),
 * so there the lock is the data directory's lock file.
 */
export async function acquireWriterLock(args: { db: Db; chainId: number; logger: Logger; signal?: AbortSignal; retryMs?: number; timeoutMs?: number }): Promise<WriterLock> {
  const { db, chainId, logger, signal, retryMs = 1000, timeoutMs } = args;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  const session = await db.session();
  const key = `chama-indexer:writer:${chainId}`;
  let warned = false;
  try {
    for (;;) {
      const [row] = await session.rows<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [key]);
      if (row?.locked) break;
      if (!warned) {
        logger.info({ chain_id: chainId }, 'another indexer holds the writer lock for this chain; waiting for it');
        warned = true;
      }
      if (signal?.aborted) throw new FatalError('stopped while waiting for the writer lock', { chain_id: chainId });
      if (Date.now() >= deadline) {
        throw new FatalError('an indexer is writing to this chain (it holds the writer lock): stop it first, or run this as a job of the running service (POST /admin/jobs)', { chain_id: chainId });
      }
      await sleep(retryMs, signal);
    }
  } catch (error) {
    await session.release();
    throw error;
  }
  if (warned) logger.info({ chain_id: chainId }, 'writer lock acquired');
  return {
    async release() {
      await session.rows('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {});
      await session.release();
    },
  };
}

/**
 * PGlite keeps its files in one directory that only one process may open. The lock file holds
 * the owner's pid; a file left by a dead process is taken over.
 */
export function lockDataDir(dir: string): () => void {
  const file = `${dir}/.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new FatalError(`the embedded database in ${dir} is in use by process ${pid}; stop it first, or set DATABASE_URL to share a PostgreSQL database between processes`, { data_dir: dir, pid });
      }
      rmSync(file, { force: true });
    }
  }
  throw new FatalError(`could not lock the embedded database in ${dir}`, { data_dir: dir });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
