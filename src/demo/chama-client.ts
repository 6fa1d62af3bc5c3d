import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  http,
  parseEventLogs,
  type Address,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from 'viem';
import { chamaAbi, chamaBytecode } from '../contracts/chama-abi.ts';

/**
 * Typed helpers for the Chama contract on a dev node whose accounts are unlocked (anvil):
 * writes are sent as `eth_sendTransaction` from a plain address, so no private key is needed.
 * Every write waits for its receipt and throws a {@link ChamaTxError} if it reverted.
 */

export type ChamaView = {
  creator: Address;
  name: string;
  contributionAmount: bigint;
  maxMembers: bigint;
  memberCount: bigint;
  currentRound: bigint;
  totalContributed: bigint;
  totalPaidOut: bigint;
};

export type MemberView = { isMember: boolean; position: bigint; contributed: bigint; received: bigint };

export type ChamaClient = {
  address: Address;
  publicClient: PublicClient;
  createChama(name: string, contributionAmount: bigint, maxMembers: bigint, from: Address): Promise<{ chamaId: bigint; receipt: TransactionReceipt }>;
  join(chamaId: bigint, from: Address): Promise<TransactionReceipt>;
  /** Pays the chama's `contributionAmount`, read from `getChama` first, unless `value` is given (to test the revert). */
  contribute(chamaId: bigint, from: Address, value?: bigint): Promise<TransactionReceipt>;
  readChama(chamaId: bigint, blockNumber?: bigint): Promise<ChamaView>;
  readMember(chamaId: bigint, member: Address, blockNumber?: bigint): Promise<MemberView>;
  chamaCount(blockNumber?: bigint): Promise<bigint>;
  membersOf(chamaId: bigint, blockNumber?: bigint): Promise<readonly Address[]>;
};

/** A write that failed; `errorName` is the contract's custom error when it reverted with one. */
export class ChamaTxError extends Error {
  override name = 'ChamaTxError';
  readonly errorName: string | undefined;
  constructor(action: string, from: Address, reason: string, options: { errorName?: string; cause?: unknown } = {}) {
    super(`${action} from ${from} failed: ${reason}`, { cause: options.cause });
    this.errorName = options.errorName;
  }
}

/** Local dev chains mine in milliseconds; viem's default 4 s receipt polling would dominate. */
const POLLING_INTERVAL_MS = 100;

/**
 * Deploys Chama and returns its address. Sends from the wallet's account, or else the node's
 * first unlocked account.
 */
export async function deployChama(walletClient: WalletClient, publicClient: PublicClient): Promise<Address> {
  const [first] = walletClient.account ? [walletClient.account.address] : await walletClient.getAddresses();
  if (!first) throw new Error('deployChama: the wallet has no account and the node lists no unlocked accounts');
  const hash = await walletClient.deployContract({
    abi: chamaAbi,
    bytecode: chamaBytecode,
    account: walletClient.account ?? first,
    chain: walletClient.chain ?? null,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: POLLING_INTERVAL_MS });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new ChamaTxError('deploy Chama', first, `transaction ${hash} reverted`);
  }
  return receipt.contractAddress;
}

export function createChamaClient({ rpcUrl, address }: { rpcUrl: string; address: Address }): ChamaClient {
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: POLLING_INTERVAL_MS });
  const walletClient = createWalletClient({ transport, pollingInterval: POLLING_INTERVAL_MS });
  const contract = { address, abi: chamaAbi } as const;

  /**
   * Runs `write` (which simulates, then sends), waits for the receipt, and turns both kinds of
   * failure into a ChamaTxError: a revert caught by the simulation (nothing is sent; the custom
   * error is decoded), and a transaction mined reverted (state changed in between).
   */
  async function send(action: string, from: Address, write: () => Promise<Hash>): Promise<TransactionReceipt> {
    let hash: Hash;
    try {
      hash = await write();
    } catch (error) {
      const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
        const { errorName, args = [] } = reverted.data;
        throw new ChamaTxError(action, from, `reverted with ${errorName}(${args.join(', ')})`, { errorName, cause: error });
      }
      const reason = error instanceof BaseError ? error.shortMessage : String(error);
      throw new ChamaTxError(action, from, reason, { cause: error });
    }
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new ChamaTxError(action, from, `transaction ${hash} reverted in block ${receipt.blockNumber}`);
    return receipt;
  }

  async function readChama(chamaId: bigint, blockNumber?: bigint): Promise<ChamaView> {
    const [creator, name, contributionAmount, maxMembers, memberCount, currentRound, totalContributed, totalPaidOut] =
      await publicClient.readContract({ ...contract, functionName: 'getChama', args: [chamaId], blockNumber });
    return { creator, name, contributionAmount, maxMembers, memberCount, currentRound, totalContributed, totalPaidOut };
  }

  return {
    address,
    publicClient,
    async createChama(name, contributionAmount, maxMembers, from) {
      const args = [name, contributionAmount, maxMembers] as const;
      const receipt = await send(`createChama(${JSON.stringify(name)}, ${contributionAmount}, ${maxMembers})`, from, async () => {
        const { request } = await publicClient.simulateContract({ ...contract, functionName: 'createChama', args, account: from });
        return walletClient.writeContract({ ...request, chain: null });
      });
      const [created] = parseEventLogs({ abi: chamaAbi, eventName: 'ChamaCreated', logs: receipt.logs });
      if (!created) throw new Error(`createChama: no ChamaCreated log in transaction ${receipt.transactionHash}`);
      return { chamaId: created.args.chamaId, receipt };
    },
    join(chamaId, from) {
      return send(`join(${chamaId})`, from, async () => {
        const { request } = await publicClient.simulateContract({ ...contract, functionName: 'join', args: [chamaId], account: from });
        return walletClient.writeContract({ ...request, chain: null });
      });
    },
    async contribute(chamaId, from, value) {
      value ??= (await readChama(chamaId)).contributionAmount;
      return send(`contribute(${chamaId})`, from, async () => {
        const { request } = await publicClient.simulateContract({ ...contract, functionName: 'contribute', args: [chamaId], value, account: from });
        return walletClient.writeContract({ ...request, chain: null });
      });
    },
    readChama,
    async readMember(chamaId, member, blockNumber) {
      const [isMember, position, contributed, received] = await publicClient.readContract({
        ...contract,
        functionName: 'memberStats',
        args: [chamaId, member],
        blockNumber,
      });
      return { isMember, position, contributed, received };
    },
    chamaCount(blockNumber) {
      return publicClient.readContract({ ...contract, functionName: 'chamaCount', blockNumber });
    },
    membersOf(chamaId, blockNumber) {
      return publicClient.readContract({ ...contract, functionName: 'membersOf', args: [chamaId], blockNumber });
    },
  };
}
