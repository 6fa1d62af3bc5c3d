import { createPublicClient, createTestClient, createWalletClient, http, type Address, type Hex, type PublicClient, type TestClient } from 'viem';
import { startAnvil, type Anvil, type StartAnvilOptions } from '../../src/demo/anvil.ts';
import { createChamaClient, deployChama, type ChamaClient } from '../../src/demo/chama-client.ts';

/** anvil's ten unlocked default accounts (the "test test … junk" mnemonic), in order. */
export type Accounts = readonly [Address, Address, Address, Address, Address, Address, Address, Address, Address, Address];

export type TestChain = {
  anvil: Anvil;
  rpcUrl: string;
  publicClient: PublicClient;
  testClient: TestClient<'anvil'>;
  /** The Chama contract deployed by account 0 at startup. */
  address: Address;
  accounts: Accounts;
  /** createChama / join / contribute / reads, bound to `address`. */
  actions: ChamaClient;
  /** `evm_snapshot`. anvil consumes a snapshot when reverting to it: take a new one per test. */
  snapshot(): Promise<Hex>;
  /** `evm_revert`; throws if anvil refuses (unknown or already used id). */
  revert(id: Hex): Promise<void>;
  /** Mines `blocks` empty blocks at once (`anvil_mine`). */
  mine(blocks?: number): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A fresh anvil with Chama deployed, for one test file.
 *
 * @example
 * let chain: TestChain;
 * let snap: Hex;
 * beforeAll(async () => { chain = await startTestChain(); });
 * afterAll(() => chain.stop());
 * beforeEach(async () => { snap = await chain.snapshot(); });
 * afterEach(() => chain.revert(snap));
 */
export async function startTestChain(options: StartAnvilOptions = {}): Promise<TestChain> {
  const anvil = await startAnvil(options);
  try {
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ transport, pollingInterval: 100, cacheTime: 0 });
    const testClient = createTestClient({ mode: 'anvil', transport, pollingInterval: 100 });
    const walletClient = createWalletClient({ transport });
    const accounts = await walletClient.getAddresses();
    if (accounts.length !== 10) throw new Error(`expected anvil's 10 default accounts, got ${accounts.length}`);
    const address = await deployChama(walletClient, publicClient);
    return {
      anvil,
      rpcUrl: anvil.rpcUrl,
      publicClient,
      testClient,
      address,
      accounts: accounts as unknown as Accounts,
      actions: createChamaClient({ rpcUrl: anvil.rpcUrl, address }),
      snapshot: () => testClient.snapshot(),
      async revert(id) {
        const ok: unknown = await testClient.request({ method: 'evm_revert', params: [id] });
        if (ok !== true) throw new Error(`evm_revert(${id}) refused: unknown snapshot, or already reverted to`);
      },
      mine: (blocks = 1) => testClient.mine({ blocks }),
      stop: () => anvil.stop(),
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
