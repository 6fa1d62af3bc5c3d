/** A minimal Server-Sent Events reader over fetch (Node 20 has no EventSource), for tests. */
export type SseMessage = { event: string; id: string | undefined; data: any };

export type SseClient = {
  messages: SseMessage[];
  status: number;
  /** Resolves with the first message (from index `from`) that `match` accepts. */
  next(match: (m: SseMessage) => boolean, what: string, from?: number, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
};

export async function openSse(url: string, lastEventId?: string): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {} });
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = { event: 'message', id: undefined as string | undefined, data: [] as string[] };
            for (const line of block.split('\n')) {
              const i = line.indexOf(':');
              const [k, v] = i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
              if (k === 'event') fields.event = v;
              else if (k === 'id') fields.id = v;
              else if (k === 'data') fields.data.push(v);
            }
            if (fields.data.length === 0) continue;
            messages.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data.join('\n')) });
            for (const w of waiters) w();
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return {
    messages,
    status: res.status,
    next(match, what, from = 0, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.slice(from).find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages.map((m) => [m.event, m.id]))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
}
