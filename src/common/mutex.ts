/**
 * One writer at a time inside a process: the indexer holds this for each step, and operator
 * jobs (rebuild, resync, repair) for their whole run, so they never interleave their commits.
 * (Across processes the same role is played by the PostgreSQL advisory lock.)
 */
export type Mutex = {
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly busy: boolean;
  /** Callers queued behind the current holder. */
  readonly waiting: number;
  /** How many holders have started so far: a holder that sees it move by more than one knows someone else wrote in between. */
  readonly turns: number;
};

export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  let holders = 0;
  let turns = 0;
  return {
    get turns() {
      return turns;
    },
    get busy() {
      return holders > 0;
    },
    get waiting() {
      return Math.max(0, holders - 1);
    },
    run(fn) {
      holders++;
      const result = tail.then(() => {
        turns++;
        return fn();
      });
      tail = result.then(
        () => holders--,
        () => holders--,
      );
      return result;
    },
  };
}
