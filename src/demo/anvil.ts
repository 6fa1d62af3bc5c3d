import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** A running anvil child process. `stop()` is idempotent and resolves once the process exited. */
export type Anvil = { rpcUrl: string; port: number; stop(): Promise<void> };

/** The slice of a pino logger this module uses. */
export type AnvilLogger = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
};

export type StartAnvilOptions = {
  /** 0 or undefined: a free port is picked (and re-picked if another process takes it first). */
  port?: number;
  /** Seconds between blocks; undefined means automine (one block per transaction). */
  blockTime?: number;
  chainId?: number;
  /** Extra command-line arguments passed as they are. */
  args?: string[];
  logger?: AnvilLogger;
};

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
const KILL_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 5;

const require = createRequire(import.meta.url);

/**
 * Starts anvil from the `@foundry-rs/anvil` npm package (no network, no global foundry install)
 * and resolves once it answers `eth_chainId`. The child dies with this process.
 *
 * @example
 * const anvil = await startAnvil();
 * // … use anvil.rpcUrl …
 * await anvil.stop();
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const { port, blockTime, chainId = 31337, args = [], logger } = options;
  const command = resolveAnvilCommand();
  const fixedPort = port !== undefined && port !== 0;
  for (let attempt = 1; ; attempt++) {
    // A fixed port must be checked first: if another node holds it, it would answer our
    // readiness probe while our anvil dies of EADDRINUSE.
    const chosen = await freePort(fixedPort ? port : 0);
    const argv = [...command.args, '--silent', '--host', HOST, '--port', String(chosen), '--chain-id', String(chainId)];
    if (blockTime !== undefined) argv.push('--block-time', String(blockTime));
    argv.push(...args);
    logger?.debug({ file: command.file, argv, attempt }, 'spawning anvil');
    try {
      const anvil = await launch(command.file, argv, chosen);
      logger?.info({ port: chosen, chain_id: chainId, block_time: blockTime ?? null }, 'anvil started');
      return anvil;
    } catch (error) {
      const portTaken = error instanceof AnvilStartError && error.stderr.includes('Address already in use');
      if (fixedPort || !portTaken || attempt >= PORT_ATTEMPTS) throw error;
      logger?.warn({ port: chosen, attempt }, 'anvil port taken meanwhile, retrying on another');
    }
  }
}

export class AnvilStartError extends Error {
  override name = 'AnvilStartError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(stderr ? `${message}; anvil stderr: ${stderr.trim()}` : message);
  }
}

/** The platform binary when its package is installed, else the package's JS launcher. */
function resolveAnvilCommand(): { file: string; args: string[] } {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const binary = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
    const file = join(dirname(pkg), 'bin', binary);
    if (existsSync(file)) return { file, args: [] };
  } catch {
    // Not installed for this platform: fall back to the launcher below.
  }
  const launcher = join(dirname(require.resolve('@foundry-rs/anvil/package.json')), 'bin.mjs');
  return { file: process.execPath, args: [launcher] };
}

async function launch(file: string, argv: string[], port: number): Promise<Anvil> {
  // TARGET_TOOL tells the package's JS launcher (the fallback) which tool to run.
  const env = { ...process.env, TARGET_TOOL: 'anvil' };
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  let running = true;
  const exited = new Promise<void>((resolve) => {
    // 'close' rather than 'exit': it comes after stderr is drained, so the message is complete.
    child.once('close', (code, signal) => {
      stderr += `\n(exit code ${code}, signal ${signal})`;
      resolve();
    });
    // Spawn failures (e.g. ENOENT) emit 'error' and may never emit 'close'.
    child.once('error', (error) => {
      stderr += `\n${error.message}`;
      resolve();
    });
  }).finally(() => {
    running = false;
  });
  // SIGTERM, not SIGKILL: anvil then still writes its --state file, and the JS launcher
  // (fallback) forwards it to the binary instead of orphaning it.
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= terminate(child, exited, running).finally(() => process.off('exit', killOnExit));
    return stopping;
  };

  const rpcUrl = `http://${HOST}:${port}`;
  try {
    await waitUntilReady(rpcUrl, () => running, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { rpcUrl, port, stop };
}

async function terminate(child: ChildProcess, exited: Promise<void>, running: boolean): Promise<void> {
  if (!running) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

async function waitUntilReady(rpcUrl: string, running: () => boolean, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
  while (Date.now() < deadline) {
    if (!running()) throw new AnvilStartError(`anvil exited before answering on ${rpcUrl}`, stderr());
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(1_000),
      });
      if (res.ok && 'result' in ((await res.json()) as object)) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new AnvilStartError(`anvil did not answer eth_chainId on ${rpcUrl} within ${READY_TIMEOUT_MS} ms`, stderr());
}

/**
 * `wanted`, or any free port when 0, after checking it can be bound. It is free a moment ago
 * only: the caller retries if it is taken before anvil binds it.
 */
function freePort(wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(new AnvilStartError(`cannot listen on ${HOST}:${wanted}: ${error.message}`, '')));
    server.listen(wanted, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}
