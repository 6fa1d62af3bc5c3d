import type { ApiDeps } from './deps.ts';

export type HeadProbe = { configured: boolean; reachable: boolean; headBlock: number | null; error?: string };

/**
 * Asks the RPC node for its head, bounded by `timeoutMs` (the RPC client's own retries can take
 * much longer). `configured: false` when this process has no RPC (a replica without RPC_URL).
 */
export async function probeHead(deps: ApiDeps, timeoutMs = 2000): Promise<HeadProbe> {
  if (!deps.headBlock) return { configured: false, reachable: false, headBlock: deps.indexer?.status().headBlock ?? null };
  let timer: NodeJS.Timeout | undefined;
  try {
    const head = await Promise.race([
      deps.headBlock(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { configured: true, reachable: head !== undefined, headBlock: head ?? null };
  } catch (error) {
    return { configured: true, reachable: false, headBlock: deps.indexer?.status().headBlock ?? null, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The head without a network call when the indexer in this process knows it. */
export async function knownHead(deps: ApiDeps): Promise<number | null> {
  const live = deps.indexer?.status().headBlock;
  if (live !== null && live !== undefined) return live;
  return (await probeHead(deps)).headBlock;
}
