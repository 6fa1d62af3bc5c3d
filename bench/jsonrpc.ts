/** A bare JSON-RPC client over fetch (keep-alive), for the bench's own calls: no checks, no retries. */
export type JsonRpc = { url: string; call<T = unknown>(method: string, params?: unknown[]): Promise<T>; callRaw(method: string, params?: unknown[]): Promise<string> };

export function createJsonRpc(url: string): JsonRpc {
  let id = 0;
  async function callRaw(method: string, params: unknown[] = []): Promise<string> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status}`);
    return res.text();
  }
  return {
    url,
    callRaw,
    async call<T>(method: string, params: unknown[] = []) {
      const body = JSON.parse(await callRaw(method, params)) as { result?: T; error?: { message: string } };
      if (body.error) throw new Error(`${method}: ${body.error.message}`);
      return body.result as T;
    },
  };
}

export const hexNumber = (n: number | bigint) => `0x${n.toString(16)}`;
