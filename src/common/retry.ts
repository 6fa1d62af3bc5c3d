import type { Logger } from './logger.ts';
import { RetryableError } from './errors.ts';

export type RetryOptions = {
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (error: unknown) => boolean;
  logger?: Logger;
  what: string;
  signal?: AbortSignal;
};

/**
 * The one place that retries: exponential backoff with full jitter. Anything not retryable is
 * rethrown at once; after the last attempt the last error is rethrown.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { retries = 6, baseDelayMs = 100, maxDelayMs = 10_000, isRetryable = (e) => e instanceof RetryableError, logger, what, signal } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= retries || !isRetryable(error) || signal?.aborted) throw error;
      const delay = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
      logger?.warn({ what, attempt: attempt + 1, delay_ms: Math.round(delay), err: (error as Error).message }, 'retrying after a transient failure');
      await sleep(delay, signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
