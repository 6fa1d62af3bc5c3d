/**
 * The error tree. Every error an operator can meet says what happened, with context
 * (chain id, block, hash, address, tx, log index) in `context`, and whether a retry can help.
 *
 * - `RetryableError`: transient (RPC timeout, 429, connection reset, serialization failure).
 *   Only `withRetry` (src/common/retry.ts) acts on it.
 * - `FatalError`: retrying cannot help; the process stops and a human looks.
 *   `ConfigError` (exit 2), `ReorgTooDeepError`, `ChainIdMismatchError`, `DecodeError`, ...
 */
export type ErrorContext = Record<string, string | number | bigint | boolean | undefined | null>;

export class IndexerError extends Error {
  override name = 'IndexerError';
  readonly context: ErrorContext;
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.context = context;
  }
}

export class RetryableError extends IndexerError {
  override name = 'RetryableError';
}

export class FatalError extends IndexerError {
  override name = 'FatalError';
}

export class ConfigError extends FatalError {
  override name = 'ConfigError';
}

export class UsageError extends FatalError {
  override name = 'UsageError';
}

export class ChainIdMismatchError extends FatalError {
  override name = 'ChainIdMismatchError';
}

export class ReorgTooDeepError extends FatalError {
  override name = 'ReorgTooDeepError';
}

export class DecodeError extends FatalError {
  override name = 'DecodeError';
}

/** The chain answered something inconsistent even after re-reading (e.g. logs from another fork). */
export class InconsistentChainError extends RetryableError {
  override name = 'InconsistentChainError';
}

/** Context as log fields: bigints become decimal strings so pino can print them. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: String(error) };
  const context = error instanceof IndexerError ? error.context : {};
  const fields: Record<string, unknown> = { err: { name: error.name, message: error.message } };
  for (const [k, v] of Object.entries(context)) fields[k] = typeof v === 'bigint' ? v.toString() : v;
  return fields;
}
