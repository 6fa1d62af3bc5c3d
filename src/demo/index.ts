import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from 'viem';
import type { Logger } from '../common/logger.ts';
import { startAnvil } from './anvil.ts';
import { deployChama } from './chama-client.ts';
import { createSimulator } from './simulator.ts';

export type Demo = { rpcUrl: string; address: Address; chainId: number; fresh: boolean; stop(): Promise<void> };

const chainId = 31337;

/**
 * The local demo chain of `npm start` with no RPC_URL: anvil with its state kept in
 * `<DATA_DIR>/demo/` (so a restart continues the same chain, same block hashes), the Chama
 * contract deployed once, and simulated activity. `fresh` says the chain was started anew.
 */
export async function startDemo({ dataDir, logger }: { dataDir: string; logger: Logger }): Promise<Demo> {
  const dir = path.resolve(dataDir, 'demo');
  mkdirSync(dir, { recursive: true });
  const anvil = await startAnvil({ chainId, args: ['--state', path.join(dir, 'anvil-state.json'), '--state-interval', '5'], logger });
  try {
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ transport, pollingInterval: 100 }) as PublicClient;
    const saved = readSaved(path.join(dir, 'demo.json'));
    const existing = saved && (await publicClient.getCode({ address: saved.address })) ? saved.address : undefined;
    const address = existing ?? (await deployChama(createWalletClient({ transport }), publicClient));
    if (!existing) writeFileSync(path.join(dir, 'demo.json'), `${JSON.stringify({ address }, null, 2)}\n`);
    logger.info({ rpc: anvil.rpcUrl, address, chain_id: chainId, fresh: !existing }, existing ? 'demo chain resumed' : 'demo chain started; Chama deployed');
    const simulator = createSimulator({ rpcUrl: anvil.rpcUrl, address, intervalMs: 2000, logger });
    simulator.start();
    return {
      rpcUrl: anvil.rpcUrl,
      address,
      chainId,
      fresh: !existing,
      async stop() {
        await simulator.stop();
        await anvil.stop();
      },
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

function readSaved(file: string): { address: Address } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { address?: unknown };
    return typeof parsed.address === 'string' && /^0x[0-9a-fA-F]{40}$/.test(parsed.address) ? { address: parsed.address as Address } : undefined;
  } catch {
    return undefined;
  }
}
