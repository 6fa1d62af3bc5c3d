/**
 * One writer at a time inside a process: the indexer holds this for each step, and operator
 * jobs (rebuild, resync, repair) for their whole run, so they never interleave their commits.
 * (Across processes the same role is played by the PostgreSQL advisory lock.)
 */
export type Mutex = { run<T>(fn: () => Promise<T>): Promise<T>; readonly busy: boolean };

export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  let holders = 0;
  return {
    get busy() {
      return holders > 0;
    },
    run(fn) {
      holders++;
      const result = tail.then(fn);
      tail = result.then(
        () => holders--,
        () => holders--,
      );
      return result;
    },
  };
}
