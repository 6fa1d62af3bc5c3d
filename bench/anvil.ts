import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Anvil for the benchmark. Unlike src/demo/anvil.ts this waits as long as it takes: loading
 * or dumping the state of a 1M-event chain takes seconds, and a SIGKILL mid-dump loses it.
 */
export type BenchAnvil = { rpcUrl: string; pid: number; stop(): Promise<void> };

const require = createRequire(import.meta.url);

function anvilBinary(): { file: string; args: string[] } {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  try {
    const file = join(dirname(require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`)), 'bin', 'anvil');
    if (existsSync(file)) return { file, args: [] };
  } catch {
    // fall through to the launcher
  }
  return { file: process.execPath, args: [join(dirname(require.resolve('@foundry-rs/anvil/package.json')), 'bin.mjs')] };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export async function startBenchAnvil(args: string[], { readyTimeoutMs = 600_000 } = {}): Promise<BenchAnvil> {
  const port = await freePort();
  const { file, args: pre } = anvilBinary();
  const child = spawn(file, [...pre, '--silent', '--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TARGET_TOOL: 'anvil' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!running) throw new Error(`anvil exited before it was ready: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error('anvil did not become ready in time');
    try {
      const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}', signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    rpcUrl,
    pid: child.pid!,
    async stop() {
      if (running) child.kill('SIGTERM');
      await exited;
      process.off('exit', killOnExit);
    },
  };
}
